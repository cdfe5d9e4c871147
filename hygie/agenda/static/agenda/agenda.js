// Hygie agenda: the patient picker of the appointment form searches as one types.
// Progressive enhancement only: without JavaScript, the « Chercher » button submits the form
// and the server answers with the same results. The query is POSTed (never in a URL), the
// results are built with DOM calls (textContent: a name is never parsed as HTML).
(function () {
  "use strict";
  var form = document.querySelector("form.appointment-form");
  if (!form || !window.fetch) { return; }
  var input = form.querySelector("#id_patient_q");
  var practitioner = form.querySelector("#id_practitioner");
  var status = document.getElementById("patient-results");
  var choices = document.getElementById("patient-choices");
  var url = form.dataset.searchUrl;
  var csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  var timer = null;
  var sequence = 0;

  function say(text) {
    status.textContent = "";
    var p = document.createElement("p");
    p.className = "muted";
    p.setAttribute("role", "status");
    p.textContent = text;
    status.appendChild(p);
  }

  function checkedId() {
    var checked = choices.querySelector("input[name=patient]:checked");
    return checked ? checked.value : "";
  }

  function show(results) {
    var keep = checkedId();
    var keptLabel = null;
    if (keep) {
      var kept = choices.querySelector("input[name=patient]:checked");
      keptLabel = kept && kept.parentNode ? kept.parentNode.textContent.trim() : null;
    }
    choices.textContent = "";
    var list = document.createElement("div");
    list.id = "id_patient";
    var seen = {};
    var all = results.slice();
    if (keep && keptLabel) { all.unshift({ id: keep, label: keptLabel }); }
    all.forEach(function (r, i) {
      if (seen[r.id]) { return; }
      seen[r.id] = true;
      var wrap = document.createElement("div");
      var label = document.createElement("label");
      var radio = document.createElement("input");
      radio.type = "radio";
      radio.name = "patient";
      radio.value = r.id;
      radio.id = "id_patient_" + i;
      radio.required = true;
      if (r.id === keep) { radio.checked = true; }
      label.htmlFor = radio.id;
      label.appendChild(radio);
      label.appendChild(document.createTextNode(" " + r.label));
      wrap.appendChild(label);
      list.appendChild(wrap);
    });
    choices.appendChild(list);
  }

  function run() {
    var q = input.value.trim();
    if (q.length < 2) { return; }
    var mine = ++sequence;
    var body = new URLSearchParams();
    body.append("q", q);
    body.append("praticien", practitioner ? practitioner.value : "");
    fetch(url, {
      method: "POST", credentials: "same-origin", body: body,
      headers: { "X-CSRFToken": csrf, "X-Requested-With": "fetch" }
    }).then(function (r) {
      if (!r.ok) { throw new Error(String(r.status)); }
      return r.json();
    }).then(function (data) {
      if (mine !== sequence) { return; }
      if (data.error) { say(data.error); return; }
      if (!data.usable) { say("Tapez au moins deux lettres ou une date de naissance."); return; }
      if (!data.results.length) { say("Aucun patient de ce praticien ne correspond."); }
      else if (data.more) { say("Plus de " + data.results.length + " patients trouvés : précisez (prénom, date de naissance)."); }
      else { say(data.results.length + (data.results.length > 1 ? " patients trouvés." : " patient trouvé.")); }
      show(data.results);
    }).catch(function () {
      if (mine === sequence) { say("La recherche n'a pas abouti : utilisez le bouton « Chercher »."); }
    });
  }

  input.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(run, 250);
  });
  // Enter in the search box searches (it would otherwise submit the whole form).
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter") { event.preventDefault(); window.clearTimeout(timer); run(); }
  });
  if (practitioner) {
    practitioner.addEventListener("change", function () { if (input.value.trim()) { run(); } });
  }
})();
