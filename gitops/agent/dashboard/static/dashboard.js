// Keeps the page live: asks the agent every few seconds whether this page changed (a 304 when it did
// not) and swaps in the new <main>, keeping open <details> open. Without JavaScript the page is
// complete as served; this only saves the reload.
(function () {
  "use strict";
  var seconds = Number(document.body.dataset.poll) || 3;
  var live = document.getElementById("live");
  var etag = null;

  function openDetails(root) {
    var open = {};
    root.querySelectorAll("details[id]").forEach(function (d) { open[d.id] = d.open; });
    return open;
  }

  function swap(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var fresh = doc.getElementById("main");
    var current = document.getElementById("main");
    if (!fresh || !current) return;
    var open = openDetails(current);
    fresh.querySelectorAll("details[id]").forEach(function (d) {
      if (Object.prototype.hasOwnProperty.call(open, d.id)) d.open = open[d.id];
    });
    current.replaceWith(document.adoptNode(fresh));
    document.title = doc.title;
  }

  function stamp(text) {
    if (live) live.textContent = text;
  }

  function poll() {
    var headers = etag ? { "If-None-Match": etag } : {};
    fetch(window.location.pathname, { headers: headers, cache: "no-store" })
      .then(function (response) {
        if (response.status === 304) return null;
        etag = response.headers.get("ETag");
        return response.text();
      })
      .then(function (html) {
        if (html !== null) swap(html);
        stamp("live · " + new Date().toLocaleTimeString());
      })
      .catch(function () { stamp("agent unreachable, retrying"); })
      .finally(function () { window.setTimeout(poll, seconds * 1000); });
  }

  window.setTimeout(poll, seconds * 1000);
})();
