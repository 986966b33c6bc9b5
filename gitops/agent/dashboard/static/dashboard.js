// Keeps the page live: asks the agent every few seconds whether this page changed (a 304 when it did
// not) and swaps in the new <main>, keeping open <details> open and the keyboard focus where it was.
// Without JavaScript the page is complete as served; this only saves the reload.
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

  function focusSelector(main) {
    var active = document.activeElement;
    if (!active || !main.contains(active)) return null;
    if (active.id) return "#" + CSS.escape(active.id);
    if (active.matches("a[href]")) return 'a[href="' + CSS.escape(active.getAttribute("href")) + '"]';
    var details = active.closest("details[id]");
    if (details && active.matches("summary")) return "#" + CSS.escape(details.id) + " > summary";
    return null;
  }

  function swap(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var fresh = doc.getElementById("main");
    var current = document.getElementById("main");
    if (!fresh || !current) return;
    var open = openDetails(current);
    var focused = focusSelector(current);
    fresh.querySelectorAll("details[id]").forEach(function (d) {
      if (Object.prototype.hasOwnProperty.call(open, d.id)) d.open = open[d.id];
    });
    current.replaceWith(document.adoptNode(fresh));
    document.title = doc.title;
    var target = focused && fresh.querySelector(focused);
    if (target) target.focus({ preventScroll: true });
  }

  function mark(text) {
    // Announced to screen readers only when it changes, not on every poll.
    if (live && live.textContent !== text) live.textContent = text;
    if (live) live.title = "checked " + new Date().toLocaleTimeString();
  }

  function poll() {
    if (document.hidden) {
      window.setTimeout(poll, seconds * 1000);
      return;
    }
    var headers = etag ? { "If-None-Match": etag } : {};
    fetch(window.location.pathname, { headers: headers, cache: "no-store" })
      .then(function (response) {
        if (response.status === 304) return null;
        etag = response.headers.get("ETag");
        return response.text();
      })
      .then(function (html) {
        if (html !== null) swap(html);
        mark("live");
      })
      .catch(function () { mark("agent unreachable, retrying"); })
      .finally(function () { window.setTimeout(poll, seconds * 1000); });
  }

  window.setTimeout(poll, seconds * 1000);
})();
