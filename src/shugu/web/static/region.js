/* The region's wall display: its clock (district time), and its charts, fetched as one JSON
 * document of ECharts options and redrawn in place every few seconds. The figures and machine
 * tiles are htmx fragments that poll by themselves (templates/region/); this file only draws
 * what htmx cannot: the charts and the running clock. */
(function () {
  "use strict";

  var ZONE = "Asia/Shanghai";

  function clock() {
    var el = document.getElementById("wall-clock");
    if (!el) return;
    var lang = document.documentElement.lang || "zh-CN";
    var now = new Date();
    var date = new Intl.DateTimeFormat("en-CA", { timeZone: ZONE, year: "numeric", month: "2-digit", day: "2-digit" }).format(now);
    var time = new Intl.DateTimeFormat("en-GB", { timeZone: ZONE, hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false }).format(now);
    var weekday = new Intl.DateTimeFormat(lang, { timeZone: ZONE, weekday: "short" }).format(now);
    el.textContent = date + " " + weekday + " " + time;
  }

  function drawCharts() {
    var src = document.body.getAttribute("data-region-charts");
    if (!src || !window.shugu) return;
    fetch(src, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.json(); })
      .then(function (charts) {
        document.body.classList.remove("refresh-failed");
        Object.keys(charts).forEach(function (name) {
          var el = document.querySelector('[data-region-chart="' + name + '"]');
          if (el) window.shugu.chart(el, charts[name]);
        });
      })
      .catch(function () { document.body.classList.add("refresh-failed"); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!document.getElementById("region-wall")) return;
    var seconds = parseInt(document.body.getAttribute("data-refresh-s") || "10", 10);
    clock();
    setInterval(clock, 1000);
    drawCharts();
    setInterval(drawCharts, Math.max(seconds, 2) * 1000);
  });
  document.addEventListener("htmx:sendError", function () { document.body.classList.add("refresh-failed"); });
  document.addEventListener("htmx:afterSwap", function () { document.body.classList.remove("refresh-failed"); });
})();
