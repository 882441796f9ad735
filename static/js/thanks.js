// While a payment is being confirmed, the thank-you page checks again by itself: every
// 3 seconds it fetches the page its "Check again" link points to and, once that page says
// something new (confirmed, not completed, or "we will email you"), shows it in place.
// The section is a polite live region, so screen readers announce the change once; a
// fetch that still says "confirming" only moves the link on. Without JavaScript the link
// does the same by hand. The server stops offering the link after its last refresh.
(function () {
  "use strict";
  var INTERVAL_MS = 3000;
  var MAX_CHECKS = 10;
  var section = document.querySelector(".thanks[data-state=confirming]");
  var link = section && section.querySelector("a.check-again");
  if (!link || !window.fetch || !window.DOMParser) return;
  var checks = 0;

  function show(fresh, title) {
    section.replaceChildren.apply(section, Array.prototype.slice.call(fresh.childNodes));
    section.setAttribute("data-state", fresh.getAttribute("data-state"));
    if (title) document.title = title;
  }

  function check() {
    checks += 1;
    fetch(link.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (!response.ok) throw new Error("answered " + response.status);
        return response.text();
      })
      .then(function (html) {
        var page = new DOMParser().parseFromString(html, "text/html");
        var fresh = page.querySelector(".thanks");
        if (!fresh) return;
        var next = fresh.querySelector("a.check-again");
        if (fresh.getAttribute("data-state") === "confirming" && next) {
          link.setAttribute("href", next.getAttribute("href"));
          if (checks < MAX_CHECKS) window.setTimeout(check, INTERVAL_MS);
        } else {
          show(fresh, page.title);
        }
      })
      .catch(function () {
        if (checks < MAX_CHECKS) window.setTimeout(check, INTERVAL_MS);
      });
  }

  window.setTimeout(check, INTERVAL_MS);
})();
