/* lowfi dashboard: polls the JSON API once a second and updates the page in place. */
(function () {
  "use strict";
  var POLL_MS = 1000;
  var COLORS = { ok: "#1f77b4", stopped: "#ff7f0e", failed: "#d62728", running: "#2ca02c", cancelled: "#7f7f7f" };
  var selected = null;          // Set of run ids shown side by side (null: not chosen yet)
  var panels = {};              // run id -> {el, seq, sort, charts}
  window.lowfiDashboard = { panels: panels, polls: 0 };

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }
  function fmt(v) {
    if (v === null || v === undefined) return "";
    if (typeof v === "number") return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)));
    if (Array.isArray(v)) return "(" + v.map(fmt).join(", ") + ")";
    return String(v);
  }
  function getJSON(url) {
    return fetch(url, { cache: "no-store" }).then(function (r) {
      if (!r.ok) throw new Error(url + ": HTTP " + r.status);
      return r.json();
    });
  }

  // ------------------------------------------------------------------ runs table
  function renderRuns(runs) {
    if (selected === null && runs.length) {
      selected = new Set(runs.slice(0, 3).map(function (r) { return r.id; }));
    }
    var body = document.querySelector("#runs tbody");
    body.innerHTML = "";
    runs.forEach(function (r) {
      var c = r.counts || {};
      var tr = el("tr", { "data-run": r.id });
      var td = el("td");
      var box = el("input", { type: "checkbox", "data-testid": "select-" + r.id });
      box.checked = selected !== null && selected.has(r.id);
      box.addEventListener("change", function () {
        if (box.checked) selected.add(r.id); else selected.delete(r.id);
        tick();
      });
      td.appendChild(box); tr.appendChild(td);
      tr.appendChild(el("td", { class: "text", title: r.path }, r.name));
      tr.appendChild(el("td", { class: "text" }, (r.settings || {}).optimizer || ""));
      [r.n_trials, c.ok, c.stopped, c.failed, c.running].forEach(function (v) { tr.appendChild(el("td", null, fmt(v || 0))); });
      tr.appendChild(el("td", null, r.best ? ((r.settings || {}).direction === "maximize" ? "score " : "") + fmt(r.best.loss) : ""));
      tr.appendChild(el("td", { class: "text" }, r.error || r.stop_reason || (c.running ? "running" : "")));
      var lt = el("td", { class: "text" });
      (r.links || []).forEach(function (l) { var a = el("a", { href: l.url, target: "_blank" }, l.name); lt.appendChild(a); lt.appendChild(document.createTextNode(" ")); });
      tr.appendChild(lt);
      body.appendChild(tr);
    });
  }

  // ------------------------------------------------------------------ one run's panel
  function panelFor(id) {
    if (panels[id]) return panels[id];
    var p = el("div", { class: "panel", "data-run": id, "data-testid": "panel-" + id });
    p.innerHTML =
      '<h2 class="name"></h2><div class="summary" data-testid="summary"></div>' +
      '<h3>Incumbent against budget used</h3><div class="chart inc" data-testid="incumbent-chart" data-points="0"></div>' +
      '<h3>Budget per rung</h3><table class="grid rungs" data-testid="rungs"></table>' +
      '<h3>Learning curves (running trials first)</h3><div class="chart curves" data-testid="curves-chart" data-series="0"></div>' +
      '<h3>Trials</h3><p class="hint">Click a column title to sort.</p><div class="scroll"><table class="grid trials" data-testid="trials"></table></div>' +
      '<h3>Failures</h3><div class="failures" data-testid="failures"></div>';
    document.getElementById("panels").appendChild(p);
    var entry = { el: p, seq: -1, sort: { col: 0, dir: 1 }, charts: {}, view: null };
    panels[id] = entry;
    if (window.ResizeObserver) {   // panels share the width: keep each chart inside its panel
      new ResizeObserver(function () {
        Object.values(entry.charts).forEach(function (ch) {
          if (ch) ch.setSize({ width: chartWidth(entry), height: 220 });
        });
      }).observe(p);
    }
    return entry;
  }

  function chartWidth(p) { return Math.max(320, p.el.clientWidth - 40); }

  function drawIncumbent(p, v) {
    var host = p.el.querySelector(".chart.inc");
    if (p.charts.inc) { p.charts.inc.destroy(); p.charts.inc = null; }
    host.innerHTML = "";
    var x = v.incumbent.budget;
    if (!x.length) { host.appendChild(el("p", { class: "empty" }, "no finished trials yet")); host.setAttribute("data-points", "0"); return; }
    var stepped = uPlot.paths.stepped({ align: 1 });
    var opts = {
      width: chartWidth(p), height: 220,
      scales: { x: { time: false } },
      axes: [{ label: "budget used" }, { label: v.value_name || "loss" }],
      series: [
        { label: "budget used" },
        { label: "incumbent", stroke: "#000", width: 2, paths: stepped, spanGaps: false },
        { label: "best at any budget", stroke: "#888", dash: [5, 5], width: 1, paths: stepped },
      ],
    };
    p.charts.inc = new uPlot(opts, [x, v.incumbent.best_full, v.incumbent.best_any], host);
    host.setAttribute("data-points", String(x.length));
  }

  function drawCurves(p, v) {
    var host = p.el.querySelector(".chart.curves");
    if (p.charts.curves) { p.charts.curves.destroy(); p.charts.curves = null; }
    host.innerHTML = "";
    var curves = v.curves || [];
    host.setAttribute("data-series", String(curves.length));
    host.setAttribute("data-running", String(curves.filter(function (c) { return c.status === "running"; }).length));
    if (!curves.length) { host.appendChild(el("p", { class: "empty" }, "no reported learning curves")); return; }
    var tables = curves.map(function (c) {
      return [c.points.map(function (q) { return q[0]; }), c.points.map(function (q) { return q[1]; })];
    });
    var data = tables.length === 1 ? tables[0] : uPlot.join(tables);
    var series = [{ label: "step" }].concat(curves.map(function (c) {
      return { label: "trial " + c.trial + " (" + c.status + ")", stroke: COLORS[c.status] || "#000",
               width: c.status === "running" ? 2 : 1, spanGaps: true };
    }));
    var opts = { width: chartWidth(p), height: 220, scales: { x: { time: false } },
                 axes: [{ label: "step" }, { label: "reported value" }], series: series,
                 legend: { show: curves.length <= 12 } };
    p.charts.curves = new uPlot(opts, data, host);
  }

  function renderRungs(p, v) {
    var t = p.el.querySelector("table.rungs");
    t.innerHTML = "<thead><tr><th>budget</th><th>trials</th><th>ok</th><th>stopped</th><th>failed</th><th>running</th><th>cancelled</th><th>budget used</th></tr></thead>";
    var b = el("tbody");
    v.rungs.forEach(function (r) {
      var tr = el("tr");
      [r.budget, r.trials, r.ok, r.stopped, r.failed, r.running, r.cancelled || 0, r.budget_used].forEach(function (x) { tr.appendChild(el("td", null, fmt(x))); });
      b.appendChild(tr);
    });
    t.appendChild(b);
  }

  function cmp(a, b) {
    if (a === b) return 0;
    if (a === null || a === undefined || a === "") return 1;
    if (b === null || b === undefined || b === "") return -1;
    if (typeof a === "number" && typeof b === "number") return a - b;
    return String(a).localeCompare(String(b));
  }

  function renderTrials(p, v) {
    var t = p.el.querySelector("table.trials");
    var cols = v.columns, rows = v.trials.slice();
    var s = p.sort;
    rows.sort(function (a, b) {
      var c = cmp(a[s.col], b[s.col]);
      return c === 0 ? 0 : (a[s.col] === null || a[s.col] === "" ? 1 : (b[s.col] === null || b[s.col] === "" ? -1 : s.dir * c));
    });
    t.innerHTML = "";
    var head = el("thead"), hr = el("tr");
    cols.forEach(function (c, i) {
      var th = el("th", null, c + (i === s.col ? (s.dir > 0 ? " ▲" : " ▼") : ""));
      th.addEventListener("click", function () {
        p.sort = { col: i, dir: p.sort.col === i ? -p.sort.dir : 1 };
        renderTrials(p, p.view);
      });
      hr.appendChild(th);
    });
    head.appendChild(hr); t.appendChild(head);
    var si = cols.indexOf("status"), ei = cols.indexOf("error");
    var body = el("tbody");
    rows.forEach(function (r) {
      var tr = el("tr", { "data-status": r[si] });
      r.forEach(function (x, i) {
        var td = el("td", i === si || i === ei || typeof x === "string" ? { class: "text" } : null, fmt(x));
        if (i === si) td.className = "text s-" + x;
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    t.appendChild(body);
    t.setAttribute("data-rows", String(rows.length));
  }

  function renderFailures(p, v) {
    var f = p.el.querySelector(".failures");
    f.innerHTML = "";
    if (!v.failures.length) { f.appendChild(el("p", { class: "empty" }, "no failed trials")); return; }
    v.failures.forEach(function (x) {
      var lines = x.error.trim().split("\n");
      var d = el("details", { "data-trial": x.trial });
      d.appendChild(el("summary", null, "trial " + x.trial + " at budget " + fmt(x.budget) + ": " + lines[lines.length - 1]));
      d.appendChild(el("pre", { class: "tb" }, x.error));
      f.appendChild(d);
    });
  }

  function renderPanel(v) {
    var p = panelFor(v.id);
    if (v.seq === p.seq && p.view) return;
    p.view = v; p.seq = v.seq;
    p.el.querySelector(".name").textContent = v.name;
    var c = v.counts || {}, st = v.settings || {};
    var parts = [(st.optimizer || "run") + ", budgets " + fmt(st.min_budget) + ".." + fmt(st.max_budget),
                 v.n_trials + " trials: " + (c.ok || 0) + " ok, " + (c.stopped || 0) + " stopped, " + (c.failed || 0) + " failed, " + (c.running || 0) + " running"];
    if (v.best) parts.push("incumbent: trial " + v.best.trial + ", " + (v.value_name || "loss") + " " + fmt(v.best.loss) +
                           (v.best.below_max_budget ? " (at budget " + fmt(v.best.budget) + ": no trial reached max_budget yet)" : ""));
    parts.push(v.stop_reason ? "stopped: " + v.stop_reason : (v.error || ((c.running || 0) ? "running" : "")));
    p.el.querySelector(".summary").textContent = parts.filter(Boolean).join(" · ");
    drawIncumbent(p, v);
    renderRungs(p, v);
    drawCurves(p, v);
    renderTrials(p, v);
    renderFailures(p, v);
    p.el.setAttribute("data-seq", String(v.seq));
  }

  // ------------------------------------------------------------------ polling
  var busy = false;
  function tick() {
    if (busy) return Promise.resolve();
    busy = true;
    return getJSON("api/runs").then(function (runs) {
      renderRuns(runs);
      Object.keys(panels).forEach(function (id) {
        if (!selected.has(id)) {
          Object.values(panels[id].charts).forEach(function (ch) { if (ch) ch.destroy(); });
          panels[id].el.remove(); delete panels[id];
        }
      });
      var ids = runs.map(function (r) { return r.id; }).filter(function (id) { return selected.has(id); });
      return Promise.all(ids.map(function (id) { return getJSON("api/runs/" + id); })).then(function (views) {
        views.forEach(renderPanel);
        window.lowfiDashboard.polls += 1;
        document.getElementById("status").textContent = "updated " + new Date().toLocaleTimeString() + " · " + runs.length + " run(s)";
      });
    }).catch(function (e) {
      document.getElementById("status").textContent = "cannot reach the dashboard server: " + e.message;
    }).finally(function () { busy = false; });
  }
  function loop() { tick().then(function () { setTimeout(loop, POLL_MS); }); }
  loop();
})();
