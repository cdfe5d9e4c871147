// Drafts of a consultation (hygie.clinical): what is typed is sent to the server, which encrypts
// it with the patient's key. Nothing is kept in the browser (no localStorage, no IndexedDB).
// Without JavaScript the form's « Garder comme brouillon » button does the same.
(function () {
  "use strict";
  var form = document.querySelector("form[data-draft-url]");
  if (!form) { return; }
  var url = form.dataset.draftUrl;
  var status = form.querySelector(".draft-status");
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var SAVE_EVERY = 20000;  // ms: well within the idle delay, so the lock never outruns a save
  var lastSent = serialise();
  var inFlight = null;

  function serialise() {
    return new URLSearchParams(new FormData(form)).toString();
  }

  function save() {
    var body = serialise();
    if (body === lastSent) { return Promise.resolve(); }
    if (inFlight) { return inFlight; }
    inFlight = fetch(url, {
      method: "POST", credentials: "same-origin", body: body,
      headers: { "X-CSRFToken": csrf, "X-Requested-With": "fetch",
                 "Content-Type": "application/x-www-form-urlencoded" }
    }).then(function (r) {
      if (!r.ok) { throw new Error(String(r.status)); }
      return r.json();
    }).then(function (data) {
      lastSent = body;
      if (status) { status.hidden = false; status.textContent = "Brouillon enregistré à " + data.at + "."; }
    }).catch(function () {
      if (status) { status.hidden = false; status.textContent = "Brouillon non enregistré : la saisie reste dans la page."; }
    }).finally(function () { inFlight = null; });
    return inFlight;
  }

  var submitting = false;
  form.addEventListener("submit", function () { submitting = true; });
  window.setInterval(function () { if (!submitting) { save(); } }, SAVE_EVERY);
  // hygie.js waits for this before it locks the session and leaves the page.
  window.hygieBeforeLock = function () { return submitting ? Promise.resolve() : save(); };
})();
