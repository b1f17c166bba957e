/* Forms of the settings and inspection pages: a question before a form that cannot be undone
 * (data-confirm="…"), and a busy label while a slow form is sent (data-busy-text="…").
 * No inline handlers: the content security policy allows only scripts from this origin. */
(function () {
  "use strict";
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!(form instanceof HTMLFormElement)) return;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      ev.preventDefault();
      ev.stopPropagation();  // nor may htmx send a form it drives
      return;
    }
    var busy = form.getAttribute("data-busy-text");
    if (busy) {
      var button = form.querySelector("button[type=submit]");
      if (button) {
        // Disabled after this turn, so that the button's own name and value are still sent.
        setTimeout(function () { button.disabled = true; button.textContent = busy; }, 0);
      }
    }
  }, true);
  document.addEventListener("htmx:confirm", function (ev) {
    var el = ev.detail && ev.detail.elt;
    var question = el && el.getAttribute ? el.getAttribute("data-confirm") : null;
    if (!question || el instanceof HTMLFormElement) return;
    if (!window.confirm(question)) ev.preventDefault();
  });
})();
