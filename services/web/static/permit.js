// The signer's screen: the permit's state is asked for every few seconds; when it changes, the
// card is rendered again by the server and swapped in place (no reload: the page, its scroll and
// its focus stay). The status line is an aria-live region, so the news is announced.
(function () {
  "use strict";
  var article = document.querySelector("article[data-permit]");
  if (!article) return;
  var id = article.getAttribute("data-permit");
  var every = parseInt(document.body.getAttribute("data-refresh-ms"), 10) || 5000;
  // What this page shows (rendered with it): a change that landed between the render and the
  // first poll is a change too (taking the first poll's state as "seen" would miss it for good).
  var seen = article.getAttribute("data-mark");

  function swap(html) {
    var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("article[data-permit]");
    if (!fresh) return;
    var status = document.getElementById("permit-status");
    var freshStatus = fresh.querySelector("#permit-status");
    Array.prototype.slice.call(article.children).forEach(function (child) {
      if (child !== status && child.tagName !== "H1") article.removeChild(child);
    });
    Array.prototype.slice.call(fresh.children).forEach(function (child) {
      if (child.id !== "permit-status" && child.tagName !== "H1") article.appendChild(document.importNode(child, true));
    });
    if (status && freshStatus) status.innerHTML = freshStatus.innerHTML;
    if (fresh.getAttribute("data-mark")) seen = fresh.getAttribute("data-mark");
  }

  function changed(state) {
    var mark = state.version + "/" + state.status + "/" + state.signatures;
    if (mark === seen) return false;
    seen = mark;
    return true;
  }

  function poll() {
    fetch("/api/permits/" + encodeURIComponent(id), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (state) {
        if (!state || !changed(state)) return null;
        // The same address, its query too: a re-render keeps what this view says (the notice
        // that a step was sent), which without it vanished at the first change it announced.
        return fetch(window.location.pathname + window.location.search, { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.text() : null; })
          .then(function (html) { if (html) swap(html); });
      })
      .catch(function () {})
      .then(function () { setTimeout(poll, every); });
  }
  poll();
})();
