// report.html: draws a run's tables and charts from the JSON in #data with uPlot (embedded).
// Test hooks: <body data-charts="N"> counts the charts drawn; each chart's element carries
// data-points (the values it drew) and, for a series, data-series (its id); #series=ID in the
// address selects a series of a panel, as choosing it in the table does.
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("data").textContent);
  var main = document.getElementById("report");
  var drawn = 0;

  function el(tag, attrs, kids) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") e.textContent = attrs[k];
      else if (k === "onclick") e.addEventListener("click", attrs[k]);
      else e.setAttribute(k, attrs[k]);
    });
    (kids || []).forEach(function (c) { if (c) e.appendChild(c); });
    return e;
  }
  function num(v, d) {
    if (v === null || v === undefined || !isFinite(v)) return "\u2013";
    return Number(v).toFixed(d === undefined ? 3 : d);
  }
  function section(title, kids) {
    main.appendChild(el("h2", { text: title }));
    (kids || []).forEach(function (k) { main.appendChild(k); });
  }
  function table(head, rows, opts) {
    opts = opts || {};
    var thead = el("thead", {}, [el("tr", {}, head.map(function (h) { return el("th", { scope: "col", text: h }); }))]);
    var tbody = el("tbody", {}, rows.map(function (r) {
      var tr = el("tr", {}, r.cells.map(function (c) { return el("td", { text: c }); }));
      if (r.cls) tr.className = r.cls;
      return tr;
    }));
    return el("div", { class: "scroll" }, [el("table", { class: opts.cls || "" }, [thead, tbody])]);
  }

  // A line chart: xs (positions), series [{label, values, stroke, dash, width, fill}], bands
  // [[hi index, lo index, fill]] (indices into the series, 1-based as uPlot counts), xlabel(x),
  // and the x axis' name in the legend (xname, default "time").
  function chart(box, xs, series, bands, xlabel, height, xname) {
    box.innerHTML = "";
    var width = Math.max(280, Math.min(1060, (box.clientWidth || main.clientWidth || 800)));
    var points = 0;
    series.forEach(function (s) { s.values.forEach(function (v) { if (v !== null && v !== undefined) points++; }); });
    var opts = {
      width: width,
      height: height || 300,
      scales: { x: { time: false } },
      // Room on the right for the last x label (a date, centred on its tick).
      padding: [null, 44, null, null],
      legend: { live: true },
      series: [{ label: xname || "time", value: function (u, v) { return v === null ? "" : xlabel(v); } }].concat(series.map(function (s) {
        return {
          label: s.label,
          stroke: s.stroke,
          width: s.width || 1.5,
          dash: s.dash,
          spanGaps: !!s.span,
          points: { show: !!s.dots, size: 4 },
          show: s.show !== false,
        };
      })),
      bands: (bands || []).map(function (b) { return { series: [b[0], b[1]], fill: b[2] }; }),
      axes: [
        { space: 110, values: function (u, splits) { return splits.map(function (v) { return Number.isInteger(v) ? xlabel(v) : ""; }); }, size: 40 },
        { size: 60 },
      ],
    };
    var data = [xs].concat(series.map(function (s) { return s.values; }));
    new uPlot(opts, data, box);
    box.setAttribute("data-points", String(points));
    drawn++;
    document.body.setAttribute("data-charts", String(drawn));
  }

  var BAND = ["rgba(198,40,40,0.20)", "rgba(198,40,40,0.10)", "rgba(198,40,40,0.06)"];

  // One series' chart: history, the test's one-step predictions and the path from the first
  // test origin with its bands, and the forecast past the data with its bands.
  function seriesChart(box, s) {
    var n = s.labels.length;
    var fc = s.forecast;
    var h = fc ? fc.labels.length : 0;
    var xs = [];
    for (var i = 0; i < n + h; i++) xs.push(s.x0 + i);
    var at = function (x) { return x - s.x0; };
    var blank = function () { return xs.map(function () { return null; }); };
    var actual = blank(), step1 = blank(), path = blank(), fut = blank();
    s.y.forEach(function (v, i) { actual[i] = v; });
    s.step1.forEach(function (p) { if (at(p[0]) >= 0) step1[at(p[0])] = p[1]; });
    s.path.x.forEach(function (x, j) { if (at(x) >= 0 && at(x) < n) path[at(x)] = s.path.pred[j]; });
    var lv = D.levels || [];
    var lo = lv.map(blank), hi = lv.map(blank);
    lv.forEach(function (_, l) {
      s.path.x.forEach(function (x, j) {
        if (at(x) >= 0 && at(x) < n) { lo[l][at(x)] = s.path.lo[l][j]; hi[l][at(x)] = s.path.hi[l][j]; }
      });
    });
    if (fc) {
      fc.pred.forEach(function (v, j) { fut[n + j] = v; });
      lv.forEach(function (_, l) {
        fc.lo[l].forEach(function (v, j) { lo[l][n + j] = v; });
        fc.hi[l].forEach(function (v, j) { hi[l][n + j] = v; });
      });
      // The forecast line starts at the last value.
      fut[n - 1] = actual[n - 1];
    }
    var series = [
      { label: "actual", values: actual, stroke: "#222", width: 1.5 },
      { label: "one step ahead (test)", values: step1, stroke: "#1565c0", width: 1.2, dots: true },
      { label: "from the first test origin", values: path, stroke: "#c62828", width: 1.5, dash: [5, 3] },
      { label: "forecast", values: fut, stroke: "#c62828", width: 2 },
    ];
    var bands = [];
    // Widest level first, so the narrower band is drawn over it.
    var order = lv.map(function (_, l) { return l; }).sort(function (a, b) { return lv[b] - lv[a]; });
    order.forEach(function (l, r) {
      series.push({ label: "hi " + lv[l] + "%", values: hi[l], stroke: "rgba(198,40,40,0.35)", width: 0.5 });
      series.push({ label: "lo " + lv[l] + "%", values: lo[l], stroke: "rgba(198,40,40,0.35)", width: 0.5 });
      bands.push([series.length - 1, series.length, BAND[Math.min(lv.length - 1 - r, 2)]]);
    });
    var labels = s.labels.concat(fc ? fc.labels : []);
    chart(box, xs, series, bands, function (x) { return labels[at(x)] || ""; });
    box.setAttribute("data-series", s.id);
  }

  function header() {
    main.appendChild(el("p", { class: "verdict", text: D.verdict }));
  }

  function metricsTable(test, target) {
    var o = test.overall && test.overall[target];
    if (!o) return null;
    var rows = [["model", o.model], ["naive", o.naive], ["seasonal naive", o.seasonal_naive], ["ETS", o.ets], ["Theta", o.theta]]
      .filter(function (r) { return r[1]; })
      .map(function (r) {
        var m = r[1];
        return { cells: [r[0], num(m.mse), num(m.rmse), num(m.mae), num(m.mape, 2), num(m.smape, 2), num(m.mase)], cls: r[0] === "model" ? "chosen" : "" };
      });
    return table(["forecaster", "MSE", "RMSE", "MAE", "MAPE %", "sMAPE %", "MASE"], rows);
  }

  function intervalsTable(test, target) {
    var iv = test.intervals && test.intervals[target];
    if (!iv || !iv.length) return null;
    var adapted = iv.some(function (i) { return i.factor != null; });
    var head = ["level", "coverage %", "mean width", "MSIS", "scored", "refused"];
    if (adapted) head.push(test.panel ? "forecast bands \u00d7 (median over series)" : "forecast bands \u00d7");
    return table(head, iv.map(function (i) {
      var cells = [i.level + " %", num(i.coverage, 1), num(i.mean_width), num(i.msis), String(i.scored), String(i.refused)];
      if (adapted) cells.push(num(i.factor, 2));
      return { cells: cells };
    }));
  }

  function trainReport() {
    header();
    var m = D.metrics, test = m.test;
    var notes = [];
    if (test.period) notes.push("Test period: window origins " + test.period[0] + " \u2026 " + test.period[1] + ".");
    if (test.split) notes.push("Validation from " + test.split.val_start + ", test from " + test.split.test_start + " (" + test.split.mode + ").");
    if (D.targets.length > 1) notes.push("Charts and the series table show the first target, " + D.target + "; the tables above them every target in metrics.json.");
    main.appendChild(el("p", { class: "note", text: notes.join(" ") }));
    section("Scores on the test part (original units)", [metricsTable(test, D.target)]);
    var it = intervalsTable(test, D.target);
    if (it) section("Prediction intervals", [it]);

    if (!D.panel) {
      var box = el("div", { class: "chart", id: "series-chart", role: "img", "aria-label": "history, test predictions and forecast" });
      section("Forecast", [box, el("p", { class: "note", text: "Actual values, the one-step predictions over the test part, the forecast from the first test origin with its bands, and the forecast past the data with its bands." })]);
      seriesChart(box, D.series[0]);
    } else {
      panelSection();
    }

    var loss = D.loss;
    if (loss && loss.epoch.length) {
      var lbox = el("div", { class: "chart", id: "loss-chart", role: "img", "aria-label": "training and validation loss by epoch" });
      section("Training", [lbox, el("p", { class: "note", text: "Loss by epoch; the weights of epoch " + loss.best_epoch + " were kept." })]);
      chart(lbox, loss.epoch, [
        { label: "training loss", values: loss.train, stroke: "#1565c0" },
        { label: "validation loss", values: loss.val, stroke: "#c62828" },
      ], [], function (x) { return "epoch " + x; }, 240, "epoch");
    } else {
      section("Training", [el("p", { class: "note", text: "No network was trained: the kept model is statistical (" + ((m.normalize && m.normalize.chosen) || "") + ")." })]);
    }

    var sel = m.normalize;
    if (sel && sel.candidates) {
      var best = sel.chosen;
      section("What auto chose", [
        el("p", { class: "note", text: "Asked for: " + sel.requested + "; kept: " + sel.chosen + " (by validation MASE over every validation origin; ties keep the earlier)." }),
        table(["candidate", "transform", "validation MASE", "validation MSE", "origins", "epochs", "best epoch"], sel.candidates.map(function (c) {
          var t = c.transform && c.transform.kind ? c.transform.kind : "";
          var chosen = c.mode === best && (!sel.chosen_transform || !sel.chosen_transform.kind || sel.chosen_transform.kind === t);
          return { cells: [c.mode + ((c.calendar && c.calendar.length) ? " + calendar" : ""), t, num(c.val_mase, 4), num(c.val_mse, 6), String(c.val_origins), String(c.epochs), String(c.best_epoch)], cls: chosen ? "chosen" : "" };
        })),
      ]);
    }
    var comb = sel && sel.combination;
    if (comb) {
      var net = comb.network || "the network";
      var instead = comb.instead === undefined || comb.instead === null ? "" : ", the statistical candidate kept otherwise (" + sel.chosen + ") " + num(comb.instead, 4);
      var verdictText = comb.kept ? "the mean forecasts." : (comb.instead === undefined || comb.instead === null ? net + " alone forecasts." : sel.chosen + " forecasts.");
      section("Combination", [el("p", { class: "note", text: "--combine auto: validation MASE of " + net + " alone " + num(comb.alone, 4) + instead + ", their mean with " + comb["with"] + " " + num(comb.combined, 4) + "; " + verdictText })]);
    }
    var per = sel && sel.per_series;
    if (per && per.series) {
      var count = {};
      per.series.forEach(function (c) { count[c.chosen] = (count[c.chosen] || 0) + 1; });
      var cbox = el("div", { class: "chart", id: "choice-chart", role: "img", "aria-label": "each option's validation MASE per series, sorted" });
      section("The model of each series", [
        el("p", { class: "note", text: "--per-series choose: per series, the option with the lowest w \u00b7 own validation MASE + (1 \u2212 w) \u00b7 the panel's mean, w = origins / (origins + horizon); each series' scores are in metrics.json (normalize.per_series), its model in the series table." }),
        table(["option", "series", "panel validation MASE"], per.options.map(function (o, i) {
          return { cells: [o + (i === 0 ? " (kept)" : ""), String(count[o] || 0), num(per.panel[i], 4)], cls: i === 0 ? "chosen" : "" };
        })),
        cbox,
        el("p", { class: "note", text: "Each option's own validation MASE on every series, sorted from best to worst: where the lines cross, different series are best served by different options." }),
      ]);
      // The distribution of the scores behind the choice: each option's per-series validation
      // MASE, sorted (series without a score for an option end its line early).
      var n = per.series.length;
      var colors = ["#1565c0", "#c62828", "#2e7d32", "#6a1b9a", "#ef6c00"];
      chart(cbox, per.series.map(function (_, i) { return i + 1; }), per.options.map(function (o, i) {
        var v = per.series.map(function (c) { return c.scores[i]; })
          .filter(function (x) { return x !== null && x !== undefined; })
          .sort(function (a, b) { return a - b; });
        while (v.length < n) v.push(null);
        return { label: o + (i === 0 ? " (kept)" : ""), values: v, stroke: colors[i % colors.length], width: i === 0 ? 2.5 : 1.5 };
      }), [], function (x) { return "rank " + x; }, 240, "rank");
    }
    if (m.refit) {
      section("Rows each model saw", [
        table(["model", "rows", "row count", "before", "epochs"], m.refit.models.map(function (r) {
          return { cells: [r.role, r.rows, String(r.n_rows), r.before || "(every row)", String(r.epochs)] };
        })),
        el("p", { class: "note", text: "--refit " + m.refit.refit + (m.refit.skipped ? ": " + m.refit.skipped : "") }),
      ]);
    }
    if (test.warnings && test.warnings.length) section("Warnings", test.warnings.map(function (w) { return el("p", { text: w }); }));
  }

  // A panel: a searchable, sortable table of every series; choosing one draws its chart.
  function panelSection() {
    var lv = D.levels || [];
    var cols = [
      { key: "id", label: "series", get: function (s) { return s.id; }, text: true },
      { key: "model", label: "MASE", get: function (s) { return s.mase && s.mase.model; } },
      { key: "naive", label: "naive", get: function (s) { return s.mase && s.mase.naive; } },
      { key: "seasonal_naive", label: "seasonal naive", get: function (s) { return s.mase && s.mase.seasonal_naive; } },
      { key: "ets", label: "ETS", get: function (s) { return s.mase && s.mase.ets; } },
      { key: "theta", label: "Theta", get: function (s) { return s.mase && s.mase.theta; } },
    ];
    lv.forEach(function (l, i) {
      cols.push({ key: "cov" + i, label: "coverage " + l + " %", get: function (s) { return s.coverage[i]; }, digits: 1 });
    });
    cols.push({ key: "by", label: "forecast by", get: function (s) { return s.model; }, text: true });
    var state = { key: "model", desc: true, filter: "" };
    var box = el("div", { class: "chart", id: "series-chart", role: "img", "aria-label": "the chosen series' history, test predictions and forecast" });
    var title = el("h3", { id: "series-title" });
    var search = el("input", { type: "search", id: "series-search", placeholder: "filter series by id", "aria-label": "filter series by id" });
    var count = el("span", { class: "note", id: "series-count" });
    var tbody = el("tbody");
    var head = el("tr", {}, cols.map(function (c) {
      var b = el("button", { type: "button", text: c.label, "data-key": c.key, onclick: function () {
        state.desc = state.key === c.key ? !state.desc : !c.text;
        state.key = c.key;
        render();
      } });
      return el("th", { scope: "col" }, [b]);
    }));
    var tableBox = el("div", { class: "table-box" }, [el("table", { id: "series-table" }, [el("thead", {}, [head]), tbody])]);
    section("Every series (" + D.series.length + ")", [
      el("p", { class: "note", text: "Test MASE of the model and of each baseline per series, interval coverage, and what forecast it. Choose a series to see its chart; the column headers sort." }),
      el("div", { class: "controls" }, [search, count]),
      tableBox, title, box,
    ]);
    var selected = null;
    function select(id, push) {
      var s = D.series.find(function (x) { return x.id === id; });
      if (!s) return false;
      selected = id;
      title.textContent = "Series " + id;
      seriesChart(box, s);
      Array.prototype.forEach.call(tbody.children, function (tr) { tr.className = tr.getAttribute("data-id") === id ? "selected" : ""; });
      if (push) history.replaceState(null, "", "#series=" + encodeURIComponent(id));
      return true;
    }
    function render() {
      var f = state.filter.toLowerCase();
      var col = cols.find(function (c) { return c.key === state.key; });
      var rows = D.series.filter(function (s) { return s.id.toLowerCase().indexOf(f) >= 0; });
      rows.sort(function (a, b) {
        var x = col.get(a), y = col.get(b);
        if (x === null || x === undefined) return 1;
        if (y === null || y === undefined) return -1;
        var c = col.text ? String(x).localeCompare(String(y)) : x - y;
        return state.desc ? -c : c;
      });
      tbody.innerHTML = "";
      rows.forEach(function (s) {
        var tr = el("tr", { "data-id": s.id }, cols.map(function (c, i) {
          if (i === 0) return el("td", {}, [el("button", { type: "button", text: s.id, onclick: function () { select(s.id, true); } })]);
          var v = c.get(s);
          return el("td", { text: c.text ? (v || "") : num(v, c.digits) });
        }));
        if (s.id === selected) tr.className = "selected";
        tbody.appendChild(tr);
      });
      count.textContent = rows.length + " of " + D.series.length + " series";
    }
    search.addEventListener("input", function () { state.filter = search.value; render(); });
    render();
    function fromHash() {
      var m = /^#series=(.*)$/.exec(location.hash);
      return m ? decodeURIComponent(m[1]) : null;
    }
    window.addEventListener("hashchange", function () { var id = fromHash(); if (id) select(id, false); });
    var first = fromHash();
    if (!(first && select(first, false))) {
      var top = tbody.querySelector("tr");
      if (top) select(top.getAttribute("data-id"), false);
    }
  }

  function backtestReport() {
    header();
    section("Scores over every fold (original units)", [metricsTable(D.metrics.test, D.target), intervalsTable(D.metrics.test, D.target)]);
    var box = el("div", { class: "chart", id: "folds-chart", role: "img", "aria-label": "test MASE per fold" });
    var levels = (D.metrics.test.intervals && D.metrics.test.intervals[D.target] || []).map(function (i) { return i.level; });
    var head = ["fold", "origin", "windows", "MASE", "naive", "seasonal naive", "ETS"];
    levels.forEach(function (l) { head.push("coverage " + l + " %"); });
    head.push("model");
    section("Folds", [
      table(head, D.folds.map(function (f) {
        var cells = [String(f.fold), f.origin, String(f.windows), num(f.model), num(f.naive), num(f.seasonal_naive), num(f.ets)];
        levels.forEach(function (l, i) { cells.push(num((f.coverage || [])[i], 1)); });
        cells.push(f.chosen);
        return { cells: cells };
      })),
      box,
    ]);
    var xs = D.folds.map(function (f) { return f.fold; });
    chart(box, xs, [
      { label: "model", values: D.folds.map(function (f) { return f.model; }), stroke: "#c62828", dots: true },
      { label: "seasonal naive", values: D.folds.map(function (f) { return f.seasonal_naive; }), stroke: "#2e7d32", dots: true },
      { label: "ETS", values: D.folds.map(function (f) { return f.ets; }), stroke: "#ef6c00", dots: true, span: true },
    ], [], function (x) { var f = D.folds[x - 1]; return f ? f.origin : ""; }, 240, "fold origin");
  }

  function tuneReport() {
    header();
    main.appendChild(el("p", { class: "note" }, [document.createTextNode("The best model's own report: "), el("a", { href: "best/report.html", text: "best/report.html" })]));
    var box = el("div", { class: "chart", id: "trials-chart", role: "img", "aria-label": "validation MASE per trial" });
    section("Trials", [
      table(["trial", "lookback", "layers", "dropout", "learning rate", "batch", "normalize", "rung", "epochs", "validation MASE", "error"], D.trials.map(function (t) {
        return { cells: [String(t.trial), String(t.lookback), t.layers, num(t.dropout, 2), Number(t.learning_rate).toExponential(2), String(t.batch_size), t.normalize, String(t.rung), String(t.epochs), num(t.val_mase, 4), t.error || ""], cls: t.trial === D.best ? "chosen" : "" };
      })),
      box,
    ]);
    chart(box, D.trials.map(function (t) { return t.trial; }), [
      { label: "validation MASE", values: D.trials.map(function (t) { return t.val_mase; }), stroke: "#c62828", dots: true, width: 0 },
    ], [], function (x) { return "trial " + x; }, 240, "trial");
  }

  if (D.kind === "train") trainReport();
  else if (D.kind === "backtest") backtestReport();
  else if (D.kind === "tune") tuneReport();
  document.body.setAttribute("data-ms", String(Math.round(performance.now())));
  document.body.setAttribute("data-ready", "1");
})();
