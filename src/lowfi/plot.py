"""Plots of a run, each returned as a matplotlib :class:`~matplotlib.figure.Figure`.

Every function takes a run in any form lowfi produces: a journal path (``"runs/x.db"``), the
``RunResult`` that :func:`lowfi.minimize` returns, a :class:`lowfi.Study`, or a trials
``DataFrame`` (pass ``space=`` with a DataFrame to get the axes right). Figures are built
without pyplot's global state, so they are safe in scripts, servers and threads; in a notebook
they display as they are, elsewhere call ``fig.savefig("x.png")``.

Axes follow the search space: a hyperparameter declared ``log=True`` gets a log axis, any
other numerical one a linear axis, whatever the values' range; categorical and ordinal
hyperparameters get their values' names as tick labels.

========================================  =====================================================
:func:`plot_incumbent`                    best loss against budget spent or wall-clock time
:func:`plot_budget_allocation`            evaluations and budget per rung (budget level)
:func:`plot_learning_curves`              curves by status, with the rule that stopped each
:func:`plot_parallel_coordinates`         configurations at one budget across all parameters
:func:`plot_slice`                        loss against each parameter at one budget
:func:`plot_param_importances`            functional ANOVA (fANOVA) main effects
:func:`plot_pareto_front`                 non-dominated trials of a multi-objective run
:func:`param_importances`                 the fANOVA numbers behind the importance plot
========================================  =====================================================
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from lowfi.analysis.rundata import RunData, budget_used, load_run_data, status_of

__all__ = [
    "STATUS_COLORS",
    "budget_allocation",
    "incumbent_curve",
    "incumbent_trial",
    "param_importances",
    "plot_budget_allocation",
    "plot_incumbent",
    "plot_learning_curves",
    "plot_parallel_coordinates",
    "plot_pareto_front",
    "plot_param_importances",
    "plot_slice",
    "stop_rule",
]

#: colour of each trial status, shared by every plot (and the dashboard)
STATUS_COLORS = {"ok": "#1f77b4", "stopped": "#ff7f0e", "failed": "#d62728",
                 "running": "#2ca02c", "cancelled": "#7f7f7f"}

#: marker of each stopping rule at the point where it stopped a trial
_RULE_MARKERS = {"rung": "v", "median": "s", "domhan": "D", "baker": "^"}


def _figure(figsize: tuple[float, float]) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, layout="constrained")


def _scalar(x: Any) -> float:
    if x is None:
        return math.nan
    if isinstance(x, list | tuple | np.ndarray):
        return float(x[0]) if len(x) else math.nan
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def _losses(df: pd.DataFrame) -> np.ndarray:
    return np.array([_scalar(v) for v in df["loss"]], dtype=float) if len(df) else np.zeros(0)


def _sign(data: RunData) -> float:
    """-1 for a run that maximized (its journal keeps the negated score): plots draw the
    score the objective returned; 1 otherwise."""
    return -1.0 if data.settings.get("direction") == "maximize" else 1.0


def _loss_label(data: RunData) -> str:
    """Axis label of the plotted value: the objective's score for a run that maximized; the
    first objective of a multi-objective run (its scalar plots draw that one)."""
    base = "score (maximized)" if _sign(data) < 0 else "loss"
    df = data.trials
    if len(df) and "loss" in df and df["loss"].map(lambda v: isinstance(v, list | tuple)).any():
        return f"{base.split()[0]} of objective 1 (see plot_pareto_front for all)"
    return base


def _check_x(x: str) -> None:
    if x not in ("budget", "time"):
        raise ValueError(f"x: got {x!r}; allowed are 'budget' and 'time'")


# ------------------------------------------------------------------ parameter axes


class _Axis:
    """How one hyperparameter is drawn: numerical (log or linear) or categorical (names)."""

    def __init__(self, name: str, values: pd.Series, hp: Any = None):
        self.name = name
        self.log = False
        self.categories: list[Any] | None = None
        self.bounds: tuple[float, float] | None = None
        if hp is not None:
            from ConfigSpace import CategoricalHyperparameter, Constant, OrdinalHyperparameter

            if isinstance(hp, CategoricalHyperparameter):
                self.categories = list(hp.choices)
            elif isinstance(hp, OrdinalHyperparameter):
                self.categories = list(hp.sequence)
            elif isinstance(hp, Constant):
                self.categories = [hp.value]
            else:
                self.log = bool(getattr(hp, "log", False))
                self.bounds = (float(hp.lower), float(hp.upper))
        else:
            num = pd.to_numeric(values, errors="coerce")
            nonnull = values.notna()
            if nonnull.any() and num[nonnull].notna().all() and values[nonnull].map(
                    lambda v: not isinstance(v, bool | np.bool_)).all():
                self.bounds = (float(num.min()), float(num.max()))
            else:
                self.categories = sorted({v for v in values.dropna()}, key=str)

    @property
    def categorical(self) -> bool:
        return self.categories is not None

    def codes(self, values: pd.Series) -> np.ndarray:
        """Positions on the axis: category index, or the numerical value (NaN if inactive)."""
        if self.categorical:
            idx = {str(c): i for i, c in enumerate(self.categories)}
            return np.array([idx.get(str(v), np.nan) if v is not None and not (
                isinstance(v, float) and math.isnan(v)) else np.nan for v in values], float)
        return pd.to_numeric(values, errors="coerce").to_numpy(float)

    def unit(self, values: pd.Series) -> np.ndarray:
        """Positions scaled to [0, 1] (log-scaled where declared)."""
        v = self.codes(values)
        if self.categorical:
            k = len(self.categories)
            return v / (k - 1) if k > 1 else np.full_like(v, 0.5)
        lo, hi = self.bounds if self.bounds else (np.nanmin(v), np.nanmax(v))
        if self.log and lo > 0:
            v, lo, hi = np.log(np.where(v > 0, v, np.nan)), math.log(lo), math.log(hi)
        return (v - lo) / (hi - lo) if hi > lo else np.full_like(v, 0.5)

    def style(self, ax: Any, which: str = "x") -> None:
        set_scale = ax.set_xscale if which == "x" else ax.set_yscale
        if self.categorical:
            set_ticks = ax.set_xticks if which == "x" else ax.set_yticks
            set_ticks(range(len(self.categories)), [str(c) for c in self.categories])
            lim = (ax.set_xlim if which == "x" else ax.set_ylim)
            lim(-0.5, len(self.categories) - 0.5)
        else:
            set_scale("log" if self.log else "linear")
        (ax.set_xlabel if which == "x" else ax.set_ylabel)(self.name)


def _axes(data: RunData, df: pd.DataFrame) -> dict[str, _Axis]:
    out = {}
    for n in data.param_names:
        col = f"config.{n}"
        values = df[col] if col in df.columns else pd.Series([np.nan] * len(df))
        hp = data.space.cs[n] if data.space is not None else None
        out[n] = _Axis(n, values, hp)
    return out


def _finished_at(df: pd.DataFrame, budget: float | None,
                 min_count: int = 8) -> tuple[pd.DataFrame, float | None]:
    """Successful trials at ``budget`` (default: the highest budget with at least
    ``min_count`` successful trials, else the one with the most)."""
    st = status_of(df)
    ok = df[(st == "ok") & np.isfinite(_losses(df))] if len(df) else df
    if not len(ok):
        return ok, budget
    b = pd.to_numeric(ok["budget"], errors="coerce")
    if budget is None:
        counts = b.value_counts()
        good = counts[counts >= min_count]
        budget = float(good.index.max()) if len(good) else float(counts.idxmax())
    sel = ok[np.isclose(b.to_numpy(float), float(budget), rtol=1e-9, atol=0)]
    if not len(sel):
        have = sorted({float(x) for x in b.dropna()})
        raise ValueError(f"budget: got {budget!r}; the run's budgets with successful trials "
                         f"are {', '.join(f'{x:g}' for x in have)}")
    return sel, float(budget)


def _budget_label(budget: float | None) -> str:
    return "no results" if budget is None else f"at budget {budget:g}"


# ------------------------------------------------------------------ incumbent


def incumbent_trial(data: RunData) -> tuple[Any, bool]:
    """The trial id of the incumbent (the lowest loss among successful trials at
    max_budget) and False; before any trial got there, the best trial at the highest budget
    reached and True (as ``lowfi show`` and ``best_loss`` give it); ``(None, False)`` when no
    trial succeeded."""
    inc = incumbent_curve(data)
    if len(inc) and inc["best_full"].notna().any() and "trial_id" in inc:
        return inc.loc[inc["best_full"].idxmin(), "trial_id"], False
    df = data.trials
    if not len(df) or "trial_id" not in df:
        return None, False
    ok = df[(status_of(df) == "ok") & np.isfinite(_losses(df))]
    if not len(ok):
        return None, False
    b = pd.to_numeric(ok["budget"], errors="coerce")
    top = ok[b == b.max()]
    return top.iloc[int(np.argmin(_losses(top)))]["trial_id"], True


def incumbent_curve(data: RunData, x: str = "budget") -> pd.DataFrame:
    """The monotone incumbent of a run, after each finished trial in finish order.

    Columns: ``x`` (cumulative budget used, or seconds since the run's first trial started),
    ``best_full`` (lowest loss so far among successful trials at the run's highest budget),
    ``best_any`` (lowest loss so far at any budget), ``trial_id``. Both best columns never
    increase.
    """
    _check_x(x)
    df = data.trials
    st = status_of(df)
    done = df[np.isin(st, ("ok", "stopped", "failed"))].copy()
    if not len(done):
        return pd.DataFrame(columns=["x", "best_full", "best_any", "trial_id"])
    keys = [k for k in ("end", "trial_id") if k in done.columns]
    done = done.sort_values(keys, kind="stable") if keys else done
    loss = _losses(done)
    dst = status_of(done)
    ok = (dst == "ok") & np.isfinite(loss)
    budgets = pd.to_numeric(done["budget"], errors="coerce").to_numpy(float)
    full = ok & (budgets >= data.max_budget * (1 - 1e-9))
    best_full = np.minimum.accumulate(np.where(full, loss, np.inf))
    best_any = np.minimum.accumulate(np.where(ok, loss, np.inf))
    if x == "budget":
        xs = np.cumsum(np.nan_to_num(budget_used(done)))
    else:
        t0 = pd.to_numeric(df.get("start"), errors="coerce").min() if "start" in df else np.nan
        end = pd.to_numeric(done["end"], errors="coerce").to_numpy(float) \
            if "end" in done else np.full(len(done), np.nan)
        if not np.isfinite(t0) or not np.isfinite(end).all():
            raise ValueError("x: 'time' needs start and end times of the trials; this run has "
                             "none (a DataFrame without them?); use x='budget'")
        xs = end - t0
    return pd.DataFrame({"x": xs, "best_full": np.where(np.isinf(best_full), np.nan, best_full),
                         "best_any": np.where(np.isinf(best_any), np.nan, best_any),
                         "trial_id": done["trial_id"].to_numpy() if "trial_id" in done else
                         np.arange(len(done))})


def plot_incumbent(run: Any, x: str = "budget", *, space: Any = None) -> Any:
    """Best loss found so far against budget spent (``x="budget"``) or wall-clock time
    (``x="time"``).

    The solid line is the incumbent: the lowest loss among trials evaluated at the run's highest
    budget; the dashed line is the lowest loss at any budget (lower-fidelity losses are not
    comparable with full-budget ones, so it is drawn only as a guide). Both never increase
    (never decrease for a run that maximized: its scores are drawn).
    Budget spent counts what each trial used (a stopped trial counts the steps it trained). A
    dotted vertical line marks where the run stopped and why.
    """
    _check_x(x)
    data = load_run_data(run, space)
    inc = incumbent_curve(data, x)
    fig = _figure((7, 4.2))
    ax = fig.add_subplot()
    xlabel = ("budget used (sum over trials)" if x == "budget"
              else "time since start (s)")
    sign = _sign(data)
    if len(inc):
        ax.step(inc["x"], sign * inc["best_any"], where="post", ls="--", color="#7f7f7f", lw=1,
                label="best at any budget", gid="best_any")
        ax.step(inc["x"], sign * inc["best_full"], where="post", color="k", lw=1.6,
                label=f"incumbent (budget {data.max_budget:g})", gid="incumbent")
        if data.stop_reason:
            xe = float(inc["x"].iloc[-1])
            ax.axvline(xe, color="#d62728", ls=":", lw=1.2, gid="stop")
            ax.annotate(f"stopped: {data.stop_reason}", (xe, 1.0), xycoords=("data", "axes fraction"),
                        ha="right", va="top", fontsize=8, color="#d62728", rotation=90)
        ax.legend(fontsize=8, loc="upper right" if not data.stop_reason else "center right")
    else:
        ax.text(0.5, 0.5, "no finished trials", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(_loss_label(data))
    ax.set_title(f"{data.name}: incumbent", fontsize=10)
    ax.grid(True, alpha=0.25)
    return fig


# ------------------------------------------------------------------ budget allocation


def budget_allocation(data: RunData) -> pd.DataFrame:
    """Evaluations and budget used per budget level (rung) and status: columns ``budget``,
    ``status``, ``trials``, ``budget_used``."""
    df = data.trials
    if not len(df):
        return pd.DataFrame(columns=["budget", "status", "trials", "budget_used"])
    d = pd.DataFrame({"budget": pd.to_numeric(df["budget"], errors="coerce"),
                      "status": status_of(df), "used": budget_used(df)})
    g = d.groupby(["budget", "status"]).agg(trials=("used", "size"), budget_used=("used", "sum"))
    return g.reset_index()


def plot_budget_allocation(run: Any, *, space: Any = None) -> Any:
    """Budget used at each budget level (rung), stacked by trial status, with the number of
    trials per level written above each bar."""
    data = load_run_data(run, space)
    alloc = budget_allocation(data)
    fig = _figure((7, 4))
    ax = fig.add_subplot()
    if not len(alloc):
        ax.text(0.5, 0.5, "no trials", ha="center", va="center", transform=ax.transAxes)
        return fig
    levels = sorted(alloc["budget"].unique())
    pos = np.arange(len(levels))
    bottom = np.zeros(len(levels))
    for status in [s for s in STATUS_COLORS if s in set(alloc["status"])]:
        a = alloc[alloc["status"] == status].set_index("budget")["budget_used"]
        h = np.array([a.get(b, 0.0) for b in levels])
        ax.bar(pos, h, bottom=bottom, color=STATUS_COLORS[status], label=status, gid=status)
        bottom += h
    counts = alloc.groupby("budget")["trials"].sum()
    for p, b, top in zip(pos, levels, bottom, strict=True):
        ax.annotate(f"{int(counts[b])}", (p, top), ha="center", va="bottom", fontsize=8)
    ax.set_xticks(pos, [f"{b:g}" for b in levels])
    ax.set_xlabel("budget level (rung); number of trials above each bar")
    ax.set_ylabel("budget used")
    ax.set_title(f"{data.name}: budget allocation", fontsize=10)
    ax.legend(fontsize=8, title="status", title_fontsize=8)
    ax.grid(True, axis="y", alpha=0.25)
    return fig


# ------------------------------------------------------------------ learning curves


def _is_curve(c: Any) -> bool:
    return isinstance(c, list | tuple | np.ndarray) and len(c) > 0


def stop_rule(info: Any) -> str | None:
    """The stopping rule that ended a trial, from its ``info`` (``"rung"``, ``"median"``,
    ``"domhan"``, ``"baker"``, or another rule's name), or None."""
    if not isinstance(info, dict):
        return None
    rule = info.get("rule") or info.get("stopped_by")
    return str(rule) if rule else None


def plot_learning_curves(run: Any, *, status: Sequence[str] | None = None,
                         max_trials: int | None = None, space: Any = None) -> Any:
    """Learning curves reported by the trials, coloured by status.

    Trials a stopping rule ended are drawn to the step where they stopped, with a marker per
    rule (the rule is read from the trial's ``info``, where the rule wrote why it decided);
    the legend says which rule stopped how many trials. Where a learning-curve extrapolation
    rule (Domhan et al.) made the decision, its predicted final value and 5-95% interval at the
    horizon are drawn; no prediction is drawn for trials other rules stopped. Runs whose
    objective reports no curve get each configuration's losses across its budgets.

    Parameters
    ----------
    status
        Draw only these statuses (default: all).
    max_trials
        Draw at most this many curves (the best ones by final value).
    """
    data = load_run_data(run, space)
    df = data.trials
    fig = _figure((7.5, 4.5))
    ax = fig.add_subplot()
    st = status_of(df)
    if status is not None:
        bad = [s for s in status if s not in STATUS_COLORS]
        if bad:
            raise ValueError(f"status: got {bad!r}; allowed are {', '.join(STATUS_COLORS)}")
        keep = np.isin(st, list(status))
        df, st = df[keep], st[keep]
    has_curves = "curve" in df.columns and df["curve"].map(_is_curve).any()
    sign = _sign(data)
    counts: dict[str, int] = {}
    rules: dict[str, int] = {}
    if has_curves:
        rows = df[df["curve"].map(_is_curve)]
        rst = status_of(rows)
        if max_trials is not None:
            last = np.array([c[-1][1] for c in rows["curve"]], float)
            order = np.argsort(last, kind="stable")[:max_trials]
            rows, rst = rows.iloc[order], rst[order]
        for (_, row), s in zip(rows.iterrows(), rst, strict=True):
            pts = np.asarray(row["curve"], float) * [1.0, sign]
            color = STATUS_COLORS.get(s, "k")
            ax.plot(pts[:, 0], pts[:, 1], color=color, lw=1, alpha=0.75,
                    gid=f"curve-{row.get('trial_id', '')}")
            counts[s] = counts.get(s, 0) + 1
            if s == "stopped":
                info = row.get("info")
                rule = stop_rule(info) or "unknown rule"
                rules[rule] = rules.get(rule, 0) + 1
                ax.plot(pts[-1, 0], pts[-1, 1], ls="none", marker=_RULE_MARKERS.get(rule, "x"),
                        color=color, ms=6, gid=f"stop-{rule}")
                if rule == "domhan" and isinstance(info, dict) and "predicted_q05" in info:
                    h = float(info.get("horizon") or pts[-1, 0])
                    # scores already where the rule wrote them so (a maximizing run)
                    flip = 1.0 if info.get("values") == "score" else sign
                    m = flip * float(info["predicted_final"])
                    lo, hi = sorted((flip * float(info["predicted_q05"]),
                                     flip * float(info["predicted_q95"])))
                    ax.errorbar([h], [m], yerr=[[m - lo], [hi - m]],
                                fmt="o", ms=3, color=color, alpha=0.6, capsize=2,
                                gid="domhan-prediction")
        ax.set_xlabel("step")
    else:
        key = "config_id" if "config_id" in df.columns else "trial_id"
        loss = _losses(df)
        finite = np.isfinite(loss)
        for _cid, g in df[finite].groupby(key):
            g = g.sort_values("budget")
            s = status_of(g)[-1]
            ax.plot(pd.to_numeric(g["budget"]), sign * _losses(g), "o-", ms=3, lw=1,
                    color=STATUS_COLORS.get(s, "k"), alpha=0.75, gid=f"curve-{_cid}")
            counts[s] = counts.get(s, 0) + 1
        ax.set_xlabel("budget")
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=STATUS_COLORS[s], label=f"{s} ({n})")
               for s, n in counts.items() if s in STATUS_COLORS]
    handles += [Line2D([], [], ls="none", marker=_RULE_MARKERS.get(r, "x"), color=STATUS_COLORS[
        "stopped"], label=f"stopped by {r} ({n})") for r, n in sorted(rules.items())]
    if handles:
        ax.legend(handles=handles, fontsize=8)
    else:
        ax.text(0.5, 0.5, "no curves", ha="center", va="center", transform=ax.transAxes)
    ax.set_ylabel(("reported score" if sign < 0 else "reported value") if has_curves
                  else _loss_label(data))
    ax.set_title(f"{data.name}: learning curves by status", fontsize=10)
    ax.grid(True, alpha=0.25)
    return fig


# ------------------------------------------------------------------ configurations


def plot_parallel_coordinates(run: Any, *, budget: float | None = None,
                              params: Sequence[str] | None = None, space: Any = None) -> Any:
    """One line per successful trial at ``budget`` through one vertical axis per parameter,
    coloured by loss (darker = lower). Each axis is labelled in the parameter's own values
    (log-spaced where the space declares ``log``, names for categories).

    ``budget`` defaults to the highest budget with at least 8 successful trials; the title
    says which budget is shown.
    """
    data = load_run_data(run, space)
    sel, budget = _finished_at(data.trials, budget)
    names = _param_list(data, params)
    axes = _axes(data, sel)
    fig = _figure((max(5.0, 1.6 * len(names) + 2), 4.5))
    ax = fig.add_subplot()
    loss = _losses(sel)
    if len(sel) and names:
        from matplotlib import colormaps
        from matplotlib.colors import Normalize

        shown = _sign(data) * loss  # colour by the score for a run that maximized
        norm = Normalize(float(np.nanmin(shown)), float(np.nanmax(shown)))
        cmap = colormaps["viridis"]
        U = np.column_stack([axes[n].unit(sel[f"config.{n}"] if f"config.{n}" in sel
                                          else pd.Series([np.nan] * len(sel))) for n in names])
        inactive = ~np.isfinite(U)  # a conditional parameter the configuration does not use:
        U = np.where(inactive, _INACTIVE, U)  # drawn on a marked level below its axis
        if inactive.any():
            ax.axhline(_INACTIVE, color="0.6", lw=0.6, ls=":")
            ax.annotate("inactive", (len(names) - 1, _INACTIVE), xytext=(3, 0),
                        textcoords="offset points", fontsize=7, va="center", color="0.4")
        for i in np.argsort(-loss, kind="stable"):  # best lines drawn last, on top
            ax.plot(range(len(names)), U[i], color=cmap(norm(shown[i])), lw=1, alpha=0.8,
                    gid="config")
        from matplotlib.cm import ScalarMappable

        fig.colorbar(ScalarMappable(norm, cmap), ax=ax, label=_loss_label(data))
        for j, n in enumerate(names):
            ax.axvline(j, color="k", lw=0.8)
            for u, lab in _axis_ticks(axes[n]):
                ax.annotate(lab, (j, u), xytext=(3, 0), textcoords="offset points",
                            fontsize=7, va="center")
    else:
        ax.text(0.5, 0.5, "no successful trials", ha="center", va="center",
                transform=ax.transAxes)
    ax.set_xticks(range(len(names)), names)
    ax.set_yticks([])
    ax.set_ylim(_INACTIVE - 0.05, 1.05)
    ax.set_title(f"{data.name}: {len(sel)} configurations {_budget_label(budget)}",
                 fontsize=10)
    return fig


_INACTIVE = -0.12  # where inactive conditional parameters are drawn in parallel coordinates


def _axis_ticks(a: _Axis) -> list[tuple[float, str]]:
    if a.categorical:
        k = len(a.categories)
        return [(i / (k - 1) if k > 1 else 0.5, str(c)) for i, c in enumerate(a.categories)]
    if not a.bounds:
        return []
    lo, hi = a.bounds
    vals = np.geomspace(lo, hi, 3) if a.log and lo > 0 else np.linspace(lo, hi, 3)
    s = a.unit(pd.Series(vals))
    return [(float(u), f"{v:.3g}") for u, v in zip(s, vals, strict=True)]


def _param_list(data: RunData, params: Sequence[str] | None) -> list[str]:
    names = data.param_names
    if params is None:
        return names
    bad = [p for p in params if p not in names]
    if bad:
        raise ValueError(f"params: got {bad!r}; the run's parameters are {names}")
    return list(params)


def plot_slice(run: Any, *, budget: float | None = None, params: Sequence[str] | None = None,
               space: Any = None) -> Any:
    """Loss against each parameter (one panel per parameter) for the successful trials at
    one budget; the title names the budget. Categorical values are spread slightly sideways so
    points do not hide each other."""
    data = load_run_data(run, space)
    sel, budget = _finished_at(data.trials, budget)
    names = _param_list(data, params)
    axes = _axes(data, sel)
    ncol = max(1, min(3, len(names)))
    nrow = max(1, math.ceil(len(names) / ncol))
    fig = _figure((4 * ncol, 3.2 * nrow))
    grid = fig.subplots(nrow, ncol, squeeze=False)
    loss = _losses(sel)
    rng = np.random.default_rng(0)
    for ax in grid.flat[len(names):]:
        ax.set_axis_off()
    for ax, n in zip(grid.flat, names, strict=False):
        a = axes[n]
        col = sel[f"config.{n}"] if f"config.{n}" in sel else pd.Series([np.nan] * len(sel))
        v = a.codes(col)
        if a.categorical:
            v = v + rng.uniform(-0.15, 0.15, len(v))
        m = np.isfinite(v) & np.isfinite(loss)
        ax.scatter(v[m], _sign(data) * loss[m], s=10, alpha=0.7, gid="points")
        a.style(ax, "x")
        ax.set_ylabel(_loss_label(data))
        ax.grid(True, alpha=0.25)
    fig.suptitle(f"{data.name}: {_loss_label(data).split()[0]} by parameter, {len(sel)} trials "
                 f"{_budget_label(budget)}",
                 fontsize=10)
    return fig


# ------------------------------------------------------------------ fANOVA


def _leaf_boxes(tree: Any, n_dims: int, lower: np.ndarray, upper: np.ndarray) -> tuple[
        np.ndarray, np.ndarray, np.ndarray]:
    """Axis-aligned boxes (lo, hi) and predictions of a fitted sklearn tree's leaves."""
    t = tree.tree_
    los, his, vals = [], [], []
    stack = [(0, lower.copy(), upper.copy())]
    while stack:
        node, lo, hi = stack.pop()
        left, right = t.children_left[node], t.children_right[node]
        if left == right:  # leaf
            los.append(lo), his.append(hi), vals.append(float(t.value[node].ravel()[0]))
            continue
        f, thr = t.feature[node], t.threshold[node]
        lo_l, hi_l = lo.copy(), hi.copy()
        hi_l[f] = min(hi[f], thr)
        lo_r, hi_r = lo.copy(), hi.copy()
        lo_r[f] = max(lo[f], thr)
        stack.append((left, lo_l, hi_l))
        stack.append((right, lo_r, hi_r))
    return np.array(los), np.array(his), np.array(vals)


def _tree_main_effects(tree: Any, kinds: list[int]) -> np.ndarray:
    """Fraction of the tree's variance explained by each input alone (fANOVA main effects).

    ``kinds[d]`` is 0 for a numerical input, uniform on [0, 1], and k > 0 for a categorical
    input with k equally likely values 0..k-1. Marginals are exact integrals over the tree's
    leaf boxes (Hutter, Hoos & Leyton-Brown, ICML 2014)."""
    D = len(kinds)
    lower = np.array([0.0 if k == 0 else -0.5 for k in kinds])
    upper = np.array([1.0 if k == 0 else k - 0.5 for k in kinds])
    lo, hi, val = _leaf_boxes(tree, D, lower, upper)

    def frac(d: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Probability mass of input d in [a, b) (of its domain)."""
        if kinds[d] == 0:
            return np.clip(b, 0, 1) - np.clip(a, 0, 1)
        codes = np.arange(kinds[d])
        return ((codes[None, :] >= a[:, None]) & (codes[None, :] < b[:, None])).sum(1) / kinds[d]

    fr = np.column_stack([frac(d, lo[:, d], hi[:, d]) for d in range(D)])
    vol = fr.prod(axis=1)
    mean = float((vol * val).sum())
    total = float((vol * val ** 2).sum()) - mean ** 2
    out = np.zeros(D)
    if total <= 1e-300:
        return out
    for d in range(D):
        if kinds[d] == 0:
            cuts = np.unique(np.clip(np.concatenate([lo[:, d], hi[:, d], [0.0, 1.0]]), 0, 1))
            a, b = cuts[:-1], cuts[1:]
            w = b - a
            mid = (a + b) / 2
        else:
            mid = np.arange(kinds[d], dtype=float)
            w = np.full(kinds[d], 1.0 / kinds[d])
        others = np.prod(np.delete(fr, d, axis=1), axis=1) if D > 1 else np.ones(len(val))
        inside = (lo[:, d][None, :] <= mid[:, None]) & (mid[:, None] < hi[:, d][None, :])
        marg = (inside * (others * val)[None, :]).sum(1)
        out[d] = float((w * (marg - mean) ** 2).sum()) / total
    return out


def param_importances(run: Any, *, budget: float | None = None, n_trees: int = 32,
                      seed: int = 0, space: Any = None) -> pd.Series:
    """Functional ANOVA importance of each parameter at one budget (Hutter, Hoos &
    Leyton-Brown, "An Efficient Approach for Assessing Hyperparameter Importance", ICML 2014).

    A random forest is fitted to the losses of the successful trials at ``budget`` (default:
    the highest budget with at least 8 of them). For each tree, the variance of its prediction
    over the whole space is split into main effects: the variance of the marginal prediction
    of one parameter (all others integrated out), computed exactly from the tree's leaves.
    Importances are these fractions averaged over trees, in [0, 1]; they sum to at most 1 (the
    rest is interactions). Numerical parameters are integrated uniformly over their range (in
    log space where declared ``log``); categorical ones over their values, each equally likely
    (they enter the forest as one input per parameter whose splits separate value codes, and
    every value counts once in the marginal, so a categorical parameter is not reduced to a
    0/1 code). Inactive (conditional) values are imputed with the domain's midpoint.

    Returns a Series indexed by parameter name, sorted descending, with ``attrs["budget"]``
    and ``attrs["n_trials"]``; empty when fewer than 4 trials qualify.
    """
    data = load_run_data(run, space)
    sel, budget = _finished_at(data.trials, budget)
    names = data.param_names
    y = _losses(sel)
    if len(sel) < 4 or not names:
        s = pd.Series(dtype=float)
        s.attrs.update(budget=budget, n_trials=len(sel))
        return s
    axes = _axes(data, sel)
    cols, kinds = [], []
    for n in names:
        a = axes[n]
        col = sel[f"config.{n}"] if f"config.{n}" in sel else pd.Series([np.nan] * len(sel))
        if a.categorical:
            k = len(a.categories)
            v = a.codes(col)
            cols.append(np.where(np.isfinite(v), v, (k - 1) / 2))
            kinds.append(k)
        else:
            u = a.unit(col)
            cols.append(np.where(np.isfinite(u), np.clip(u, 0, 1), 0.5))
            kinds.append(0)
    X = np.column_stack(cols)
    # variance fractions do not depend on the unit: rescaled so that a diverged trial's huge
    # (finite) loss cannot overflow the squares
    y = np.asarray(y, dtype=float)
    y = y - np.median(y)
    span = float(np.max(np.abs(y))) if len(y) else 0.0
    if span > 0 and np.isfinite(span):
        y = y / span
    from sklearn.ensemble import RandomForestRegressor

    rf = RandomForestRegressor(n_estimators=n_trees, min_samples_leaf=1, max_features=None,
                               bootstrap=True, random_state=seed)
    rf.fit(X, y)
    imp = np.mean([_tree_main_effects(t, kinds) for t in rf.estimators_], axis=0)
    s = pd.Series(imp, index=names).sort_values(ascending=False)
    s.attrs.update(budget=budget, n_trials=len(sel))
    return s


def plot_param_importances(run: Any, *, budget: float | None = None, seed: int = 0,
                           space: Any = None) -> Any:
    """Horizontal bars of :func:`param_importances` (fANOVA main effects), most important on
    top; the title names the budget and the number of trials."""
    imp = param_importances(run, budget=budget, seed=seed, space=space)
    data = load_run_data(run, space)
    fig = _figure((6, 0.45 * max(len(imp), 3) + 1.5))
    ax = fig.add_subplot()
    if len(imp):
        ax.barh(range(len(imp))[::-1], imp.to_numpy(), color="#1f77b4", gid="importance")
        ax.set_yticks(range(len(imp))[::-1], list(imp.index))
        ax.set_xlim(0, max(1e-9, float(imp.max()) * 1.15))
        for i, v in enumerate(imp.to_numpy()):
            ax.annotate(f"{v:.2f}", (v, len(imp) - 1 - i), xytext=(3, 0),
                        textcoords="offset points", va="center", fontsize=8)
    else:
        ax.text(0.5, 0.5, "fewer than 4 successful trials", ha="center", va="center",
                transform=ax.transAxes)
    ax.set_xlabel("fraction of variance (fANOVA main effect)")
    ax.set_title(f"{data.name}: parameter importance, {imp.attrs.get('n_trials', 0)} trials "
                 f"{_budget_label(imp.attrs.get('budget'))}", fontsize=10)
    return fig


# ------------------------------------------------------------------ multi-objective


def plot_pareto_front(run: Any, *, objectives: Sequence[str] = ("objective 1", "objective 2"),
                      budget: float | None = None, space: Any = None) -> Any:
    """All successful trials of a multi-objective run in the plane of its first two objectives
    (both minimized, or both maximized: drawn in the objective's own values), the
    non-dominated ones highlighted and joined by the front's staircase.

    ``budget`` restricts to one budget (default: all budgets)."""
    from lowfi.analysis.pareto import pareto_mask

    if len(objectives) != 2:
        raise ValueError(f"objectives: got {list(objectives)!r}; give two axis names")
    data = load_run_data(run, space)
    df = data.trials
    st = status_of(df)
    ok = df[(st == "ok")] if len(df) else df
    if budget is not None:
        ok = ok[np.isclose(pd.to_numeric(ok["budget"]).to_numpy(float), float(budget))]
    F = [tuple(v) for v in ok["loss"] if isinstance(v, list | tuple | np.ndarray) and len(v) >= 2]
    if len(ok) and not F:
        raise ValueError("run: its losses are single numbers; a Pareto front needs a "
                         "multi-objective run (losses that are tuples)")
    F = np.array([f[:2] for f in F], float).reshape(-1, 2)
    fig = _figure((6, 4.5))
    ax = fig.add_subplot()
    if len(F):
        mask = pareto_mask(F)  # on the minimized values
        sign = _sign(data)  # drawn in the objective's own values (scores for a maximized run)
        G = sign * F
        ax.scatter(G[~mask, 0], G[~mask, 1], s=12, color="#aaaaaa", label="dominated",
                   gid="dominated")
        front = G[mask][np.argsort(G[mask][:, 0])]
        ax.scatter(front[:, 0], front[:, 1], s=24, color="#d62728",
                   label=f"Pareto front ({len(front)})", gid="front")
        ax.step(front[:, 0], front[:, 1], where="post" if sign > 0 else "pre", color="#d62728",
                lw=1)
        ax.legend(fontsize=8)
    ax.set_xlabel(objectives[0])
    ax.set_ylabel(objectives[1])
    where = "" if budget is None else f" at budget {budget:g}"
    ax.set_title(f"{data.name}: {len(F)} trials{where}", fontsize=10)
    ax.grid(True, alpha=0.25)
    return fig
