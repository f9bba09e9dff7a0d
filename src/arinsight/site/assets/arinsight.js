/* arinsight site: draws the charts with the site's own plotly.js (no CDN) and links chart
   points that carry a customer id to the customer's page. Nothing leaves the host: plotly.js 4
   offers "Share chart" (an upload to Plotly Cloud) on every chart by default; it is switched off
   and its destination emptied, with the links to Plotly's editors. */
(function () {
  "use strict";
  var config = {
    responsive: true,
    displaylogo: false,
    showSendToCloud: false,
    showEditInChartStudio: false,
    showLink: false,
    plotlyServerURL: "",
    modeBarButtonsToRemove: [
      "select2d", "lasso2d", "autoScale2d", "sendChartToCloud", "sendDataToCloud",
      "editInChartStudio",
    ],
  };
  function draw(el) {
    var node = document.getElementById(el.getAttribute("data-spec"));
    if (!node || typeof Plotly === "undefined") return;
    var spec = JSON.parse(node.textContent);
    var layout = spec.layout || {};
    layout.autosize = true;
    Plotly.newPlot(el, spec.data || [], layout, config).then(function () {
      var links = el.getAttribute("data-customers");
      if (!links) return;
      var map = JSON.parse(links);
      el.classList.add("ar-chart-links");
      el.on("plotly_click", function (ev) {
        var p = ev && ev.points && ev.points[0];
        var id = p && (Array.isArray(p.customdata) ? p.customdata[0] : p.customdata);
        if (id && map[id]) window.location.href = map[id];
      });
    });
  }
  function all() {
    var charts = document.querySelectorAll(".ar-chart");
    for (var i = 0; i < charts.length; i++) draw(charts[i]);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", all);
  else all();
})();
