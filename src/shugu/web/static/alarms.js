/* The alarm page's panel: "Close" empties it (no inline handlers; the page's CSP forbids them). */
(function () {
  "use strict";
  document.addEventListener("click", function (ev) {
    var button = ev.target.closest ? ev.target.closest("[data-close-panel]") : null;
    if (!button) return;
    var panel = button.closest("[data-alarm-panel]");
    if (panel) panel.replaceChildren();
  });
})();
