/* The own-rule form shows only the fields of the chosen kind of rule (data-kinds="…"): the
 * others are hidden and disabled, so a value typed before the kind changed is not sent.
 * The sensitivity's placeholder follows whether the anomaly rule judges the pattern (a plant
 * model's is the plain default).
 * A plant model scoped to a profile is offered that profile's gauges only (the others' ticks
 * would be refused). Chosen by the engineer with nothing of the profile ticked yet, its gauges
 * are ticked as the profile declares them (data-plant-role): the conditions it is given under
 * the conditions, the others but its set points under the sensors.
 * No inline handlers: the content security policy allows only scripts from this origin. */
(function () {
  "use strict";
  function scopedProfile(form) {
    var applies = form.querySelector("select[name=applies]");
    var value = applies ? applies.value : "";
    return value.indexOf("profile:") === 0 ? value.slice("profile:".length) : null;
  }
  function narrow(form, plant) {
    var profile = scopedProfile(form);
    form.querySelectorAll(".sensor-group[data-profile]").forEach(function (group) {
      var shown = profile === null || group.getAttribute("data-profile") === profile;
      group.hidden = !shown;
      group.querySelectorAll("input").forEach(function (input) {
        input.disabled = !(plant && shown);
      });
    });
  }
  function preset(form) {
    var profile = scopedProfile(form);
    if (profile === null) return;
    var selector = ".sensor-group[data-profile='" + profile + "'] input[type=checkbox]";
    var boxes = form.querySelectorAll(selector);
    var ticked = Array.prototype.some.call(boxes, function (box) { return box.checked; });
    if (ticked) return;
    boxes.forEach(function (box) {
      var role = box.getAttribute("data-plant-role");
      box.checked = box.name === "conditions" ? role === "condition" : !role;
    });
  }
  function sync(form) {
    var kind = form.querySelector("select[name=kind]");
    if (!kind) return;
    form.querySelectorAll("[data-kinds]").forEach(function (el) {
      var shown = el.getAttribute("data-kinds").split(" ").indexOf(kind.value) >= 0;
      el.hidden = !shown;
      el.querySelectorAll("input, select").forEach(function (input) { input.disabled = !shown; });
    });
    narrow(form, kind.value === "plant");
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
    if (["kind", "pattern", "applies"].indexOf(target.name) < 0) return;
    var form = target.closest("form.own-rule-form");
    if (!form) return;
    sync(form);
    var kind = form.querySelector("select[name=kind]");
    if (target.name !== "pattern" && kind && kind.value === "plant") preset(form);
  });
  document.querySelectorAll("form.own-rule-form").forEach(sync);
})();
