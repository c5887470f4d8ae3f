// The party office's dashboard: ECharts charts drawn from the figures the page was rendered
// with, then refreshed from /api/dashboard every few seconds while the month plays. Every
// label comes from the page (the message catalogue), none from this script.
(function () {
  "use strict";
  var labels = JSON.parse(document.getElementById("dashboard-labels").textContent);
  var data = JSON.parse(document.getElementById("dashboard-data").textContent);
  var every = parseInt(document.body.getAttribute("data-refresh-ms"), 10) || 5000;
  var locale = document.body.getAttribute("data-locale") || "zh-Hans";
  var charts = {};
  var palette = ["#1d4ed8", "#b91c1c", "#047857", "#a16207", "#6d28d9", "#0e7490", "#be185d", "#4d7c0f"];

  function label(kind, code) { return (labels[kind] && labels[kind][code]) || code; }
  function chart(id) {
    var el = document.getElementById(id);
    if (!el || !window.echarts) return null;
    if (!charts[id]) charts[id] = echarts.init(el, null, { renderer: "canvas", locale: locale.indexOf("zh") === 0 ? "ZH" : "EN" });
    return charts[id];
  }
  function bars(id, names, series, horizontal, unit) {
    var c = chart(id);
    if (!c) return;
    var cat = { type: "category", data: names, name: unit || "", nameLocation: "end",
      axisLabel: { interval: 0, width: horizontal ? 140 : 60, overflow: "truncate", hideOverlap: true } };
    var val = { type: "value", minInterval: 1 };
    c.setOption({
      color: palette, animation: false, tooltip: { trigger: "axis" },
      legend: series.length > 1 ? { top: 0 } : undefined,
      grid: { left: horizontal ? 150 : 40, right: unit ? 48 : 16, top: series.length > 1 ? 30 : 12, bottom: 40, containLabel: false },
      xAxis: horizontal ? val : cat, yAxis: horizontal ? cat : val, series: series
    }, true);
  }

  function draw(d) {
    var hosts = d.coverage.by_host_unit;
    bars("chart-coverage-host", hosts.map(function (h) { return h.label; }), [
      { name: labels.series.covered, type: "bar", stack: "c", data: hosts.map(function (h) { return h.covered; }) },
      { name: labels.series.uncovered, type: "bar", stack: "c", data: hosts.map(function (h) { return h.total - h.covered; }) }
    ], true);
    var modes = chart("chart-modes");
    if (modes) modes.setOption({ color: palette, animation: false, tooltip: {}, legend: { bottom: 0 },
      series: [{ type: "pie", radius: ["35%", "60%"], center: ["50%", "45%"], label: { formatter: "{c}" },
      data: Object.keys(d.zones_by_mode).map(function (m) { return { name: label("mode", m), value: d.zones_by_mode[m] }; }) }] }, true);
    var heat = chart("chart-heatmap");
    if (heat) heat.setOption({
      animation: false, tooltip: { formatter: function (p) { return p.value[3] + " / " + p.value[4]; } },
      grid: { left: 160, right: 16, top: 10, bottom: 70 },
      xAxis: { type: "category", data: d.heatmap.rules.map(function (r) { return label("rule", r); }), axisLabel: { interval: 0 } },
      yAxis: { type: "category", data: d.heatmap.zones.map(function (z) { return d.zone_names[z] || z; }) },
      visualMap: { min: 0, max: 1, dimension: 2, calculable: false, orient: "horizontal", left: "center", bottom: 0, text: ["1", "0"],
        inRange: { color: ["#b91c1c", "#f59e0b", "#15803d"] } },
      series: [{ type: "heatmap", name: labels.series.met, data: d.heatmap.cells.filter(function (c) { return c[2] !== null; }),
        label: { show: true, formatter: function (p) { return p.value[3] + "/" + p.value[4]; } } }]
    }, true);
    var funnel = chart("chart-funnel");
    if (funnel) funnel.setOption({ color: palette, animation: false, tooltip: {}, series: [{ type: "funnel", sort: "none", left: "10%", width: "80%",
      label: { position: "inside", color: "#fff" },
      data: ["requested", "approved", "issued", "closed"].map(function (s) { return { name: labels.funnel[s], value: d.funnel[s] }; }) }] }, true);
    bars("chart-cycle", d.cycle.bins, [
      { name: labels.series.within, type: "bar", stack: "f", data: d.cycle.fast_track_within_sla },
      { name: labels.series.late, type: "bar", stack: "f", data: d.cycle.fast_track_late },
      { name: labels.series.sequential, type: "bar", data: d.cycle.sequential }
    ], false, labels.series.hours);
    var reasons = Object.keys(d.blocked_reasons);
    bars("chart-blocks", reasons.map(function (r) { return label("block", r); }),
      [{ type: "bar", name: labels.series.permits, data: reasons.map(function (r) { return d.blocked_reasons[r]; }) }], true);
    bars("chart-drawings", d.drawing_days.bins,
      [{ type: "bar", name: labels.series.drawings, data: d.drawing_days.counts }], false, labels.series.days);
    var sev = Object.keys(d.incidents);
    bars("chart-incidents", sev.map(function (s) { return label("severity", s); }),
      [{ type: "bar", data: sev.map(function (s) { return d.incidents[s]; }) }]);
  }

  function at(obj, path) {
    return path.split(".").reduce(function (o, k) { return o == null ? o : o[k]; }, obj);
  }
  function figures(d) {
    var numbers = {};
    document.querySelectorAll("[data-fig]").forEach(function (el) {
      var v = at(d, el.getAttribute("data-fig"));
      if (v === undefined) return;
      var digits = parseInt(el.getAttribute("data-digits") || "0", 10);
      var key = el.getAttribute("data-format") + digits;
      if (!numbers[key]) numbers[key] = new Intl.NumberFormat(locale, el.getAttribute("data-format") === "percent"
        ? { style: "percent", maximumFractionDigits: 0 } : { minimumFractionDigits: digits, maximumFractionDigits: digits });
      el.textContent = v === null ? "—" : numbers[key].format(v);
    });
    var updated = document.getElementById("updated");
    updated.setAttribute("datetime", d.updated_at);
    updated.textContent = new Intl.DateTimeFormat(locale, { dateStyle: "short", timeStyle: "medium",
      timeZone: document.body.getAttribute("data-tz") || undefined }).format(new Date(d.updated_at));
    ranking(d.ranking);
  }

  function cell(row, text, cls) {
    var td = document.createElement("td");
    if (cls) td.className = cls;
    if (text !== null) td.textContent = text;
    row.appendChild(td);
    return td;
  }
  function ranking(list) {
    var body = document.querySelector("#ranking tbody");
    if (!list.length) return;
    var score = new Intl.NumberFormat(locale, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
    var rows = list.map(function (r) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-zone", r.zone_id);
      cell(tr, String(r.rank), "num");
      var a = document.createElement("a");
      a.href = "/zones/" + encodeURIComponent(r.zone_id);
      a.textContent = r.name;
      cell(tr, null).appendChild(a);
      cell(tr, score.format(r.score), "num").setAttribute("data-score", "");
      var g = document.createElement("span");
      g.className = "grade grade-" + r.grade;
      g.textContent = label("grade_result", r.grade);
      cell(tr, null).appendChild(g);
      return tr;
    });
    body.replaceChildren.apply(body, rows);
  }

  function poll() {
    fetch("/api/dashboard" + window.location.search, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (d) { if (d) { data = d; draw(d); figures(d); document.body.setAttribute("data-refreshed", d.updated_at); } })
      .catch(function () {})
      .then(function () { setTimeout(poll, every); });
  }
  draw(data);
  window.addEventListener("resize", function () { Object.keys(charts).forEach(function (k) { charts[k].resize(); }); });
  setTimeout(poll, every);
})();
