/* The device list's filters leave empty fields out of the address they put in the history, and
 * its state badges follow the devices' last-seen times: a value arriving makes a
 * device online; silence past its thresholds (data-stale-after, data-offline-after, ms) makes it
 * stale, then offline. Labels come translated in the page's #device-states block. */
(function () {
  "use strict";

  var labels = {};
  try {
    labels = JSON.parse(document.getElementById("device-states").textContent || "{}");
  } catch (e) { labels = {}; }

  function stateOf(badge, now) {
    var device = badge.getAttribute("data-state-of");
    var seen = document.querySelector('time[data-last-seen="' + device + '"]');
    var ts = seen ? parseInt(seen.getAttribute("data-ts"), 10) : NaN;
    if (isNaN(ts)) return "offline";
    var silent = now - ts;
    if (silent >= parseInt(badge.getAttribute("data-offline-after"), 10)) return "offline";
    if (silent >= parseInt(badge.getAttribute("data-stale-after"), 10)) return "stale";
    return "online";
  }

  function refresh() {
    var now = Date.now();
    document.querySelectorAll("[data-state-of]").forEach(function (badge) {
      var state = stateOf(badge, now);
      if (badge.classList.contains("state-" + state)) return;
      badge.classList.remove("state-online", "state-stale", "state-offline");
      badge.classList.add("state-" + state);
      badge.textContent = labels[state] || state;
    });
  }

  document.addEventListener("htmx:configRequest", function (ev) {
    var form = document.getElementById("device-filter");
    if (!form || !form.contains(ev.detail.elt)) return;
    var params = ev.detail.parameters;
    ["q", "profile", "asset", "state"].forEach(function (name) {
      if (params[name] === "") delete params[name];
    });
  });

  // console.js moves the last-seen times before it announces the values.
  document.addEventListener("shugu:values", refresh);
  setInterval(refresh, 10000);
})();
