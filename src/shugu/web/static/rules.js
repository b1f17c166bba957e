/* The own-rule form shows only the fields of the chosen kind of rule (data-kinds="…"): the
 * others are hidden and disabled, so a value typed before the kind changed is not sent.
 * The sensitivity's placeholder follows whether the anomaly rule judges the pattern (a plant
 * model's is the plain default).
 * No inline handlers: the content security policy allows only scripts from this origin. */
(function () {
  "use strict";
  function sync(form) {
    var kind = form.querySelector("select[name=kind]");
    if (!kind) return;
    form.querySelectorAll("[data-kinds]").forEach(function (el) {
      var shown = el.getAttribute("data-kinds").split(" ").indexOf(kind.value) >= 0;
      el.hidden = !shown;
      el.querySelectorAll("input, select").forEach(function (input) { input.disabled = !shown; });
    });
    var pattern = form.querySelector("select[name=pattern]");
    var sensitivity = form.querySelector("input[name=sensitivity]");
    if (pattern && sensitivity) {
      var plain = kind.value === "plant" || pattern.value === "no";
      sensitivity.placeholder = sensitivity.getAttribute(
        plain ? "data-plain-default" : "data-pattern-default");
    }
  }
  document.addEventListener("change", function (ev) {
    var target = ev.target;
    if (!(target instanceof HTMLSelectElement)) return;
    if (target.name !== "kind" && target.name !== "pattern") return;
    var form = target.closest("form.own-rule-form");
    if (form) sync(form);
  });
  document.querySelectorAll("form.own-rule-form").forEach(sync);
})();
