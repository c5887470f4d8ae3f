// The signer's screen: the permit's state, asked for every few seconds and updated in place
// (the status line is an aria-live region), so the answer appears without reloading.
(function () {
  "use strict";
  var article = document.querySelector("[data-permit]");
  if (!article) return;
  var id = article.getAttribute("data-permit");
  var every = parseInt(document.body.getAttribute("data-refresh-ms"), 10) || 5000;
  var locale = document.body.getAttribute("data-locale") || "zh-Hans";
  var when = new Intl.DateTimeFormat(locale, { dateStyle: "short", timeStyle: "short" });
  var status = document.querySelector("#permit-status .status");
  var seen = null;

  function show(state) {
    if (seen === state.version + state.status) return;
    seen = state.version + state.status;
    status.textContent = state.status_label;
    status.className = "status status-" + state.status;
    status.setAttribute("data-status", state.status);
    var issued = document.querySelector("#permit-status [data-issued]");
    if (state.issued_at) {
      if (!issued) {
        issued = document.createElement("span");
        issued.setAttribute("data-issued", "");
        status.parentNode.appendChild(issued);
      }
      issued.textContent = " · " + when.format(new Date(state.issued_at));
    }
    var decide = document.querySelector("section.decide");
    if (decide && state.status !== "pending_signatures") decide.hidden = true;
  }

  function poll() {
    fetch("/api/permits/" + encodeURIComponent(id), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) { if (s) show(s); })
      .catch(function () {})
      .then(function () { setTimeout(poll, every); });
  }
  setTimeout(poll, every);
})();
