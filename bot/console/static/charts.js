// Dashboard charts (Chart.js, vendored in static/vendor).
// The numbers come from the JSON block #dashboard-data, the same numbers
// as the tables, which stay on the page for readers without JavaScript and
// for screen readers. Nothing here runs inline: the CSP forbids it.
(function () {
  "use strict";
  var block = document.getElementById("dashboard-data");
  if (!block || typeof window.Chart === "undefined") {
    return;
  }
  var d;
  try {
    d = JSON.parse(block.textContent);
  } catch (e) {
    return;
  }
  var Chart = window.Chart;
  Chart.defaults.font.family = '"PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif';
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.animation = false;
  var palette = ["#2f6f4f", "#d08c2c", "#3a6ea5", "#a5483a", "#7a5ea8", "#4a9a9a", "#8a8a3a"];

  // A chart with nothing to show says so instead of drawing empty axes.
  function isEmpty(config) {
    var labels = config.data.labels || [];
    return labels.length === 0 || config.data.datasets.every(function (ds) {
      return (ds.data || []).every(function (v) { return !v; });
    });
  }
  function draw(id, config) {
    var canvas = document.getElementById(id);
    if (!canvas) {
      return;
    }
    if (isEmpty(config)) {
      var p = document.createElement("p");
      p.className = "empty chart-empty";
      p.textContent = "暂无数据";
      canvas.replaceWith(p);
      return;
    }
    new Chart(canvas, config);
  }
  function percentAxis() {
    return { beginAtZero: true, ticks: { callback: function (v) { return v + "%"; } } };
  }
  // People are counted in whole numbers: no 0.5 on the axis.
  function countAxis(extra) {
    return Object.assign({ beginAtZero: true, ticks: { precision: 0 } }, extra || {});
  }

  // Reachable subscribers per town, stacked by group.
  draw("chart-towns", {
    type: "bar",
    data: {
      labels: d.towns,
      datasets: (d.groups || []).map(function (g, i) {
        return { label: g, data: d.by_group[i], backgroundColor: palette[i % palette.length] };
      })
    },
    options: { scales: { x: { stacked: true }, y: countAxis({ stacked: true }) } }
  });

  // Coverage: reachable subscribers per resident.
  draw("chart-coverage", {
    type: "bar",
    data: { labels: d.towns, datasets: [{ label: "覆盖率", data: d.coverage, backgroundColor: palette[2] }] },
    options: {
      indexAxis: "y",
      scales: { x: percentAxis() },
      plugins: { legend: { display: false }, tooltip: { callbacks: { label: function (c) { return c.parsed.x + "%"; } } } }
    }
  });

  // New followers and active subscribers per day.
  draw("chart-growth", {
    type: "line",
    data: {
      labels: d.days,
      datasets: [
        { label: "新关注", data: d.follows, borderColor: palette[0], backgroundColor: palette[0], yAxisID: "y" },
        { label: "活跃", data: d.daily_active, borderColor: palette[1], backgroundColor: palette[1], yAxisID: "y1" }
      ]
    },
    options: {
      interaction: { mode: "index", intersect: false },
      scales: {
        y: countAxis({ position: "left", title: { display: true, text: "新关注" } }),
        y1: countAxis({ position: "right", grid: { drawOnChartArea: false }, title: { display: true, text: "活跃" } })
      }
    }
  });

  // Recent campaigns: sent and clicks (bars), click-through (line).
  draw("chart-campaigns", {
    type: "bar",
    data: {
      labels: d.campaigns,
      datasets: [
        { label: "已发送", data: d.sent, backgroundColor: palette[2], yAxisID: "y" },
        { label: "点击", data: d.clicks, backgroundColor: palette[1], yAxisID: "y" },
        { label: "点击率", data: d.ctr, type: "line", borderColor: palette[3], backgroundColor: palette[3], yAxisID: "y1" }
      ]
    },
    options: {
      scales: {
        y: countAxis(),
        y1: Object.assign(percentAxis(), { position: "right", grid: { drawOnChartArea: false } })
      }
    }
  });

  // Quiz competitions: the share of participants who passed.
  draw("chart-quizzes", {
    type: "bar",
    data: { labels: d.quizzes, datasets: [{ label: "达标率", data: d.pass_rate, backgroundColor: palette[0] }] },
    options: { scales: { y: Object.assign(percentAxis(), { max: 100 }) }, plugins: { legend: { display: false } } }
  });

  // Events: confirmed sign-ups against who came.
  draw("chart-events", {
    type: "bar",
    data: {
      labels: d.events,
      datasets: [
        { label: "已确认", data: d.confirmed, backgroundColor: palette[2] },
        { label: "到场", data: d.attended, backgroundColor: palette[0] }
      ]
    },
    options: { scales: { y: countAxis() } }
  });

  document.documentElement.classList.add("charts-drawn");
})();
