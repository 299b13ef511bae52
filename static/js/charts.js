/* Charts of the evaluation pages, drawn with the ECharts copy in static/vendor/echarts/.
   Each <div data-chart="ID"> takes its options from <script type="application/json" id="ID">
   (Django's json_script): {type, categories, series: [{name, data, percent}], percent,
   markLine}; a series' own "percent" overrides the chart's (composite scores are points). */
(function () {
  "use strict";

  var COLORS = ["#1f4d82", "#1d7a46", "#d49100", "#b8282e", "#6434a0", "#11675e",
                "#a04a00", "#3d4a58", "#3a8dde", "#9a5b00"];

  function format(percent) {
    return function (value) {
      if (value === null || value === undefined || value === "-") return "—";
      return percent ? Number(value).toFixed(2) + "%" : Number(value).toFixed(2).replace(/\.00$/, "");
    };
  }

  function options(cfg) {
    // An axis shared by percentages and points is labelled with plain numbers.
    var mixed = cfg.series.some(function (s) { return s.percent === false; });
    var fmt = format(cfg.percent && !mixed);
    var series = cfg.series.map(function (s, i) {
      var one = {
        name: s.name, type: cfg.type || "line", data: s.data, connectNulls: false,
        symbolSize: 6, emphasis: {focus: "series"},
        tooltip: {valueFormatter: format(s.percent === undefined ? cfg.percent : s.percent)}
      };
      if (i === 0 && cfg.markLine) {
        one.markLine = {symbol: "none", silent: true, label: {formatter: cfg.markLine},
                        lineStyle: {type: "dashed", color: "#74818f"},
                        data: [{xAxis: cfg.markLine}]};
      }
      return one;
    });
    return {
      color: COLORS,
      animation: false,
      aria: {enabled: true},
      tooltip: {trigger: "axis"},
      legend: {type: "scroll", top: 0, left: 0, right: 0},
      grid: {left: 20, right: 32, top: 34, bottom: 8, containLabel: true},
      xAxis: {type: "category", data: cfg.categories, boundaryGap: cfg.type === "bar"},
      yAxis: {type: "value", scale: true, axisLabel: {formatter: fmt}},
      series: series
    };
  }

  function draw(el) {
    if (el.dataset.drawn || typeof window.echarts === "undefined") return;
    var source = document.getElementById(el.dataset.chart);
    if (!source) return;
    el.dataset.drawn = "1";
    var chart = window.echarts.init(el, null, {renderer: "canvas"});
    chart.setOption(options(JSON.parse(source.textContent)));
    window.addEventListener("resize", function () { chart.resize(); });
  }

  function init(root) {
    Array.prototype.forEach.call(root.querySelectorAll("[data-chart]"), draw);
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:load", function (event) { init(event.target); });
})();
