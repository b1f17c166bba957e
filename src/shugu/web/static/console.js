/* shugu console: CSRF header for htmx, toasts, "ago" times, live values and alarms over one
 * server-sent-event stream per page, ECharts helpers, copy buttons.
 * Pages mark what is live with attributes; no page needs a script of its own for that:
 *   data-device="12" data-metric="temp" [data-digits="1"] [data-labels='{"0":"停机"}']
 *   data-last-seen="12" data-ts="<ms>"      kept as "3 min ago"
 *   data-live-alarms                          the page's alarm fragments listen for
 *                                             hx-trigger="shugu:alarms from:body"
 *   data-live-health                          operator figures: data-health="backlog_points"
 *   data-chart-src="/url"                     a chart whose ECharts option the URL returns
 */
(function () {
  "use strict";

  var messages = {};
  try {
    messages = JSON.parse(document.getElementById("shugu-i18n").textContent || "{}");
  } catch (e) { messages = {}; }
  function t(id, values) {
    var text = messages[id] || id;
    if (values) {
      Object.keys(values).forEach(function (k) { text = text.split("{" + k + "}").join(values[k]); });
    }
    return text;
  }

  function cookie(name) {
    var parts = document.cookie ? document.cookie.split("; ") : [];
    for (var i = 0; i < parts.length; i++) {
      var eq = parts[i].indexOf("=");
      if (parts[i].slice(0, eq) === name) return decodeURIComponent(parts[i].slice(eq + 1));
    }
    return null;
  }
  function csrf() { return cookie("__Host-shugu_csrf") || cookie("shugu_csrf") || ""; }

  function toast(message, isError) {
    var box = document.getElementById("toasts");
    if (!box || !message) return;
    var el = document.createElement("div");
    el.className = "toast" + (isError ? " error" : "");
    el.textContent = message;
    box.appendChild(el);
    setTimeout(function () { el.remove(); }, isError ? 8000 : 3000);
  }

  document.addEventListener("htmx:configRequest", function (ev) {
    ev.detail.headers["X-CSRF-Token"] = csrf();
  });
  document.addEventListener("htmx:responseError", function (ev) {
    var xhr = ev.detail.xhr;
    var text = "";
    if (xhr && xhr.responseText) {
      var holder = document.createElement("div");
      // Parsed into a detached element only to read its text; never inserted.
      holder.innerHTML = xhr.responseText;
      text = (holder.textContent || "").trim();
    }
    toast(text || t("Request failed"), true);
  });
  document.addEventListener("htmx:sendError", function () { toast(t("Request failed"), true); });

  /* -- "3 min ago" ------------------------------------------------------------------------ */
  function ago(ms) {
    var s = Math.max(0, Math.round((Date.now() - ms) / 1000));
    if (s < 5) return t("just now");
    if (s < 60) return t("{n} s ago", { n: s });
    if (s < 3600) return t("{n} min ago", { n: Math.floor(s / 60) });
    if (s < 86400) return t("{n} h ago", { n: Math.floor(s / 3600) });
    return t("{n} d ago", { n: Math.floor(s / 86400) });
  }
  function refreshAgo(root) {
    (root || document).querySelectorAll("time.ago[data-ts]").forEach(function (el) {
      var ms = parseInt(el.getAttribute("data-ts"), 10);
      if (!isNaN(ms)) el.textContent = ago(ms);
    });
  }
  setInterval(refreshAgo, 10000);

  /* -- live values ------------------------------------------------------------------------ */
  function format(el, value) {
    var labels = el.getAttribute("data-labels");
    if (labels) {
      try {
        var map = JSON.parse(labels);
        var key = String(Math.round(value));
        if (Object.prototype.hasOwnProperty.call(map, key)) return map[key];
      } catch (e) { /* fall through to the number */ }
    }
    var digits = parseInt(el.getAttribute("data-digits") || "2", 10);
    if (Number.isInteger(value) && Math.abs(value) < 1e15) return value.toLocaleString("en-US");
    return value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
  }

  function applyValues(data) {
    Object.keys(data).forEach(function (device) {
      var metrics = data[device];
      var newest = 0;
      Object.keys(metrics).forEach(function (metric) {
        var point = metrics[metric];
        newest = Math.max(newest, point[0]);
        var sel = '[data-device="' + device + '"][data-metric="' + CSS.escape(metric) + '"]';
        document.querySelectorAll(sel).forEach(function (el) {
          el.textContent = format(el, point[1]);
          el.classList.add("flash");
          setTimeout(function () { el.classList.remove("flash"); }, 600);
        });
      });
      if (newest) {
        document.querySelectorAll('[data-last-seen="' + device + '"]').forEach(function (el) {
          el.setAttribute("data-ts", String(newest));
          el.textContent = ago(newest);
        });
      }
    });
    document.dispatchEvent(new CustomEvent("shugu:values", { detail: data }));
  }

  var stream = null;
  var streamUrl = "";
  var failures = 0;

  function wanted() {
    var ids = {};
    document.querySelectorAll("[data-device],[data-last-seen],[data-chart-device]").forEach(function (el) {
      var id = el.getAttribute("data-device") || el.getAttribute("data-last-seen") || el.getAttribute("data-chart-device");
      if (/^\d+$/.test(id || "")) ids[id] = true;
    });
    var list = Object.keys(ids).sort(function (a, b) { return a - b; }).slice(0, 500);
    var params = [];
    if (list.length) params.push("devices=" + list.join(","));
    if (document.querySelector("[data-live-alarms]")) params.push("alarms=1");
    if (document.querySelector("[data-live-health]")) params.push("health=1");
    return params.length ? "/live?" + params.join("&") : "";
  }

  function connect() {
    var url = wanted();
    if (url === streamUrl && stream) return;
    if (stream) { stream.close(); stream = null; }
    streamUrl = url;
    if (!url) return;
    stream = new EventSource(url);
    var state = document.getElementById("live-state");
    stream.onopen = function () { failures = 0; if (state) state.hidden = true; };
    stream.onerror = function () {
      failures += 1;
      if (state && failures > 1) state.hidden = false;
    };
    stream.addEventListener("values", function (ev) { applyValues(JSON.parse(ev.data)); });
    stream.addEventListener("alarms", function (ev) {
      var detail = JSON.parse(ev.data);
      if (window.htmx) window.htmx.trigger(document.body, "shugu:alarms", detail);
      document.dispatchEvent(new CustomEvent("shugu:alarms-changed", { detail: detail }));
    });
    stream.addEventListener("health", function (ev) {
      var data = JSON.parse(ev.data);
      document.querySelectorAll("[data-health]").forEach(function (el) {
        var key = el.getAttribute("data-health");
        if (Object.prototype.hasOwnProperty.call(data, key)) {
          var v = data[key];
          el.textContent = typeof v === "number" ? format(el, v) : String(v);
        }
      });
      document.dispatchEvent(new CustomEvent("shugu:health", { detail: data }));
    });
  }
  var reconnectTimer = null;
  function reconnectSoon() {
    clearTimeout(reconnectTimer);
    reconnectTimer = setTimeout(connect, 150);
  }
  window.addEventListener("pagehide", function () { if (stream) stream.close(); });

  /* -- charts ----------------------------------------------------------------------------- */
  var charts = new Map();
  function chart(el, option) {
    if (!window.echarts) return null;
    var instance = charts.get(el) || window.echarts.init(el, null, { renderer: "canvas" });
    if (!charts.has(el)) {
      charts.set(el, instance);
      if (window.ResizeObserver) new ResizeObserver(function () { instance.resize(); }).observe(el);
    }
    instance.setOption(option, true);
    return instance;
  }
  function loadChart(el) {
    var src = el.getAttribute("data-chart-src");
    if (!src) return;
    fetch(src, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.json(); })
      .then(function (option) { chart(el, option); })
      .catch(function () { toast(t("Request failed"), true); });
  }
  function initCharts(root) {
    (root || document).querySelectorAll("[data-chart-src]").forEach(loadChart);
  }

  /* -- copy buttons ----------------------------------------------------------------------- */
  document.addEventListener("click", function (ev) {
    var button = ev.target.closest ? ev.target.closest("[data-copy]") : null;
    if (!button) return;
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) return;
    var text = source.value !== undefined && source.tagName === "INPUT" ? source.value : source.textContent;
    function done() { toast(t("Copied"), false); }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done);
    } else {
      var area = document.createElement("textarea");
      area.value = text;
      document.body.appendChild(area);
      area.select();
      try { document.execCommand("copy"); done(); } finally { area.remove(); }
    }
  });

  function init(root) {
    refreshAgo(root);
    initCharts(root);
    reconnectSoon();
  }
  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:afterSettle", function (ev) { init(ev.target); });

  window.shugu = { t: t, toast: toast, chart: chart, loadChart: loadChart, ago: ago, csrf: csrf };
})();
