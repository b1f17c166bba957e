/* shugu KPI pages: draws each chart from the options the page hands over in
 *   <script type="application/json" id="kpi-charts">{ name: ECharts option, … }</script>
 * into the element marked data-kpi-chart="name" (the console's chart helper keeps it sized).
 */
(function () {
  "use strict";

  function draw() {
    var source = document.getElementById("kpi-charts");
    if (!source || !window.shugu || !window.shugu.chart) return;
    var options = {};
    try {
      options = JSON.parse(source.textContent || "{}");
    } catch (e) {
      return;
    }
    document.querySelectorAll("[data-kpi-chart]").forEach(function (el) {
      var option = options[el.getAttribute("data-kpi-chart")];
      if (option) window.shugu.chart(el, option);
    });
  }
  document.addEventListener("DOMContentLoaded", draw);
})();
