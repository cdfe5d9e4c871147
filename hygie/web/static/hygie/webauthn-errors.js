// Hygie: allauth's security-key scripts only log a failure to the console, so « Ajouter » or
// « Utiliser une clé de sécurité » seemed to do nothing. Say what happened, in French.
(function () {
  "use strict";
  var box = document.getElementById("webauthn-error");
  if (!box) { return; }
  var messages = {
    SecurityError: box.dataset.securityError,
    NotAllowedError: box.dataset.notAllowed,
    InvalidStateError: box.dataset.invalidState,
    NotSupportedError: box.dataset.notSupported
  };
  document.addEventListener("allauth.error", function (event) {
    var exception = event.detail && event.detail.exception;
    var name = exception && exception.name;
    box.textContent = messages[name] || box.dataset.other;
    box.hidden = false;
    box.focus();
    event.preventDefault();
  });
})();
