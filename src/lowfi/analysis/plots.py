"""PNG plots of runs and bench folders (matplotlib, Agg backend; imported only when plotting)."""

from __future__ import annotations

import math
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
    "curves_figure",
    "figure_set",
    "marginals_figure",
    "plot_band",
    "trials_figure",
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


# ---------------------------------------------------------------- single stored run


def trials_figure(df: pd.DataFrame, max_budget: float, path: str | os.PathLike) -> Path:
    """Trials over time (loss vs end, coloured by budget) and the incumbent."""
    plt = _plt()
    ok = df[df["status"].astype(str) != "failed"] if "status" in df.columns else df
    t0 = float(df["start"].min()) if "start" in df.columns and df["start"].notna().any() else 0.0
    x = (ok["end"] - t0) if "end" in ok.columns and ok["end"].notna().all() \
        else pd.Series(np.arange(len(ok)), index=ok.index)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    budgets = ok["budget"].to_numpy(float)
    norm = None
    if len(budgets) and budgets.min() > 0 and budgets.max() > budgets.min():
        from matplotlib.colors import LogNorm

        norm = LogNorm(budgets.min(), budgets.max())
    sc = axes[0].scatter(x, ok["loss"].astype(float), c=budgets, s=10, cmap="viridis", norm=norm)
    fig.colorbar(sc, ax=axes[0], label="budget")
    traj = incumbent_trajectory(df, max_budget)
    axes[0].step(traj["wallclock"], traj["inc_loss"], where="post", color="k", lw=1,
                 label="incumbent")
    axes[0].set_xlabel("time since start (s)")
    axes[0].set_ylabel("loss")
    axes[0].legend(fontsize=8)
    axes[0].set_title("trials over time", fontsize=10)
    axes[1].step(traj["cum_budget"] / max_budget, traj["inc_loss"], where="post")
    axes[1].set_xscale("log")
    axes[1].set_xlabel("cumulative budget / max_budget")
    axes[1].set_ylabel("incumbent loss")
    axes[1].set_title("incumbent vs budget", fontsize=10)
    for ax in axes:
        ax.grid(True, alpha=0.25)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def _is_curve(c: Any) -> bool:
    return isinstance(c, list | tuple | np.ndarray) and len(c) > 0


def curves_figure(df: pd.DataFrame, path: str | os.PathLike, n_best: int = 8) -> Path:
    """Learning curves of the best configurations: reported curves where the run has them,
    otherwise each configuration's losses across the budgets it was evaluated at."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    ok = df[df["loss"].notna()]
    if "status" in ok.columns:
        ok = ok[ok["status"].astype(str) != "failed"]
    key = "config_id" if "config_id" in ok.columns else "trial_id"
    top = ok.sort_values(["budget", "loss"], ascending=[False, True])[key].drop_duplicates()
    top = list(top.iloc[:n_best])
    has_curves = "curve" in ok.columns and ok["curve"].map(_is_curve).any()
    for cid in top:
        rows = ok[ok[key] == cid].sort_values("budget")
        if has_curves and rows["curve"].map(_is_curve).any():
            # the longest curve of this configuration (rungs restart or continue training)
            pts = [tuple(p) for p in rows[rows["curve"].map(_is_curve)]["curve"].iloc[-1]]
            ax.plot([p[0] for p in pts], [p[1] for p in pts], lw=1.2, label=f"{key} {cid}")
        else:
            ax.plot(rows["budget"], rows["loss"].astype(float), "o-", ms=3, lw=1.2,
                    label=f"{key} {cid}")
    ax.set_xscale("log")
    ax.set_xlabel("step" if has_curves else "budget")
    ax.set_ylabel("loss")
    ax.set_title(f"learning curves of the {len(top)} best configurations", fontsize=10)
    ax.legend(fontsize=7)
    ax.grid(True, alpha=0.25)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def parameter_importance(df: pd.DataFrame, seed: int = 0) -> pd.Series:
    """Random-forest impurity importance of each ``config.*`` column for the loss at the
    highest budget with at least 8 results (all results if none has), sorted descending."""
    X, y = _design(df)
    if X.shape[1] == 0 or len(y) < 4:
        return pd.Series(dtype=float)
    from sklearn.ensemble import RandomForestRegressor

    rf = RandomForestRegressor(n_estimators=100, min_samples_leaf=2, random_state=seed)
    rf.fit(X.to_numpy(float), y)
    return pd.Series(rf.feature_importances_, index=X.columns).sort_values(ascending=False)


def _design(df: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    ok = df[df["loss"].notna()].copy()
    if "status" in ok.columns:
        ok = ok[ok["status"].astype(str) != "failed"]
    counts = ok["budget"].value_counts()
    good = counts[counts >= 8]
    if len(good):
        ok = ok[ok["budget"] == good.index.max()]
    cols = [c for c in ok.columns if c.startswith("config.")]
    X = pd.DataFrame(index=ok.index)
    for c in cols:
        v = ok[c]
        num = pd.to_numeric(v, errors="coerce")
        if num.notna().sum() == v.notna().sum() and v.notna().any():
            X[c[7:]] = num.fillna(num.min() - 1 if num.notna().any() else 0)
        else:
            X[c[7:]] = v.astype(str).astype("category").cat.codes
    return X, ok["loss"].astype(float).to_numpy()


def marginals_figure(df: pd.DataFrame, path: str | os.PathLike, n_params: int = 6) -> Path:
    """Loss against each of the most important parameters (marginal scatter plots)."""
    plt = _plt()
    imp = parameter_importance(df)
    names = list(imp.index[:n_params])
    X, y = _design(df)
    ncol = max(1, min(3, len(names)))
    nrow = max(1, math.ceil(len(names) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(4 * ncol, 3.2 * nrow), squeeze=False)
    for ax in axes.flat[len(names):]:
        ax.set_axis_off()
    if not names:
        axes[0, 0].text(0.5, 0.5, "too few results for marginal plots", ha="center")
    for ax, n in zip(axes.flat, names, strict=False):
        v = X[n].to_numpy(float)
        ax.scatter(v, y, s=8, alpha=0.6)
        if np.all(v > 0) and v.max() / max(v.min(), 1e-300) > 100:
            ax.set_xscale("log")
        ax.set_xlabel(n)
        ax.set_ylabel("loss")
        ax.set_title(f"importance {imp[n]:.2f}", fontsize=9)
        ax.grid(True, alpha=0.25)
    fig.suptitle("parameter marginals (random-forest impurity importance)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)
