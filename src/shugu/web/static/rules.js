/* The own-rule form shows only the fields of the chosen kind of rule (data-kinds="…"): the
 * others are hidden and disabled, so a value typed before the kind changed is not sent.
 * The sensitivity's placeholder follows whether the anomaly rule judges the pattern (a plant
 * model's is the plain default).
 * A plant model scoped to a profile is offered that profile's gauges only (the others' ticks
 * would be refused). Chosen by the engineer with nothing of the profile ticked yet, its gauges
 * are ticked as the profile declares them (data-plant-role): the conditions it is given under
 * the conditions, the others but its set points under the sensors.
 * A plant model's fit, left empty, is a day of its profile's rows (data-day-rows: the scoped
 * profile's, else the longest of the profiles reporting every gauge ticked); the placeholder
 * shows the number the server will use.
 * A back-test's result (the page answered to "back-test without saving") is scrolled to.
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
  function fitShown(form) {
    var fit = form.querySelector("input[name=fit_points]");
    if (!fit) return;
    var profile = scopedProfile(form);
    var ticked = [];
    var boxes = ".sensor-group input[type=checkbox]:checked:not(:disabled)";
    form.querySelectorAll(boxes).forEach(function (box) {
      if (ticked.indexOf(box.value) < 0) ticked.push(box.value);
    });
    var best = null;
    form.querySelectorAll(".sensor-group[data-day-rows]").forEach(function (group) {
      if (profile !== null && group.getAttribute("data-profile") !== profile) return;
      var offered = [];
      group.querySelectorAll("input[name=metrics]").forEach(function (box) {
        offered.push(box.value);
      });
      var all = ticked.every(function (name) { return offered.indexOf(name) >= 0; });
      var rows = parseInt(group.getAttribute("data-day-rows"), 10);
      if (all && (best === null || rows > best)) best = rows;
    });
    fit.placeholder = best === null ? fit.getAttribute("data-default-fit") : String(best);
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
    fitShown(form);
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
    if (target instanceof HTMLInputElement && target.type === "checkbox") {
      var owner = target.closest("form.own-rule-form");
      if (owner) fitShown(owner);
      return;
    }
    if (!(target instanceof HTMLSelectElement)) return;
    if (["kind", "pattern", "applies"].indexOf(target.name) < 0) return;
    var form = target.closest("form.own-rule-form");
    if (!form) return;
    sync(form);
    var kind = form.querySelector("select[name=kind]");
    if (target.name !== "pattern" && kind && kind.value === "plant") preset(form);
    fitShown(form);
  });
  document.querySelectorAll("form.own-rule-form").forEach(sync);
  // A back-test answers with the whole page: bring its result, inside the form, into view.
  var tried = document.querySelector("[data-testid=backtest-result]");
  if (tried) tried.scrollIntoView({ block: "center" });
})();
