// Hygie: idle lock, "lock now" shortcut, activity heartbeat. No inline script anywhere (CSP).
(function () {
  "use strict";
  var body = document.body;
  var idleSeconds = parseInt(body.dataset.idleSeconds || "0", 10);
  if (!idleSeconds) { return; }
  var lockUrl = body.dataset.lockUrl;
  var heartbeatUrl = body.dataset.heartbeatUrl;
  var lockedUrl = body.dataset.lockedUrl;
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var lastActivity = Date.now();
  var lastBeat = Date.now();
  var locked = false;

  function post(url) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "X-CSRFToken": csrf, "X-Requested-With": "fetch" }
    });
  }

  function lock() {
    if (locked) { return; }
    locked = true;
    // Hide patient data at once, before the server answers.
    body.classList.add("locked");
    document.getElementById("lock-screen").hidden = false;
    post(lockUrl).finally(function () { window.location.assign(lockedUrl); });
  }

  ["mousemove", "mousedown", "keydown", "scroll", "touchstart"].forEach(function (name) {
    window.addEventListener(name, function () { lastActivity = Date.now(); }, { passive: true });
  });

  window.addEventListener("keydown", function (event) {
    if (event.altKey && event.shiftKey && (event.key === "L" || event.key === "l")) {
      event.preventDefault();
      lock();
    }
  });

  var lockButton = document.getElementById("lock-now");
  if (lockButton) {
    lockButton.addEventListener("click", function (event) { event.preventDefault(); lock(); });
  }

  window.setInterval(function () {
    var now = Date.now();
    if (now - lastActivity >= idleSeconds * 1000) { lock(); return; }
    // Tell the server the user is still there, at most once a minute.
    if (lastActivity > lastBeat && now - lastBeat >= 60000) {
      lastBeat = now;
      post(heartbeatUrl).then(function (r) { if (r.status === 423) { lock(); } });
    }
  }, 1000);
})();
