// The appeal box tells the page that embeds it how tall it is, so the iframe can fit it
// exactly at any width: {type: "donations:height", height} in CSS pixels, posted to the
// parent on load and whenever the box's height changes. The embedder's snippet (see
// docs/appeal-box.md) checks the message's origin and sets the iframe's height. Only a
// number is sent, so any origin may read it.
(function () {
  "use strict";
  if (window.parent === window) return;
  var box = document.querySelector(".appeal-box");
  if (!box) return;
  var posted = 0;

  function post() {
    var height = Math.ceil(box.getBoundingClientRect().bottom + window.scrollY);
    if (height === posted) return;
    posted = height;
    window.parent.postMessage({ type: "donations:height", height: height }, "*");
  }

  if ("ResizeObserver" in window) new ResizeObserver(post).observe(box);
  window.addEventListener("resize", post);
  window.addEventListener("load", post);
  post();
})();
