/* shugu console: a new device's first message, shown as it arrives.
 * The page marks the section with data-onboard-device="ID"; console.js streams the device's
 * values (its data-last-seen element asks for them) and fires "shugu:values" with
 * {deviceId: {metric: [ts, value]}}. The metric names are not known in advance, so each one
 * gets its row the first time it comes. Names a device sent are shown as text only.
 */
(function () {
  "use strict";

  var rows = {};
  var watched = null;

  function labels() {
    var el = document.getElementById("onboard-labels");
    if (!el) return {};
    try { return JSON.parse(el.textContent || "{}"); } catch (e) { return {}; }
  }

  function formatValue(value) {
    if (typeof value !== "number") return String(value);
    if (Number.isInteger(value) && Math.abs(value) < 1e15) return value.toLocaleString("en-US");
    return value.toLocaleString("en-US", { maximumFractionDigits: 3 });
  }

  function formatTime(ms) {
    var lang = document.body.getAttribute("data-lang") || "zh-CN";
    try {
      return new Date(ms).toLocaleString(lang, { timeZone: "Asia/Shanghai", hour12: false });
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
    name.textContent = names[metric] ? names[metric] + " · " + metric : metric;
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
    var names = labels();
    Object.keys(metrics).sort().forEach(function (metric) {
      var point = metrics[metric];
      var row = rowFor(body, metric, names);
      var cell = row.cells[1];
      cell.textContent = formatValue(point[1]);
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
