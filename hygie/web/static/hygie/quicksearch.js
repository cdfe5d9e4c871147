// Hygie: the header's patient search shows its first results as one types. Progressive
// enhancement: without this script the same form is POSTed and the results page is shown.
// The query travels in a POST body only (never a URL); results are built with textContent.
(function () {
  "use strict";
  var form = document.getElementById("quick-search");
  if (!form || !window.fetch) { return; }
  var input = document.getElementById("quick-search-q");
  var box = document.getElementById("quick-search-results");
  var status = document.getElementById("quick-search-status");
  var minLength = parseInt(form.dataset.minLength || "2", 10);
  var timer = null;
  var sent = 0;

  function close() { box.hidden = true; box.textContent = ""; }

  function links() { return Array.prototype.slice.call(box.querySelectorAll("a")); }

  function show(data) {
    box.textContent = "";
    if (data.error) {
      var p = document.createElement("p");
      p.className = "muted";
      p.textContent = data.error;
      box.appendChild(p);
    } else if (!data.results.length) {
      var none = document.createElement("p");
      none.className = "muted";
      none.textContent = form.dataset.noneLabel || "Aucun patient trouvé.";
      box.appendChild(none);
    } else {
      var list = document.createElement("ul");
      data.results.forEach(function (r) {
        var li = document.createElement("li");
        var a = document.createElement("a");
        a.href = r.url;
        a.textContent = r.name + (r.year ? " (" + r.year + ")" : "");
        li.appendChild(a);
        list.appendChild(li);
      });
      box.appendChild(list);
      if (data.more) {
        var all = document.createElement("a");
        all.href = data.all_url;
        all.className = "all";
        all.textContent = form.dataset.allLabel || "Tous les résultats";
        box.appendChild(all);
      }
    }
    box.hidden = false;
    status.textContent = data.error ? data.error : (form.dataset.countLabel || "Résultats : ") + data.results.length;
  }

  function query() {
    var q = input.value.trim();
    if (q.length < minLength) { close(); return; }
    var mine = ++sent;
    var body = new FormData(form);
    fetch(form.action, {
      method: "POST", credentials: "same-origin", body: body,
      headers: { "X-Requested-With": "fetch", "Accept": "application/json" }
    }).then(function (r) {
      if (r.status === 423) { window.location.reload(); return null; }  // the session locked meanwhile
      return r.json();
    }).then(function (data) {
      if (data && mine === sent) { show(data); }  // an older, slower answer never replaces a newer one
    }).catch(function () { close(); });
  }

  input.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(query, 250);
  });

  // Keyboard: ↓ from the box enters the results, ↑/↓ move, Escape closes and returns to the box.
  form.addEventListener("keydown", function (event) {
    var items = links();
    var at = items.indexOf(document.activeElement);
    if (event.key === "Escape") {
      close();
      input.focus();
    } else if (event.key === "ArrowDown" && items.length) {
      event.preventDefault();
      items[Math.min(at + 1, items.length - 1)].focus();
    } else if (event.key === "ArrowUp" && at >= 0) {
      event.preventDefault();
      if (at === 0) { input.focus(); } else { items[at - 1].focus(); }
    }
  });

  document.addEventListener("click", function (event) {
    if (!form.contains(event.target)) { close(); }
  });
})();
