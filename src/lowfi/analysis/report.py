"""``lowfi report``: PNG plots plus a markdown and an HTML page for a stored run or a bench
folder.

A bench folder (``lowfi bench --out DIR``) gives, per benchmark: regret (or incumbent loss)
against cumulative budget and simulated wall clock with standard-error bands, the lecture's
figure set (random search vs Hyperband, random search vs BO, BOHB vs both), budget allocation
per budget level and per bracket, and a table of final regrets with standard errors and of
optimizer overhead. A stored run (``RUN.db``, or a trials table as ``.jsonl``/``.csv``) gives
the figures of :mod:`lowfi.plot` (incumbent against budget and time, budget per rung, learning
curves by status and stopping rule, fANOVA importance, slices, parallel coordinates, or the
Pareto front of a multi-objective run), counts of completed, stopped and failed trials, and a
sortable table of every trial with its status, budget reached and epochs trained.
"""

from __future__ import annotations

import html
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lowfi.analysis.trajectory import final_values, incumbent_trajectory

__all__ = ["bench_summary", "load_run", "report", "trials_table"]


def _fmt(mean: float, se: float) -> str:
    if not math.isfinite(mean):
        return "-"
    if not math.isfinite(se):
        return f"{mean:.3g}"
    if se < 1e-12 * max(1.0, abs(mean)):  # identical values across seeds
        se = 0.0
    return f"{mean:.3g} ± {se:.2g}"


def bench_summary(meta: dict[str, Any], df: pd.DataFrame, at: Sequence[float] = (10, 25, 50)
                  ) -> dict[str, pd.DataFrame]:
    """Per benchmark, a table of regret at ``at`` x max_budget (mean ± standard error over
    seeds) and optimizer overhead per evaluation (median / mean, ms)."""
    out: dict[str, pd.DataFrame] = {}
    total = float(meta.get("budget", max(at)))
    points = [a for a in at if a <= total + 1e-9] or [total]
    for bname, g in df.groupby("benchmark", sort=False):
        bm = meta["benchmarks"][bname]
        rows = []
        for opt, go in g.groupby("optimizer", sort=True):
            trajs = [incumbent_trajectory(gs, bm["max_budget"], bm.get("optimum"), bm.get("f_rand"))
                     for _, gs in go.groupby("seed")]
            row: dict[str, Any] = {"optimizer": opt, "seeds": len(trajs),
                                   "evaluations per run": int(round(len(go) / len(trajs)))}
            for a in points:
                m, s, _ = final_values(trajs, a * bm["max_budget"])
                row[f"@{a:g}x"] = _fmt(m, s)
                row[f"_mean@{a:g}x"] = m
            ov = go["overhead"].to_numpy(float) * 1e3 if "overhead" in go else np.array([np.nan])
            row["overhead ms (median / mean)"] = f"{np.nanmedian(ov):.3g} / {np.nanmean(ov):.3g}"
            if "wallclock" in go:
                wall = go.groupby("seed")["wallclock"].max().mean()
                row["simulated wall clock (s)"] = f"{wall:.4g}"
            rows.append(row)
        tab = pd.DataFrame(rows)
        last = f"_mean@{points[-1]:g}x"
        tab = tab.sort_values(last, na_position="last").drop(
            columns=[c for c in tab.columns if c.startswith("_mean")])
        out[str(bname)] = tab.reset_index(drop=True)
    return out


# ------------------------------------------------------------------ page building


def _md_table(df: pd.DataFrame) -> str:
    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for rec in df.itertuples(index=False):
        lines.append("| " + " | ".join(str(v) for v in rec) + " |")
    return "\n".join(lines)


#: click a column title of a ``table.sortable`` to sort by it (numbers numerically), again to
#: reverse; plain JavaScript, so the report needs no network
_SORT_JS = """
document.querySelectorAll('table.sortable').forEach(function (t) {
  t.querySelectorAll('thead th').forEach(function (th, i) {
    th.addEventListener('click', function () {
      var body = t.tBodies[0], rows = Array.from(body.rows);
      var dir = th.dataset.dir === 'asc' ? -1 : 1; th.dataset.dir = dir > 0 ? 'asc' : 'desc';
      rows.sort(function (a, b) {
        var x = a.cells[i].textContent.trim(), y = b.cells[i].textContent.trim();
        var nx = parseFloat(x), ny = parseFloat(y);
        if (x === '' && y !== '') return 1; if (y === '' && x !== '') return -1;
        if (!isNaN(nx) && !isNaN(ny)) return dir * (nx - ny);
        return dir * x.localeCompare(y);
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
"""


class _Page:
    def __init__(self, title: str):
        self.title = title
        self.blocks: list[tuple[str, Any]] = []

    def add(self, kind: str, value: Any) -> None:
        self.blocks.append((kind, value))

    def write(self, folder: Path, stem: str = "report") -> tuple[Path, Path]:
        md = [f"# {self.title}", ""]
        body = [f"<h1>{html.escape(self.title)}</h1>"]
        for kind, v in self.blocks:
            if kind == "h2":
                md += [f"## {v}", ""]
                body.append(f"<h2>{html.escape(v)}</h2>")
            elif kind == "p":
                md += [v, ""]
                body.append(f"<p>{html.escape(v)}</p>")
            elif kind == "table":
                md += [_md_table(v), ""]
                body.append(v.to_html(index=False, border=0, classes="t sortable",
                                      na_rep="", float_format=lambda x: f"{x:.6g}"))
            elif kind == "img":
                rel = os.path.relpath(v, folder)
                md += [f"![{Path(rel).stem}]({rel})", ""]
                body.append(f'<img src="{html.escape(rel)}" alt="{html.escape(Path(rel).stem)}">')
        style = ("body{font-family:sans-serif;max-width:1150px;margin:2em auto;padding:0 1em}"
                 "img{max-width:100%}table.t{border-collapse:collapse;font-size:14px}"
                 "table.t td,table.t th{border-bottom:1px solid #ddd;padding:3px 8px}"
                 "table.sortable th{cursor:pointer;background:#f4f4f4}")
        page = ("<!DOCTYPE html><html><head><meta charset='utf-8'>"
                f"<title>{html.escape(self.title)}</title><style>{style}</style></head><body>"
                + "\n".join(body) + f"<script>{_SORT_JS}</script></body></html>")
        mdp, htp = folder / f"{stem}.md", folder / f"{stem}.html"
        mdp.write_text("\n".join(md))
        htp.write_text(page)
        return mdp, htp


# ------------------------------------------------------------------ loading


def _tuple_of_numbers(v: Any) -> Any:
    """``"(0.1, 0.2)"`` or ``"[0.1, 0.2]"`` (how a CSV keeps a tuple of losses) as a tuple."""
    if isinstance(v, str) and v.strip()[:1] in "([" and v.strip()[-1:] in ")]":
        try:
            return tuple(float(x) for x in v.strip()[1:-1].split(",") if x.strip())
        except ValueError:
            return v
    return v


def load_run(path: str | os.PathLike) -> pd.DataFrame:
    """Trials of a stored run: a SQLite journal (``lowfi.storage.load_trials``), or a trials
    table saved as ``.jsonl`` / ``.csv``."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"path: {str(p)!r} does not exist")
    if p.suffix == ".jsonl":
        with open(p) as fh:
            recs = [json.loads(line) for line in fh if line.strip()]
        df = pd.DataFrame(recs)
        if "config" in df.columns:  # bench records: flatten config dicts
            cfg = pd.json_normalize(df["config"].tolist()).add_prefix("config.")
            df = pd.concat([df.drop(columns="config"), cfg], axis=1)
        return df
    if p.suffix == ".csv":
        df = pd.read_csv(p)
        for col in ("loss", "score"):  # a multi-objective run's tuples were written as text
            if col in df.columns and not pd.api.types.is_numeric_dtype(df[col]):
                df[col] = [_tuple_of_numbers(v) for v in df[col]]
        return df
    from lowfi.storage import load_trials

    return load_trials(p)


# ------------------------------------------------------------------ reports


def report(path: str | os.PathLike, out: str | os.PathLike | None = None,
           img_prefix: str = "") -> Path:
    """Write plots and ``report.md`` / ``report.html`` for a bench folder or a stored run.

    Parameters
    ----------
    path
        A bench folder (holding ``meta.json``) or a stored run (``RUN.db``, ``.jsonl``,
        ``.csv``).
    out
        Output folder; default ``<folder>/report`` or ``<RUN>_report``.
    img_prefix
        Prefix of the PNG file names (e.g. ``"bench_"``).

    Returns
    -------
    pathlib.Path
        The markdown file written.
    """
    if out is not None:  # the folder, or the nearest part of it that exists, must be one
        for q in (Path(out), *Path(out).parents):
            if q.exists():
                if not q.is_dir():
                    raise ValueError(f"out: {os.fspath(out)!r} is not a folder ({str(q)!r} is "
                                     "a file); give a folder for the report")
                break
    text = os.fspath(path)
    if "://" in text:  # a storage URL, as lowfi show and the plots take
        from urllib.parse import urlparse

        local = Path(text[len("sqlite:///"):]) if text.startswith("sqlite:///") else \
            Path(urlparse(text).path.strip("/") or "run")
        default = local.with_name(local.stem + "_report")
        return _run_report(text, Path(out) if out else default, img_prefix, name=local.name)
    p = Path(path)
    if p.is_dir():
        if not (p / "meta.json").exists():
            raise FileNotFoundError(
                f"path: {str(p)!r} is a folder without meta.json; pass a `lowfi bench` output "
                "folder or a stored run file (RUN.db); `lowfi show DIR` lists the runs in a "
                "folder"
            )
        return _bench_report(p, Path(out) if out else p / "report", img_prefix)
    suffix = p.suffix.lstrip(".")  # x.csv and x.jsonl do not share one report folder
    default = p.with_name(p.stem + ("_report" if suffix in ("db", "") else f"_{suffix}_report"))
    return _run_report(p, Path(out) if out else default, img_prefix)


def _bench_report(folder: Path, out: Path, prefix: str) -> Path:
    from lowfi.analysis import plots
    from lowfi.analysis.bench import load_bench

    out.mkdir(parents=True, exist_ok=True)
    meta, df = load_bench(folder)
    page = _Page("lowfi bench report")
    page.add("p", f"Command: `{meta.get('command', '')}`. Budget per run: "
                  f"{meta.get('budget')} x max_budget; simulated workers: {meta.get('workers')}; "
                  f"seeds: {len(meta.get('seeds', []))}.")
    page.add("p", "Incumbent = lowest observed loss among evaluations at max_budget (before any, "
                  "the best at the highest budget seen); its value is the benchmark's noise-free "
                  "test loss where it has one. Normalized regret = (f - f*) / (f_rand - f*). "
                  "Bands: ±1 standard error over seeds. Overhead = time in ask + tell per "
                  "evaluation.")
    for name, why in (meta.get("skipped") or {}).items():
        page.add("p", f"Skipped benchmark {name}: {why}")
    if df.empty:
        page.add("p", "No runs found.")
        return page.write(out)[0]
    tables = bench_summary(meta, df)
    for bname, g in df.groupby("benchmark", sort=False):
        bm = meta["benchmarks"][bname]
        page.add("h2", str(bname))
        page.add("p", f"budgets {bm['min_budget']:g}..{bm['max_budget']:g}, eta {bm['eta']:g}, "
                      f"optimum {bm.get('optimum')}, f_rand {bm.get('f_rand')}")
        page.add("table", tables[str(bname)])
        safe = str(bname).replace("/", "_")
        page.add("img", plots.bench_figure(g, bm, str(bname), out / f"{prefix}{safe}.png"))
        fs = plots.figure_set(g, bm, f"{bname}: the lecture's comparisons",
                              out / f"{prefix}{safe}_figset.png")
        if fs is not None:
            page.add("img", fs)
        page.add("img", plots.allocation_figure(g, bm, f"{bname}: budget allocation",
                                                out / f"{prefix}{safe}_allocation.png"))
    return page.write(out)[0]


def _run_report(path: Path | str, out: Path, prefix: str, name: str | None = None) -> Path:
    from lowfi import plot as lp
    from lowfi.analysis.rundata import load_run_data, status_of

    data = load_run_data(path)
    df = data.trials
    out.mkdir(parents=True, exist_ok=True)
    page = _Page(f"lowfi run report: {name or Path(path).name}")
    if df.empty or "budget" not in df.columns:
        page.add("p", "The run has no trials.")
        return page.write(out)[0]
    st = status_of(df)
    counts = {s: int((st == s).sum()) for s in ("ok", "stopped", "failed", "running",
                                                 "cancelled")}
    table = trials_table(data)
    from lowfi.analysis.rundata import budget_used

    used = float(np.nansum(budget_used(df)))  # checkpoint continuations from where they resumed
    max_budget = data.max_budget
    parts = [f"{counts['ok']} completed", f"{counts['stopped']} stopped early by a stopping "
             "rule", f"{counts['failed']} failed"]
    parts += [f"{counts[s]} {s}" for s in ("running", "cancelled") if counts[s]]
    page.add("p", f"{len(df)} trials: " + ", ".join(parts) + f". Budgets "
                  f"{df['budget'].min():g}..{df['budget'].max():g}; budget used {used:g} "
                  f"({used / max_budget:.3g} x the highest budget {max_budget:g}).")
    if data.stop_reason:
        page.add("p", f"The run stopped: {data.stop_reason}.")
    tid, below_max = lp.incumbent_trial(data)
    below = f" (no trial reached max_budget {max_budget:g} yet)" if below_max else ""
    if tid is not None:
        best = df[df["trial_id"] == tid].iloc[0]
        if best is not None:
            cfg = {c[7:]: (best[c].item() if isinstance(best[c], np.generic) else best[c])
                   for c in df.columns if c.startswith("config.")
                   and not (isinstance(best[c], float) and math.isnan(best[c]))}
            name, sign = lp._loss_label(data).split()[0], lp._sign(data)
            loss = best["loss"]
            shown = (f"objectives ({', '.join(f'{sign * float(x):.6g}' for x in loss)})"
                     if isinstance(loss, list | tuple) else f"{name} {sign * float(loss):.6g}")
            page.add("p", f"Incumbent: trial {tid}, {shown} at budget "
                          f"{float(best['budget']):g}{below}, config {cfg}")

    def fig(name: str, f: Any) -> None:
        p = out / f"{prefix}{name}.png"
        f.savefig(p, dpi=110)
        page.add("img", p)

    page.add("h2", "Incumbent")
    fig("incumbent", lp.plot_incumbent(data, x="budget"))
    try:
        fig("incumbent_time", lp.plot_incumbent(data, x="time"))
    except ValueError:  # a trials table without times
        pass
    page.add("h2", "Budget per rung")
    fig("allocation", lp.plot_budget_allocation(data))
    page.add("h2", "Learning curves")
    fig("curves", lp.plot_learning_curves(data))
    multi = df["loss"].map(lambda v: isinstance(v, list | tuple)).any()
    if multi:
        page.add("h2", "Pareto front")
        fig("pareto", lp.plot_pareto_front(data))
    else:
        imp = lp.param_importances(data)
        page.add("h2", "Parameter importance (fANOVA) and slices")
        if len(imp):
            page.add("p", f"Main effects at budget {imp.attrs['budget']:g} from "
                          f"{imp.attrs['n_trials']} completed trials.")
            page.add("table", pd.DataFrame({"parameter": imp.index,
                                            "importance": [f"{v:.3f}" for v in imp.to_numpy()]}))
            fig("importance", lp.plot_param_importances(data))
        fig("slice", lp.plot_slice(data))
        fig("parallel", lp.plot_parallel_coordinates(data))
    if "overhead" in df.columns and df["overhead"].notna().any():
        ov = df["overhead"].to_numpy(float) * 1e3
        page.add("p", f"Optimizer overhead per evaluation: median {np.nanmedian(ov):.3g} ms, "
                      f"mean {np.nanmean(ov):.3g} ms.")
    page.add("h2", "Trials")
    page.add("p", "Click a column title to sort.")
    page.add("table", table)
    return page.write(out)[0]


def trials_table(run: Any) -> pd.DataFrame:
    """One row per trial for reports and the dashboard: ``trial``, ``config``, ``status``,
    ``budget``, ``budget reached`` (what a stopped trial actually used), ``epochs trained``
    (steps reported, less those restored from a checkpoint of an earlier rung), ``loss``
    (``score`` for a run that maximized: the objective's own
    value), ``stopped by`` (the rule that stopped it), ``bracket``, ``rung``, the
    parameters (``config.<name>`` for one named like a fixed column), and the first line of a
    failure's error."""
    from lowfi.analysis.rundata import budget_reached, load_run_data, status_of
    from lowfi.core.trial import negate
    from lowfi.plot import _sign, stop_rule

    data = load_run_data(run)
    df = data.trials
    sign = _sign(data)
    value_name = "score" if sign < 0 else "loss"
    n = len(df)
    curves = df["curve"] if "curve" in df.columns else pd.Series([None] * n, index=df.index)
    infos = df["info"] if "info" in df.columns else pd.Series([{}] * n, index=df.index)

    def epochs(c: Any, info: Any) -> Any:
        if isinstance(c, list | tuple) and len(c):  # points restored from a checkpoint excluded
            start = info.get("resumed_from") if isinstance(info, dict) else None
            if isinstance(start, int | float):
                return sum(1 for p in c if float(p[0]) > start)
            return len(c)
        if isinstance(info, dict) and isinstance(info.get("epochs"), int | float):
            return info["epochs"]
        return ""

    st = status_of(df)
    tab = pd.DataFrame({
        "trial": df["trial_id"].to_numpy() if "trial_id" in df else np.arange(n),
        "config": df["config_id"].to_numpy() if "config_id" in df else [""] * n,
        "status": st,
        "budget": pd.to_numeric(df["budget"], errors="coerce").to_numpy(float),
        "budget reached": budget_reached(df) if n else [],
        "epochs trained": [epochs(c, i) for c, i in zip(curves, infos, strict=True)],
        value_name: [negate(v) if sign < 0 else v for v in
                     (v if isinstance(v, list | tuple) else (float(v) if v is not None else np.nan)
                      for v in df["loss"])],
        "stopped by": [(stop_rule(i) or "") if s == "stopped" else ""
                       for s, i in zip(st, infos, strict=True)],
    })
    for c in ("bracket", "rung"):
        if c in df.columns:
            tab[c] = df[c].to_numpy()
    fixed = set(tab.columns) | {"error"}
    for name in data.param_names:
        if f"config.{name}" in df.columns:  # a parameter called like a fixed column ("loss"
            col = f"config.{name}" if name in fixed else name  # of SGDClassifier) keeps both
            tab[col] = df[f"config.{name}"].to_numpy()
    if "error" in df.columns:
        tab["error"] = [str(e).strip().splitlines()[-1] if isinstance(e, str) and e.strip()
                        else "" for e in df["error"]]
    return tab
