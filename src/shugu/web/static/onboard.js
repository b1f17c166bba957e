/* shugu console: a new device's first message, shown as it arrives.
 * The page marks the section with data-onboard-device="ID"; console.js streams the device's
 * values (its data-last-seen element asks for them) and fires "shugu:values" with
 * {deviceId: {metric: [ts, value]}}. The metric names are not known in advance, so each one
 * gets its row the first time it comes, labelled from the profile (data-metric-labels) when
 * the profile knows it. Names a device sent are shown as text only.
 */
(function () {
  "use strict";

  var rows = {};
  var watched = null;

  function labels(box) {
    try { return JSON.parse(box.getAttribute("data-metric-labels") || "{}"); } catch (e) { return {}; }
  }

  function formatValue(value, spec) {
    if (typeof value !== "number") return String(value);
    var states = spec && spec.states;
    if (states && Object.prototype.hasOwnProperty.call(states, String(value))) {
      return states[String(value)] + " (" + value + ")";
    }
    var text = Number.isInteger(value) && Math.abs(value) < 1e15
      ? value.toLocaleString("en-US")
      : value.toLocaleString("en-US", { maximumFractionDigits: 3 });
    return spec && spec.unit ? text + " " + spec.unit : text;
  }

  /* As the server writes times: 2026-12-05 21:36:16, in the district's time zone. */
  function formatTime(ms) {
    try {
      var parts = {};
      new Intl.DateTimeFormat("en-GB", {
        timeZone: "Asia/Shanghai", hourCycle: "h23", year: "numeric", month: "2-digit",
        day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit"
      }).formatToParts(new Date(ms)).forEach(function (p) { parts[p.type] = p.value; });
      return parts.year + "-" + parts.month + "-" + parts.day + " " +
        parts.hour + ":" + parts.minute + ":" + parts.second;
    } catch (e) {
      return new Date(ms).toISOString();
    }
  }

  function rowFor(body, metric, names) {
    var row = rows[metric];
    if (row) return row;
    row = document.createElement("tr");
    row.setAttribute("data-metric-row", metric);
    var name = document.createElement("td");
    name.textContent = names[metric] ? names[metric].label + " · " + metric : metric;
    var value = document.createElement("td");
    value.className = "num live-value";
    var time = document.createElement("td");
    time.className = "muted";
    row.appendChild(name);
    row.appendChild(value);
    row.appendChild(time);
    body.appendChild(row);
    rows[metric] = row;
    return row;
  }

  document.addEventListener("shugu:values", function (ev) {
    var box = document.getElementById("onboard-live");
    if (!box) return;
    var id = box.getAttribute("data-onboard-device");
    var metrics = id && ev.detail ? ev.detail[id] : null;
    if (!metrics) return;
    if (watched !== id) { rows = {}; watched = id; }
    var body = document.getElementById("onboard-values");
    if (!body) return;
    var names = labels(box);
    Object.keys(metrics).sort().forEach(function (metric) {
      var point = metrics[metric];
      var row = rowFor(body, metric, names);
      var cell = row.cells[1];
      cell.textContent = formatValue(point[1], names[metric]);
      row.cells[2].textContent = formatTime(point[0]);
      cell.classList.add("flash");
      setTimeout(function () { cell.classList.remove("flash"); }, 600);
    });
    var waiting = document.getElementById("onboard-waiting");
    var received = document.getElementById("onboard-received");
    if (waiting) waiting.hidden = true;
    if (received) received.hidden = false;
    box.classList.add("received");
  });
})();
