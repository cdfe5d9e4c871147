// Hygie: progress bars of the backups under way (hygie/backups/views.py: progress).
// Polls every 2 s while a run is queued or running; reloads the page once a run shown here has
// finished, to show its result. No inline script anywhere (CSP).
(function () {
  "use strict";
  var box = document.getElementById("backup-runs");
  if (!box || !box.dataset.progressUrl || !window.fetch) { return; }
  var url = box.dataset.progressUrl;
  var timer = null;

  function bars() {
    return Array.prototype.slice.call(document.querySelectorAll("progress.run-progress[data-run]"));
  }

  function update(data) {
    var byId = {};
    (data.runs || []).forEach(function (run) { byId[run.id] = run; });
    var finished = false;
    bars().forEach(function (bar) {
      var run = byId[bar.dataset.run];
      if (!run) { finished = true; return; }
      if (run.bytes_total > 0) {
        bar.max = run.bytes_total;
        bar.value = Math.min(run.bytes_done, run.bytes_total);
        bar.title = Math.floor(100 * bar.value / bar.max) + " %";
      } else {
        bar.removeAttribute("value");  // indeterminate until the total is known
      }
    });
    if (finished) {
      window.clearInterval(timer);
      window.location.reload();
    }
  }

  function poll() {
    // "Passive": polling is not user activity, it must not keep an idle session open.
    fetch(url, {
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch", "X-Hygie-Passive": "1", "Accept": "application/json" }
    }).then(function (response) {
      if (!response.ok) { window.clearInterval(timer); return null; }
      return response.json();
    }).then(function (data) {
      if (data) { update(data); }
    }).catch(function () { /* network hiccup: try again at the next tick */ });
  }

  if (bars().length) { timer = window.setInterval(poll, 2000); }
})();
