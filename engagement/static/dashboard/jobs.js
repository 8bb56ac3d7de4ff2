// Live progress on a job's page: polls the job API (the session signs the request) and updates
// the bar in place; once the job has finished, loads the page once more to show its outcome.
// Without JavaScript the page refreshes itself instead (<noscript> meta refresh).
(function () {
  "use strict";
  var panel = document.querySelector("[data-job-poll]");
  if (!panel) { return; }
  var url = panel.getAttribute("data-job-poll");
  var bar = panel.querySelector("progress");
  var text = panel.querySelector("[data-job-progress-text]");
  var status = panel.querySelector("[data-job-status]");
  var labelsElement = document.getElementById("job-status-labels");
  var labels = labelsElement ? JSON.parse(labelsElement.textContent) : {};
  var ACTIVE = { queued: true, running: true };
  var INTERVAL = 1000;

  function show(job) {
    bar.value = job.progress;
    bar.textContent = text.textContent = Math.round(job.progress * 100) + "%";
    var label = labels[job.status] || job.status;
    if (status.textContent !== label) { status.textContent = label; }
    status.className = "status status-" + job.status;
  }

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (job) {
        show(job);
        if (ACTIVE[job.status]) {
          window.setTimeout(poll, INTERVAL);
        } else {
          window.location.reload();
        }
      })
      .catch(function () { window.setTimeout(poll, INTERVAL * 5); });
  }

  window.setTimeout(poll, INTERVAL);
}());
