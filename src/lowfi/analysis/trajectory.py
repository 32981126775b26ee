"""Incumbent trajectories, regret and their aggregation across seeds.

The incumbent rule is the one of the comparison protocol (shared/ANCHORS.md): the incumbent
is the configuration with the lowest observed loss among evaluations at ``max_budget``;
before any evaluation at ``max_budget`` it is the best one at the highest budget seen so far.
Its *value* is the noise-free test loss where the benchmark has one (column ``test_loss``),
otherwise its observed loss. Regret is ``value - optimum``, normalized as
``(value - optimum) / (f_rand - optimum)`` when ``f_rand`` is known (0 = optimum, 1 = the mean
of random configurations).

Everything here works on a pandas DataFrame with (at least) the columns ``budget``, ``loss``
and optionally ``status``, ``cost``, ``start``, ``end``, ``test_loss``, ``overhead``: one row
per evaluation, as written by ``lowfi bench`` (JSON lines) or returned by a stored run.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "aggregate",
    "finish_order",
    "final_values",
    "incumbent_trajectory",
    "regret",
    "standard_error",
]


def regret(value: Any, optimum: float | None, f_rand: float | None = None) -> np.ndarray:
    """Regret of ``value`` (array-like): ``value - optimum``, normalized if ``f_rand`` is given.

    Returns the values unchanged when ``optimum`` is None.
    """
    v = np.asarray(value, dtype=float)
    if optimum is None:
        return v
    r = v - float(optimum)
    if f_rand is not None:
        span = float(f_rand) - float(optimum)
        if not span > 0:
            raise ValueError(
                f"f_rand: got {f_rand!r} with optimum {optimum!r}; f_rand must exceed the optimum"
            )
        r = r / span
    return r


def finish_order(df: pd.DataFrame) -> pd.DataFrame:
    """Rows sorted by the order in which evaluations finished (``end``, then ``trial_id``)."""
    keys = [k for k in ("end", "trial_id") if k in df.columns]
    if not keys:
        return df.reset_index(drop=True)
    return df.sort_values(keys, kind="stable").reset_index(drop=True)


def _scalar_loss(x: Any) -> float:
    if x is None:
        return math.nan
    if isinstance(x, list | tuple):
        return float(x[0]) if x else math.nan
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def incumbent_trajectory(df: pd.DataFrame, max_budget: float, optimum: float | None = None,
                         f_rand: float | None = None) -> pd.DataFrame:
    """Incumbent after each finished evaluation of one run.

    Parameters
    ----------
    df
        One run's evaluations (columns ``budget``, ``loss``; optional ``status``, ``cost``,
        ``start``, ``end``, ``test_loss``, ``trial_id``).
    max_budget
        The benchmark's highest budget (defines which evaluations may be incumbents first).
    optimum, f_rand
        For regret; see :func:`regret`.

    Returns
    -------
    pandas.DataFrame
        One row per evaluation in finish order with ``cum_budget`` (budget charged so far),
        ``wallclock`` (the evaluation's ``end``, or the cumulative ``cost`` if there is no
        ``end``), ``inc_loss`` (observed loss of the incumbent), ``inc_value`` (its test loss
        where known), ``inc_budget``, ``inc_index`` (row of the incumbent) and ``regret``.
        Incumbent columns are NaN until the first successful evaluation.
    """
    if not isinstance(max_budget, int | float) or not max_budget > 0:
        raise ValueError(f"max_budget: got {max_budget!r}; allowed is a number > 0")
    d = finish_order(df)
    n = len(d)
    budget = d["budget"].to_numpy(float)
    loss = np.array([_scalar_loss(x) for x in d["loss"]], dtype=float)
    ok = np.isfinite(loss)
    if "status" in d.columns:  # failed trials, and stopped ones (they did not reach their
        ok &= (d["status"].astype(str) == "ok").to_numpy()  # budget), are never incumbents
    test = d["test_loss"].to_numpy(float) if "test_loss" in d.columns else np.full(n, np.nan)
    test = np.where(np.isfinite(test), test, loss)

    inc = np.full(n, -1, dtype=int)
    best_idx, best_budget, best_loss = -1, -math.inf, math.inf
    top = float(max_budget) * (1 - 1e-9)
    for i in range(n):  # O(n) scan; the rule depends on the running highest budget
        if ok[i]:
            b, lo = budget[i], loss[i]
            b_eff = b if b < top else math.inf  # every max-budget evaluation ranks as "highest"
            if b_eff > best_budget or (b_eff == best_budget and lo < best_loss):
                best_idx, best_budget, best_loss = i, b_eff, lo
        inc[i] = best_idx
    has = inc >= 0
    safe = np.where(has, inc, 0)
    out = pd.DataFrame({
        "cum_budget": np.cumsum(budget),
        "wallclock": _wallclock(d),
        "inc_loss": np.where(has, loss[safe], np.nan),
        "inc_value": np.where(has, test[safe], np.nan),
        "inc_budget": np.where(has, budget[safe], np.nan),
        "inc_index": inc,
    })
    out["regret"] = regret(out["inc_value"].to_numpy(), optimum, f_rand)
    return out


def _wallclock(d: pd.DataFrame) -> np.ndarray:
    if "end" in d.columns and d["end"].notna().all():
        end = d["end"].to_numpy(float)
        if "start" in d.columns and d["start"].notna().all() and len(d):
            return end - float(np.min(d["start"].to_numpy(float)))
        return end
    if "cost" in d.columns:
        return np.cumsum(np.nan_to_num(d["cost"].to_numpy(float)))
    return np.arange(1, len(d) + 1, dtype=float)


def standard_error(values: np.ndarray, axis: int = 0) -> np.ndarray:
    """Standard error of the mean along ``axis``, ignoring NaN (NaN where fewer than 2)."""
    v = np.asarray(values, dtype=float)
    n = np.sum(np.isfinite(v), axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"), _quiet():
        sd = np.nanstd(v, axis=axis, ddof=1) if v.size else np.array(np.nan)
        return np.where(n >= 2, sd / np.sqrt(np.maximum(n, 1)), np.nan)


def _step_values(x: np.ndarray, y: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Value of the right-continuous step function (x, y) at each grid point (NaN before x[0])."""
    if len(x) == 0:
        return np.full(len(grid), np.nan)
    pos = np.searchsorted(x, grid, side="right") - 1
    return np.where(pos >= 0, y[np.clip(pos, 0, None)], np.nan)


def aggregate(trajectories: Sequence[pd.DataFrame], x: str = "cum_budget", y: str = "regret",
              grid: np.ndarray | None = None, n_points: int = 200, log: bool = True
              ) -> pd.DataFrame:
    """Mean and standard error of several runs' step functions on a common grid.

    Parameters
    ----------
    trajectories
        Outputs of :func:`incumbent_trajectory`, one per seed.
    x, y
        Columns to use as abscissa (``cum_budget`` or ``wallclock``) and value.
    grid
        Abscissa points; default ``n_points`` points spanning the runs' range (log-spaced if
        ``log``).

    Returns
    -------
    pandas.DataFrame
        Columns ``x``, ``mean``, ``sem``, ``median``, ``n`` (runs with a value at that point).
    """
    if not trajectories:
        raise ValueError("trajectories: got an empty sequence; pass at least one run")
    xs = [t[x].to_numpy(float) for t in trajectories]
    ys = [t[y].to_numpy(float) for t in trajectories]
    if grid is None:
        lo = min((float(v[0]) for v in xs if len(v)), default=1.0)
        hi = max((float(v[-1]) for v in xs if len(v)), default=1.0)
        if log and lo > 0:
            grid = np.geomspace(lo, max(hi, lo), n_points)
        else:
            grid = np.linspace(lo, max(hi, lo), n_points)
    grid = np.asarray(grid, dtype=float)
    vals = np.vstack([_step_values(a, b, grid) for a, b in zip(xs, ys, strict=True)])
    with np.errstate(invalid="ignore"), _quiet():
        mean = np.nanmean(vals, axis=0)
        median = np.nanmedian(vals, axis=0)
    return pd.DataFrame({"x": grid, "mean": mean, "sem": standard_error(vals),
                         "median": median, "n": np.sum(np.isfinite(vals), axis=0)})


class _quiet:
    def __enter__(self):
        import warnings

        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        self._w.__exit__(*exc)


def final_values(trajectories: Sequence[pd.DataFrame], at: float, x: str = "cum_budget",
                 y: str = "regret") -> tuple[float, float, int]:
    """Mean, standard error and count of ``y`` at abscissa ``at`` across runs."""
    agg = aggregate(trajectories, x=x, y=y, grid=np.array([float(at)]))
    return float(agg["mean"].iloc[0]), float(agg["sem"].iloc[0]), int(agg["n"].iloc[0])
