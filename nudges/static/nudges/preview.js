// The learner page's nudge preview: opens the API's server-sent event stream (same origin, the
// session signs it), shows the LLM's text as it arrives, then the message a draft would get
// (the LLM's, or the template and why). The stream saves no nudge. Without JavaScript the
// preview stays hidden and the "Draft a nudge" form works as before.
(function () {
  "use strict";
  var root = document.getElementById("nudge-preview");
  if (!root || typeof window.EventSource !== "function") { return; }
  var button = root.querySelector("[data-preview-start]");
  var output = root.querySelector("[data-preview-output]");
  var status = root.querySelector("[data-preview-status]");
  var stream = root.querySelector("[data-preview-stream]");
  var message = root.querySelector("[data-preview-message]");
  var subject = root.querySelector("[data-preview-subject]");
  var body = root.querySelector("[data-preview-body]");
  var saved = root.querySelector("[data-preview-saved]");
  var reasonsElement = document.getElementById("nudge-preview-reasons");
  var reasons = reasonsElement ? JSON.parse(reasonsElement.textContent) : {};
  var source = null;

  function text(name) { return root.getAttribute("data-text-" + name) || ""; }

  function finish(statusText) {
    if (source) { source.close(); source = null; }
    status.textContent = statusText;
    saved.textContent = text("saved");
    button.disabled = false;
  }

  function explain(done) {
    var reason = done.fallback_reason;
    if (done.source === "llm") { return text("llm"); }
    if (!reason) { return text("asked"); }
    if (reason.indexOf("guardrail:") === 0) {
      return text("guardrail") + " " + (done.guardrail_failures || []).join(", ") + ".";
    }
    return text("template") + " " + (reasons[reason] || reason) + ".";
  }

  function start() {
    button.disabled = true;
    output.hidden = false;
    message.hidden = true;
    stream.hidden = false;
    stream.textContent = subject.textContent = body.textContent = saved.textContent = "";
    stream.setAttribute("data-preview-deltas", "0");
    status.textContent = text("writing");
    source = new window.EventSource(root.getAttribute("data-preview-url"));
    source.addEventListener("delta", function (event) {
      stream.textContent += JSON.parse(event.data).text;
      stream.setAttribute("data-preview-deltas", String(Number(stream.getAttribute("data-preview-deltas")) + 1));
    });
    source.addEventListener("done", function (event) {
      var done = JSON.parse(event.data);
      // The message shown is the one a draft would get: a text a check rejected is not it.
      stream.hidden = true;
      subject.textContent = done.subject;
      body.textContent = done.body;
      message.hidden = false;
      message.setAttribute("data-source", done.source);
      finish(explain(done));
    });
    source.addEventListener("error", function (event) {
      // A server "error" event (the LLM failed) is followed by "done" with the template; an
      // event without data is the connection failing or refused: stop rather than reconnect.
      if (!event.data) { finish(text("failed")); }
    });
  }

  root.hidden = false;
  button.addEventListener("click", start);
}());
