/* shugu device page: one ECharts chart per metric over a chosen range, zoomable, following live
 * values while the range ends now; the device's state badge kept current.
 *
 * The page hands its configuration in <script type="application/json" id="device-chart-config">:
 *   { device, range, start, end, metrics: [{name, label, unit, kind, digits, states}], messages }
 * Chart data comes from GET /devices/{id}/chart?metric=…&range=… (or &start=…&end=…):
 *   { start, end, live, bucket_ms, points }   points: [ts, value] raw, or
 *                                             [bucket, avg, min, max, count] per bucket.
 * Times are drawn in China time (the district's), whatever the browser's zone: ECharts draws
 * in UTC and every time is shifted by +8 h before it is handed over.
 */
(function () {
  "use strict";

  var configEl = document.getElementById("device-chart-config");
  if (!configEl) return;
  var config = JSON.parse(configEl.textContent || "{}");
  var deviceId = String(config.device);
  var messages = config.messages || {};
  var CHINA_MS = 8 * 3600 * 1000;
  var REDRAW_MS = 1000;
  var SLIDE_MS = 15000;
  var RANGES_MS = { "1h": 3600e3, "6h": 6 * 3600e3, "24h": 24 * 3600e3, "7d": 7 * 86400e3, "30d": 30 * 86400e3 };

  function t(id, values) {
    var text = messages[id] || id;
    if (values) {
      Object.keys(values).forEach(function (k) { text = text.split("{" + k + "}").join(values[k]); });
    }
    return text;
  }
  function toast(message) {
    if (window.shugu && window.shugu.toast) window.shugu.toast(message, true);
  }

  var chosen = { range: config.range || "24h", start: config.start || "", end: config.end || "" };
  var charts = {};
  var metricsByName = {};
  (config.metrics || []).forEach(function (m) { metricsByName[m.name] = m; });

  /* -- formatting ------------------------------------------------------------------------- */
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function chinaTime(shifted, withSeconds) {
    var d = new Date(shifted);
    var text = d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()) +
      " " + pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes());
    return withSeconds ? text + ":" + pad(d.getUTCSeconds()) : text;
  }
  function number(meta, value) {
    if (value === null || value === undefined || !isFinite(value)) return "—";
    if (meta.states && Number.isInteger(value) && meta.states[String(value)] !== undefined) {
      return meta.states[String(value)];
    }
    var digits = meta.digits === undefined ? 2 : meta.digits;
    return Number(value).toLocaleString("en-US", { maximumFractionDigits: digits });
  }
  function width(ms) {
    if (ms % 86400000 === 0) return t("{n} d", { n: ms / 86400000 });
    if (ms % 3600000 === 0) return t("{n} h", { n: ms / 3600000 });
    if (ms % 60000 === 0) return t("{n} min", { n: ms / 60000 });
    return t("{n} s", { n: ms / 1000 });
  }
  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  /* -- the chart's option ----------------------------------------------------------------- */
  /* A state metric is drawn on its states' ranks (codes need not be consecutive: 0 … 5, 99),
   * each rank labelled with its state's name. Its average means something only for a two-state
   * metric (the share of time running); other state metrics draw the highest state reached. */
  function stateScale(meta) {
    var codes = meta.states ? Object.keys(meta.states).map(Number).sort(function (a, b) { return a - b; }) : [];
    if (!codes.length) return null;
    var rank = {};
    codes.forEach(function (code, i) { rank[code] = i; });
    return { codes: codes, rank: rank, binary: codes.length === 2 && codes[0] === 0 && codes[1] === 1 };
  }
  function onScale(c, value) {
    if (value === null || value === undefined || !c.scale) return value;
    var r = c.scale.rank[Math.round(value)];
    return r === undefined ? null : r;
  }

  function seriesData(c) {
    if (c.bucket === null) {
      return { value: c.points.map(function (p) { return [p[0] + CHINA_MS, onScale(c, p[1])]; }) };
    }
    var avg = [], low = [], band = [];
    var averaged = !c.scale || c.scale.binary;
    c.points.forEach(function (p) {
      var x = p[0] + CHINA_MS;
      var lo = onScale(c, p[2]), hi = onScale(c, p[3]);
      avg.push([x, averaged ? p[1] : hi]);
      low.push([x, lo]);
      band.push([x, lo === null || hi === null ? null : hi - lo]);
    });
    return { avg: avg, low: low, band: band };
  }

  function axisBounds(c) {
    return { min: c.start + CHINA_MS, max: c.end + CHINA_MS };
  }

  function tooltip(c) {
    return {
      trigger: "axis",
      className: "chart-tip",
      formatter: function (items) {
        if (!items || !items.length) return "";
        var index = items[0].dataIndex;
        var point = c.points[index];
        if (!point) return "";
        var meta = c.meta;
        var unit = meta.unit ? " " + escapeHtml(meta.unit) : "";
        var head = '<div class="tip-time">' + escapeHtml(chinaTime(point[0] + CHINA_MS, c.bucket === null)) + "</div>";
        if (c.bucket === null) {
          return head + '<div class="tip-row"><span class="tip-dot tip-value"></span>' +
            escapeHtml(meta.label) + " <b>" + escapeHtml(number(meta, point[1])) + "</b>" + unit + "</div>";
        }
        var averaged = !c.scale || c.scale.binary;
        var mean = c.scale && point[1] !== null
          ? t("{percent}% {state}", { percent: Math.round(point[1] * 100), state: meta.states["1"] })
          : number(meta, point[1]);
        return head +
          (averaged ? '<div class="tip-row"><span class="tip-dot tip-avg"></span>' + escapeHtml(t("Average")) + " <b>" + escapeHtml(mean) + "</b>" + (c.scale ? "" : unit) + "</div>" : "") +
          '<div class="tip-row"><span class="tip-dot tip-max"></span>' + escapeHtml(t("Maximum")) + " <b>" + escapeHtml(number(meta, point[3])) + "</b>" + unit + "</div>" +
          '<div class="tip-row"><span class="tip-dot tip-min"></span>' + escapeHtml(t("Minimum")) + " <b>" + escapeHtml(number(meta, point[2])) + "</b>" + unit + "</div>";
      }
    };
  }

  function yAxis(c) {
    var axis = { type: "value", scale: true, splitLine: { lineStyle: { color: "#eef0f3" } } };
    if (c.scale) {
      var scale = c.scale, states = c.meta.states;
      axis.scale = false;
      axis.min = 0;
      axis.max = scale.codes.length - 1;
      axis.interval = 1;
      axis.axisLabel = {
        formatter: function (v) {
          var code = scale.codes[v];
          return code === undefined ? "" : states[String(code)];
        }
      };
    }
    return axis;
  }

  function option(c) {
    var data = seriesData(c);
    var bounds = axisBounds(c);
    var state = !!c.scale;
    var series;
    if (c.bucket === null) {
      series = [{
        id: "value", name: t("Value"), type: "line", data: data.value, showSymbol: data.value.length < 60,
        symbolSize: 4, step: state ? "end" : false, connectNulls: false,
        lineStyle: { width: 1.6, color: "#0f6cbd" }, itemStyle: { color: "#0f6cbd" }
      }];
    } else {
      series = [
        { id: "low", name: t("Minimum"), type: "line", data: data.low, stack: "band", symbol: "none",
          lineStyle: { opacity: 0 }, silent: true, step: state ? "end" : false },
        { id: "band", name: t("Min–max band"), type: "line", data: data.band, stack: "band", symbol: "none",
          lineStyle: { opacity: 0 }, areaStyle: { color: "rgba(15, 108, 189, 0.16)" }, silent: true,
          step: state ? "end" : false },
        { id: "avg", name: t("Average"), type: "line", data: data.avg, symbol: "none",
          step: state ? "end" : false, lineStyle: { width: 1.6, color: "#0f6cbd" }, itemStyle: { color: "#0f6cbd" } }
      ];
    }
    var empty = !c.points.length;
    return {
      useUTC: true,
      animation: false,
      grid: { left: 8, right: 16, top: 14, bottom: 44, containLabel: true },
      tooltip: tooltip(c),
      xAxis: {
        type: "time", min: bounds.min, max: bounds.max,
        axisLabel: { hideOverlap: true }, splitLine: { show: false }
      },
      yAxis: yAxis(c),
      dataZoom: [
        { type: "inside", filterMode: "none" },
        { type: "slider", height: 16, bottom: 6, filterMode: "none", showDetail: false }
      ],
      title: empty ? {
        text: t("No data in this range"), left: "center", top: "middle",
        textStyle: { color: "#6b7280", fontSize: 13, fontWeight: "normal" }
      } : { show: false },
      series: series
    };
  }

  function note(c) {
    var text = c.bucket === null ? t("Raw points")
      : (!c.scale || c.scale.binary) ? t("Averaged per {width}", { width: width(c.bucket) })
      : t("States reached per {width}", { width: width(c.bucket) });
    if (c.live) text += " · " + t("Live");
    c.noteEl.textContent = text;
  }

  /* Charts are made here rather than by the console's helper, to draw dates in the page's
   * language ("Dec", not "12月", on an English page). */
  var locale = (document.body.getAttribute("data-lang") || "zh-CN") === "en" ? "EN" : "ZH";
  function draw(c) {
    if (!window.echarts) return;
    if (!c.instance) {
      c.instance = window.echarts.init(c.el, null, { renderer: "canvas", locale: locale });
      if (window.ResizeObserver) new ResizeObserver(function () { c.instance.resize(); }).observe(c.el);
    }
    c.instance.setOption(option(c), true);
    note(c);
    c.dirty = false;
  }

  /* Live points and a sliding window change data and bounds only: merged, so a zoom stays. */
  function redraw(c) {
    if (!c.instance) return;
    var data = seriesData(c);
    var bounds = axisBounds(c);
    var series = c.bucket === null
      ? [{ id: "value", data: data.value }]
      : [{ id: "low", data: data.low }, { id: "band", data: data.band }, { id: "avg", data: data.avg }];
    c.instance.setOption({
      xAxis: { min: bounds.min, max: bounds.max },
      title: c.points.length ? { show: false } : {},
      series: series
    });
    c.dirty = false;
  }

  /* -- loading ---------------------------------------------------------------------------- */
  function rangeQuery() {
    if (chosen.range === "custom") {
      var q = "start=" + encodeURIComponent(chosen.start);
      if (chosen.end) q += "&end=" + encodeURIComponent(chosen.end);
      return q;
    }
    return "range=" + encodeURIComponent(chosen.range);
  }

  function failed(response) {
    var redirect = response.headers.get("HX-Redirect");
    if (redirect) { window.location.href = redirect; return; }
    response.text().then(function (body) {
      var holder = document.createElement("div");
      // Parsed into a detached element only to read its text; never inserted.
      holder.innerHTML = body;
      toast((holder.textContent || "").trim() || (window.shugu ? window.shugu.t("Request failed") : ""));
    });
  }

  function load(c) {
    var url = "/devices/" + deviceId + "/chart?metric=" + encodeURIComponent(c.meta.name) + "&" + rangeQuery();
    var ticket = (c.ticket || 0) + 1;
    c.ticket = ticket;
    c.figure.classList.add("loading");
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json", "HX-Request": "true" } })
      .then(function (response) {
        if (!response.ok) { failed(response); return null; }
        return response.json();
      })
      .then(function (data) {
        if (!data || c.ticket !== ticket) return;
        c.points = data.points || [];
        c.bucket = data.bucket_ms;
        c.start = data.start;
        c.end = data.end;
        c.live = !!data.live;
        c.span = data.range !== "custom" ? RANGES_MS[data.range] || null : null;
        draw(c);
      })
      .catch(function () { toast(window.shugu ? window.shugu.t("Request failed") : ""); })
      .then(function () { if (c.ticket === ticket) c.figure.classList.remove("loading"); });
  }

  function loadAll() { Object.keys(charts).forEach(function (name) { load(charts[name]); }); }

  /* -- live values ------------------------------------------------------------------------ */
  function bucketOf(ts, widthMs) {
    return Math.floor((ts + CHINA_MS) / widthMs) * widthMs - CHINA_MS;
  }

  function append(c, ts, value) {
    if (!c.live || !c.points || ts < c.start) return;
    var last = c.points.length ? c.points[c.points.length - 1] : null;
    if (c.bucket === null) {
      if (last && ts <= last[0]) return;
      c.points.push([ts, value]);
    } else {
      var start = bucketOf(ts, c.bucket);
      if (last && start === last[0]) {
        var n = last[4] || 0;
        last[1] = last[1] === null ? value : (last[1] * n + value) / (n + 1);
        last[2] = last[2] === null ? value : Math.min(last[2], value);
        last[3] = last[3] === null ? value : Math.max(last[3], value);
        last[4] = n + 1;
      } else if (!last || start > last[0]) {
        c.points.push([start, value, value, value, 1]);
      } else {
        return;
      }
    }
    if (ts >= c.end) c.end = ts + 1;
    c.dirty = true;
  }

  document.addEventListener("shugu:values", function (ev) {
    var values = ev.detail && ev.detail[deviceId];
    if (!values) return;
    Object.keys(values).forEach(function (metric) {
      var c = charts[metric];
      if (c) append(c, values[metric][0], values[metric][1]);
    });
    markOnline();
  });

  setInterval(function () {
    Object.keys(charts).forEach(function (name) { if (charts[name].dirty) redraw(charts[name]); });
  }, REDRAW_MS);

  /* A range relative to now keeps its span: its start moves on and older points drop off. */
  setInterval(function () {
    var now = Date.now();
    Object.keys(charts).forEach(function (name) {
      var c = charts[name];
      if (!c.live || !c.points) return;
      c.end = Math.max(c.end, now);
      if (c.span) {
        c.start = c.end - c.span;
        var keep = c.bucket === null ? c.start : c.start - c.bucket;
        while (c.points.length && c.points[0][0] < keep) c.points.shift();
      }
      redraw(c);
    });
  }, SLIDE_MS);

  /* -- the range picker ------------------------------------------------------------------- */
  var customForm = document.getElementById("range-custom");

  function remember() {
    var params = new URLSearchParams();
    if (chosen.range === "custom") {
      params.set("start", chosen.start);
      if (chosen.end) params.set("end", chosen.end);
    } else {
      params.set("range", chosen.range);
    }
    window.history.replaceState(null, "", window.location.pathname + "?" + params.toString());
  }

  function pressed(key) {
    document.querySelectorAll(".range-picker [data-range]").forEach(function (button) {
      var on = button.getAttribute("data-range") === key;
      button.classList.toggle("active", on);
      button.setAttribute("aria-pressed", on ? "true" : "false");
    });
  }

  document.querySelectorAll(".range-picker [data-range]").forEach(function (button) {
    button.addEventListener("click", function () {
      var key = button.getAttribute("data-range");
      pressed(key);
      if (key === "custom") {
        if (customForm) {
          customForm.hidden = false;
          var first = customForm.querySelector("input");
          if (first) first.focus();
        }
        return;
      }
      if (customForm) customForm.hidden = true;
      chosen = { range: key, start: "", end: "" };
      remember();
      loadAll();
    });
  });

  if (customForm) {
    customForm.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var start = customForm.querySelector('[name="start"]').value;
      var end = customForm.querySelector('[name="end"]').value;
      if (!start) return;
      chosen = { range: "custom", start: start, end: end };
      pressed("custom");
      remember();
      loadAll();
    });
  }

  /* -- the state badge -------------------------------------------------------------------- */
  var badge = document.getElementById("device-state");
  var badgeLabels = {};
  if (badge) {
    try { badgeLabels = JSON.parse(badge.getAttribute("data-labels") || "{}"); } catch (e) { badgeLabels = {}; }
  }
  function showState(state) {
    if (!badge || badge.getAttribute("data-state") === state) return;
    badge.setAttribute("data-state", state);
    badge.className = "badge state-" + state;
    if (badgeLabels[state]) badge.textContent = badgeLabels[state];
  }
  function markOnline() { showState("online"); }
  function ageState() {
    if (!badge) return;
    var seen = document.querySelector('[data-last-seen="' + deviceId + '"]');
    var ts = seen ? parseInt(seen.getAttribute("data-ts") || "", 10) : NaN;
    if (isNaN(ts)) { showState("offline"); return; }
    var age = Date.now() - ts;
    var stale = parseInt(badge.getAttribute("data-stale-ms") || "0", 10);
    var offline = parseInt(badge.getAttribute("data-offline-ms") || "0", 10);
    showState(age >= offline ? "offline" : age >= stale ? "stale" : "online");
  }
  setInterval(ageState, 10000);

  /* -- start ------------------------------------------------------------------------------ */
  function start() {
    document.querySelectorAll(".device-chart[data-chart-metric]").forEach(function (el) {
      var name = el.getAttribute("data-chart-metric");
      var meta = metricsByName[name];
      if (!meta) return;
      var figure = el.closest("figure") || el;
      charts[name] = {
        el: el, figure: figure, meta: meta, noteEl: figure.querySelector(".chart-note") || document.createElement("span"),
        points: null, bucket: null, start: 0, end: 0, live: false, span: null, dirty: false,
        scale: stateScale(meta), instance: null
      };
    });
    loadAll();
  }
  // Deferred like console.js, which runs after this file: start once both have run.
  if (document.readyState === "complete") start();
  else document.addEventListener("DOMContentLoaded", start);
})();
