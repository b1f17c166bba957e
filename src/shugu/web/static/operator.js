/* shugu console: the operator's health page.
 * console.js fills every data-health="key" element from the stream's "health" event (every
 * 2 s) and fires "shugu:health" with the figures. Here: yes/no badges (data-health-flag), the
 * ingest chart (points stored per second by transport, the last ten minutes: the page brings
 * the history, each event adds a point), and a "shugu:rejects" event on the body when the
 * refusal total grows, which the refusals fragment refetches itself on.
 */
(function () {
  "use strict";

  var SPAN_MS = 10 * 60 * 1000;
  var history = null;
  var chartEl = null;
  var lastRejects = null;

  function readHistory() {
    var el = document.getElementById("ingest-history");
    if (!el) return null;
    try { return JSON.parse(el.textContent || "{}"); } catch (e) { return null; }
  }

  function option() {
    var series = Object.keys(history.series).map(function (transport) {
      return {
        name: history.labels[transport] || transport,
        type: "line",
        stack: "ingest",
        showSymbol: false,
        smooth: true,
        areaStyle: { opacity: 0.25 },
        lineStyle: { width: 1.5 },
        data: history.series[transport]
      };
    });
    return {
      animation: false,
      grid: { left: 56, right: 16, top: 32, bottom: 28 },
      legend: { top: 0, textStyle: { fontSize: 12 } },
      tooltip: { trigger: "axis", valueFormatter: function (v) { return (v || 0).toLocaleString("en-US", { maximumFractionDigits: 1 }); } },
      xAxis: { type: "time", splitLine: { show: false } },
      yAxis: { type: "value", min: 0, splitNumber: 3 },
      series: series
    };
  }

  function draw() {
    if (!chartEl || !history || !window.shugu) return;
    window.shugu.chart(chartEl, option());
  }

  function addPoint(data) {
    if (!history || typeof data.ts !== "number") return;
    var cutoff = data.ts - SPAN_MS;
    Object.keys(history.series).forEach(function (transport) {
      var points = history.series[transport];
      var value = data["ingest_rate_" + transport];
      points.push([data.ts, typeof value === "number" ? value : 0]);
      while (points.length && points[0][0] < cutoff) points.shift();
    });
    draw();
  }

  function flags(data) {
    document.querySelectorAll("[data-health-flag]").forEach(function (el) {
      var key = el.getAttribute("data-health-flag");
      if (!Object.prototype.hasOwnProperty.call(data, key) || data[key] === null) return;
      var ok = Boolean(data[key]);
      el.textContent = el.getAttribute(ok ? "data-yes" : "data-no") || "";
      el.classList.toggle("state-online", ok);
      el.classList.toggle("sev-critical", !ok);
    });
  }

  function rejects(data) {
    var total = data.rejects_total;
    if (typeof total !== "number") return;
    if (lastRejects !== null && total !== lastRejects) {
      document.body.dispatchEvent(new CustomEvent("shugu:rejects", { bubbles: true }));
    }
    lastRejects = total;
  }

  document.addEventListener("shugu:health", function (ev) {
    var data = ev.detail || {};
    flags(data);
    addPoint(data);
    rejects(data);
  });

  document.addEventListener("DOMContentLoaded", function () {
    chartEl = document.getElementById("ingest-chart");
    history = readHistory();
    if (history && !history.labels) history.labels = {};
    draw();
  });
})();
