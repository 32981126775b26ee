"""``lowfi report``: PNG plots plus a markdown and an HTML page for a stored run or a bench
folder.

A bench folder (``lowfi bench --out DIR``) gives, per benchmark: regret (or incumbent loss)
against cumulative budget and simulated wall clock with standard-error bands, the lecture's
figure set (random search vs Hyperband, random search vs BO, BOHB vs both), budget allocation
per budget level and per bracket, and a table of final regrets with standard errors and of
optimizer overhead. A stored run (``RUN.db``, or a trials table as ``.jsonl``/``.csv``) gives
the trials over time, the incumbent, the learning curves of the best configurations, budget
per bracket and parameter marginals with importances.
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

__all__ = ["bench_summary", "load_run", "report"]


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
                body.append(v.to_html(index=False, border=0, classes="t"))
            elif kind == "img":
                rel = os.path.relpath(v, folder)
                md += [f"![{Path(rel).stem}]({rel})", ""]
                body.append(f'<img src="{html.escape(rel)}" alt="{html.escape(Path(rel).stem)}">')
        style = ("body{font-family:sans-serif;max-width:1150px;margin:2em auto;padding:0 1em}"
                 "img{max-width:100%}table.t{border-collapse:collapse;font-size:14px}"
                 "table.t td,table.t th{border-bottom:1px solid #ddd;padding:3px 8px}")
        page = ("<!DOCTYPE html><html><head><meta charset='utf-8'>"
                f"<title>{html.escape(self.title)}</title><style>{style}</style></head><body>"
                + "\n".join(body) + "</body></html>")
        mdp, htp = folder / f"{stem}.md", folder / f"{stem}.html"
        mdp.write_text("\n".join(md))
        htp.write_text(page)
        return mdp, htp


# ------------------------------------------------------------------ loading


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
        return pd.read_csv(p)
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
    p = Path(path)
    if p.is_dir():
        if not (p / "meta.json").exists():
            raise FileNotFoundError(
                f"path: {str(p)!r} is a folder without meta.json; pass a `lowfi bench` output "
                "folder or a stored run file (RUN.db); `lowfi show DIR` lists the runs in a "
                "folder"
            )
        return _bench_report(p, Path(out) if out else p / "report", img_prefix)
    return _run_report(p, Path(out) if out else p.with_name(p.stem + "_report"), img_prefix)


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


def _run_report(path: Path, out: Path, prefix: str) -> Path:
    from lowfi.analysis import plots

    df = load_run(path)
    out.mkdir(parents=True, exist_ok=True)
    page = _Page(f"lowfi run report: {path.name}")
    if df.empty or "budget" not in df.columns:
        page.add("p", "The run has no trials.")
        return page.write(out)[0]
    done = (df[~df["status"].astype(str).isin(["running", "cancelled"])]
            if "status" in df.columns else df)
    max_budget = float(done["budget"].max())
    traj = incumbent_trajectory(done, max_budget)
    n_fail = int((done["status"].astype(str) == "failed").sum()) if "status" in done else 0
    page.add("p", f"{len(done)} finished evaluations ({n_fail} failed), budgets "
                  f"{done['budget'].min():g}..{max_budget:g}, total budget "
                  f"{done['budget'].sum():g} ({done['budget'].sum() / max_budget:.3g} x max).")
    if len(traj) and np.isfinite(traj["inc_loss"].iloc[-1]):
        i = int(traj["inc_index"].iloc[-1])
        best = done.sort_values([k for k in ("end", "trial_id") if k in done]).iloc[i]
        cfg = {c[7:]: (best[c].item() if isinstance(best[c], np.generic) else best[c])
               for c in done.columns if c.startswith("config.")
               and not (isinstance(best[c], float) and math.isnan(best[c]))}
        page.add("p", f"Incumbent: loss {best['loss']:.6g} at budget {best['budget']:g}, "
                      f"config {cfg}")
    page.add("h2", "Trials over time and incumbent")
    page.add("img", plots.trials_figure(done, max_budget, out / f"{prefix}trials.png"))
    page.add("h2", "Learning curves of the best configurations")
    page.add("img", plots.curves_figure(done, out / f"{prefix}curves.png"))
    stopped = _stopped_extrapolations(done, out, prefix)
    if stopped:
        page.add("h2", "Trials stopped early: observed curve and extrapolation")
        for img in stopped:
            page.add("img", img)
    if "bracket" in done.columns and done["bracket"].notna().any():
        page.add("h2", "Budget per bracket and rung")
        alloc = (done.groupby(["bracket", "budget"])["budget"].agg(["count", "sum"])
                 .reset_index().rename(columns={"count": "evaluations", "sum": "total budget"}))
        page.add("table", alloc)
    page.add("h2", "Parameter importance and marginals")
    imp = plots.parameter_importance(done)
    if len(imp):
        page.add("table", pd.DataFrame({"parameter": imp.index,
                                        "importance": [f"{v:.3f}" for v in imp.to_numpy()]}))
    page.add("img", plots.marginals_figure(done, out / f"{prefix}marginals.png"))
    if "overhead" in done.columns and done["overhead"].notna().any():
        ov = done["overhead"].to_numpy(float) * 1e3
        page.add("p", f"Optimizer overhead per evaluation: median {np.nanmedian(ov):.3g} ms, "
                      f"mean {np.nanmean(ov):.3g} ms.")
    return page.write(out)[0]


def _stopped_extrapolations(done: pd.DataFrame, out: Path, prefix: str, n: int = 4) -> list[Path]:
    """Domhan extrapolation plots of up to ``n`` trials a stopping rule ended early."""
    if "status" not in done.columns or "curve" not in done.columns:
        return []
    rows = done[(done["status"].astype(str) == "stopped") & done["curve"].notna()]
    paths = []
    for _, row in rows.head(n).iterrows():
        curve = np.asarray(row["curve"], dtype=float)
        if curve.ndim != 2 or len(curve) < 4:
            continue
        from lowfi.curves import DomhanExtrapolator
        from lowfi.curves.plot import plot_extrapolation

        T = float(row["budget"])
        steps = np.arange(1, int(T) + 1, dtype=float)
        pred = DomhanExtrapolator(direction="minimize", seed=0).fit_predict(curve[:, 0], curve[:, 1], steps)
        info = row.get("info") if isinstance(row.get("info"), dict) else {}
        path = out / f"{prefix}stopped_{int(row['trial_id'])}.png"
        plot_extrapolation(curve[:, 0], curve[:, 1], pred, path, incumbent=info.get("incumbent"),
                           title=f"trial {int(row['trial_id'])} stopped at step {curve[-1, 0]:g} of {T:g}")
        paths.append(path)
    return paths
