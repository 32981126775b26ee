"""PNG plots of ``lowfi bench`` folders: many runs of several optimizers over seeds
(matplotlib, Agg backend; imported only when plotting). Plots of one run are in
:mod:`lowfi.plot`."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lowfi.analysis.trajectory import aggregate, incumbent_trajectory

__all__ = [
    "allocation_figure",
    "bench_figure",
    "figure_set",
    "plot_band",
]

#: stable colours per optimizer name so every figure agrees
_COLORS = {
    "random": "#7f7f7f", "hyperband": "#1f77b4", "sh": "#17becf", "asha": "#9467bd",
    "bohb": "#d62728", "tpe": "#2ca02c", "smac": "#ff7f0e", "gp": "#8c564b", "mfbo": "#e377c2",
    "re": "#bcbd22", "reinforce": "#393b79", "freeze-thaw": "#637939",
}


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def color(name: str) -> str | None:
    return _COLORS.get(name)


def plot_band(ax: Any, agg: pd.DataFrame, label: str, color: str | None = None,
              floor: float | None = None) -> None:
    """Mean line with a +-1 standard-error band (``agg`` from :func:`aggregate`)."""
    m = agg["mean"].to_numpy(float)
    s = np.nan_to_num(agg["sem"].to_numpy(float))
    lo, hi = m - s, m + s
    if floor is not None:
        m, lo, hi = (np.maximum(v, floor) for v in (m, lo, hi))
    (line,) = ax.plot(agg["x"], m, label=label, color=color, lw=1.6)
    ax.fill_between(agg["x"], lo, hi, color=line.get_color(), alpha=0.2, lw=0)


def _y_floor(aggs: Sequence[pd.DataFrame]) -> float | None:
    """Positive floor for a log y axis, or None when the values allow no log axis."""
    vals = np.concatenate([a["mean"].to_numpy(float) for a in aggs]) if aggs else np.array([])
    vals = vals[np.isfinite(vals)]
    if not len(vals) or np.any(vals < 0):
        return None
    pos = vals[vals > 0]
    if not len(pos):
        return None
    return float(pos.min()) / 2 if np.any(vals == 0) else float(pos.min()) * 0.9


def _runs(df: pd.DataFrame, meta: Mapping[str, Any]) -> dict[str, list[pd.DataFrame]]:
    """Per-optimizer list of incumbent trajectories (one per seed) of one benchmark."""
    out: dict[str, list[pd.DataFrame]] = {}
    for (opt, _seed), g in df.groupby(["optimizer", "seed"], sort=True):
        t = incumbent_trajectory(g, meta["max_budget"], meta.get("optimum"), meta.get("f_rand"))
        t["cum_budget"] = t["cum_budget"] / meta["max_budget"]
        out.setdefault(str(opt), []).append(t)
    return out


def _ylabel(meta: Mapping[str, Any]) -> str:
    if meta.get("optimum") is None:
        return "incumbent loss"
    return "normalized regret" if meta.get("f_rand") is not None else "regret"


def _panel(ax: Any, runs: Mapping[str, list[pd.DataFrame]], x: str, names: Sequence[str],
           meta: Mapping[str, Any], n_points: int = 150) -> None:
    aggs = {}
    for n in names:
        if n in runs:
            trajs = runs[n]
            lo = min(float(t[x].iloc[0]) for t in trajs if len(t)) if trajs else 1.0
            hi = max(float(t[x].iloc[-1]) for t in trajs if len(t)) if trajs else 1.0
            lo = lo if lo > 0 else max(hi * 1e-4, 1e-9)
            grid = np.geomspace(lo, max(hi, lo), n_points)
            aggs[n] = aggregate(trajs, x=x, y="regret", grid=grid)
    floor = _y_floor(list(aggs.values()))
    for n, a in aggs.items():
        plot_band(ax, a, f"{n} ({len(runs[n])})", color(n), floor)
    ax.set_xscale("log")
    if floor is not None:
        ax.set_yscale("log")
    ax.set_xlabel("cumulative budget / max_budget" if x == "cum_budget"
                  else "simulated wall clock (s)")
    ax.set_ylabel(_ylabel(meta))
    ax.grid(True, which="both", alpha=0.25)


def bench_figure(df: pd.DataFrame, meta: Mapping[str, Any], title: str,
                 path: str | os.PathLike) -> Path:
    """Regret against cumulative budget and simulated wall clock, one line per optimizer."""
    plt = _plt()
    runs = _runs(df, meta)
    names = sorted(runs)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    _panel(axes[0], runs, "cum_budget", names, meta)
    _panel(axes[1], runs, "wallclock", names, meta)
    axes[0].legend(fontsize=8, title="optimizer (seeds)", title_fontsize=8)
    fig.suptitle(f"{title}: mean +- standard error")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


#: the lecture's three comparisons; BO = whichever model-based black-box optimizers exist
FIGURE_SET = (
    ("random search vs Hyperband", ("random", "hyperband")),
    ("random search vs BO", ("random", "tpe", "gp", "smac")),
    ("BOHB vs both", ("random", "hyperband", "tpe", "gp", "smac", "bohb")),
)


def figure_set(df: pd.DataFrame, meta: Mapping[str, Any], title: str,
               path: str | os.PathLike) -> Path | None:
    """The lecture's figure set on one benchmark (panels whose optimizers are absent are
    left out); None when no panel has two optimizers."""
    runs = _runs(df, meta)
    panels = [(t, [n for n in names if n in runs]) for t, names in FIGURE_SET]
    panels = [(t, n) for t, n in panels if len(n) >= 2]
    if not panels:
        return None
    plt = _plt()
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4), squeeze=False)
    for ax, (t, names) in zip(axes[0], panels, strict=True):
        _panel(ax, runs, "cum_budget", names, meta)
        ax.set_title(t, fontsize=10)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def allocation_figure(df: pd.DataFrame, meta: Mapping[str, Any], title: str,
                      path: str | os.PathLike) -> Path:
    """Budget allocation: share of the total budget spent at each budget level, and the
    budget per bracket in the first run of each optimizer."""
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    share = (df.groupby(["optimizer", "budget"])["budget"].sum()
             / df.groupby("optimizer")["budget"].sum()).unstack(fill_value=0.0)
    levels = list(share.columns)
    cmap = plt.get_cmap("viridis")
    bottom = np.zeros(len(share))
    for i, lev in enumerate(levels):
        axes[0].bar(share.index, share[lev], bottom=bottom, label=f"{lev:g}",
                    color=cmap(i / max(len(levels) - 1, 1)))
        bottom += share[lev].to_numpy()
    axes[0].set_ylabel("share of budget")
    axes[0].set_title("budget by evaluation budget level", fontsize=10)
    if len(levels) <= 12:
        axes[0].legend(fontsize=7, title="budget", title_fontsize=7)
    axes[0].tick_params(axis="x", rotation=30)
    has = df[df["bracket"].notna()] if "bracket" in df.columns else df.iloc[:0]
    if len(has):
        for opt, g in has.groupby("optimizer"):
            first = g[g["seed"] == g["seed"].min()]
            per = first.groupby("bracket")["budget"].sum() / meta["max_budget"]
            axes[1].plot(per.index.astype(int), per.to_numpy(), "o-", ms=3, label=str(opt),
                         color=color(str(opt)))
        axes[1].set_xlabel("bracket (in order of creation)")
        axes[1].set_ylabel("budget / max_budget")
        axes[1].legend(fontsize=8)
        axes[1].set_title("budget per bracket (first seed)", fontsize=10)
    else:
        axes[1].text(0.5, 0.5, "no bracketed optimizer", ha="center", va="center")
        axes[1].set_axis_off()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)
