// Hygie: idle lock, "lock now" shortcut, activity heartbeat. No inline script anywhere (CSP).
(function () {
  "use strict";
  var body = document.body;
  var idleSeconds = parseInt(body.dataset.idleSeconds || "0", 10);
  // Nothing to protect on the lock page itself, and no session to keep alive.
  if (!idleSeconds || body.classList.contains("locked-page")) { return; }
  var lockUrl = body.dataset.lockUrl;
  var heartbeatUrl = body.dataset.heartbeatUrl;
  var lockedUrl = body.dataset.lockedUrl;
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var lastActivity = Date.now();
  var lastBeat = Date.now();
  // Tell the server the user is still there: at most once a minute, and well within the
  // idle delay, or the server would lock a session in active use between two beats.
  var beatEvery = Math.min(60, idleSeconds / 3) * 1000;
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
    // The lock page remembers this page: the unlock returns here (the server checks it).
    var back = window.location.pathname + window.location.search;
    // A page may keep its work first (hygie/clinical/static/clinical/draft.js: the draft of a
    // consultation, saved on the server); a failure never stops the lock.
    var before = typeof window.hygieBeforeLock === "function" ? window.hygieBeforeLock() : null;
    Promise.resolve(before).catch(function () {}).then(function () { return post(lockUrl); }).finally(function () {
      window.location.assign(lockedUrl + "?next=" + encodeURIComponent(back));
    });
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
    if (lastActivity > lastBeat && now - lastBeat >= beatEvery) {
      lastBeat = now;
      post(heartbeatUrl).then(function (r) { if (r.status === 423) { lock(); } });
    }
  }, 1000);
})();
