"""Pareto fronts and hypervolume for multi-objective results (all objectives minimized).

* :func:`pareto_mask` / :func:`pareto_front` -- the non-dominated points;
* :func:`non_dominated_sort` -- all fronts, as in NSGA-II (Deb et al. 2002), from one
  vectorized domination matrix;
* :func:`hypervolume` -- the exact volume dominated by a set and bounded by a reference point:
  a sort-and-sweep in 2-D (O(n log n)), the WFG algorithm (While, Bradstreet & Barone 2012:
  sum of exclusive contributions computed recursively on non-dominated "limit sets") for 3
  or more objectives; :func:`hypervolume_inclusion_exclusion` is the textbook formula, exact
  and exponential in the number of points (kept for testing small fronts).
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np


def _points(F: Any, name: str = "F") -> np.ndarray:
    F = np.asarray(F, dtype=float)
    if F.ndim == 1:
        F = F[None, :] if F.size else F.reshape(0, 1)
    if F.ndim != 2:
        raise ValueError(f"{name}: got an array of shape {F.shape}; pass (n_points, n_objectives)")
    if not np.all(np.isfinite(F)):
        raise ValueError(f"{name}: contains non-finite values; all objective values must be finite")
    return F


def domination_matrix(F: Any) -> np.ndarray:
    """``D[i, j]`` is True when point ``i`` dominates point ``j`` (<= everywhere, < somewhere)."""
    F = _points(F)
    le = np.all(F[:, None, :] <= F[None, :, :], axis=2)
    lt = np.any(F[:, None, :] < F[None, :, :], axis=2)
    return le & lt


def pareto_mask(F: Any) -> np.ndarray:
    """Boolean mask of the non-dominated points (duplicates of a front point all stay)."""
    F = _points(F)
    n = len(F)
    mask = np.ones(n, dtype=bool)
    chunk = max(1, 2_000_000 // max(1, n * F.shape[1]))
    for start in range(0, n, chunk):
        block = F[start:start + chunk]
        le = np.all(F[None, :, :] <= block[:, None, :], axis=2)
        lt = np.any(F[None, :, :] < block[:, None, :], axis=2)
        mask[start:start + chunk] = ~np.any(le & lt, axis=1)
    return mask


def pareto_front(F: Any) -> np.ndarray:
    """Indices of the non-dominated points, sorted by the first objective."""
    F = _points(F)
    idx = np.flatnonzero(pareto_mask(F))
    return idx[np.lexsort(F[idx].T[::-1])]


def non_dominated_sort(F: Any) -> list[np.ndarray]:
    """Fronts of non-dominated sorting: ``fronts[0]`` is the Pareto front, ``fronts[1]`` the
    front of the rest, etc. (each an index array, ascending)."""
    F = _points(F)
    D = domination_matrix(F)
    count = D.sum(axis=0)
    fronts = []
    current = np.flatnonzero(count == 0)
    while current.size:
        fronts.append(current)
        count = count - D[current].sum(axis=0)
        count[current] = -1
        current = np.flatnonzero(count == 0)
    return fronts


def hypervolume(F: Any, ref: Any) -> float:
    """Exact hypervolume dominated by the points ``F`` and bounded by ``ref`` (minimization).

    Points that do not strictly dominate ``ref`` in every objective add nothing. Uses a sweep
    for 1 and 2 objectives and the WFG algorithm for more.

    Parameters
    ----------
    F
        ``(n_points, n_objectives)`` objective values.
    ref
        Reference point, ``(n_objectives,)``; worse than every point that should count.
    """
    F = _points(F)
    ref = np.asarray(ref, dtype=float).ravel()
    if len(F) and ref.shape != (F.shape[1],):
        raise ValueError(f"ref: got shape {ref.shape}; it must have one value per objective "
                         f"({F.shape[1]})")
    if not np.all(np.isfinite(ref)):
        raise ValueError(f"ref: got {ref.tolist()}; all values must be finite")
    F = F[np.all(F < ref, axis=1)]
    if not len(F):
        return 0.0
    F = np.unique(F[pareto_mask(F)], axis=0)
    return float(_wfg(F, ref))


def _hv2d(F: np.ndarray, ref: np.ndarray) -> float:
    F = F[np.lexsort((F[:, 1], F[:, 0]))]
    best = np.minimum.accumulate(F[:, 1])
    prev = np.concatenate([[ref[1]], best[:-1]])
    return float(np.sum((ref[0] - F[:, 0]) * np.maximum(prev - best, 0.0)))


def _wfg(F: np.ndarray, ref: np.ndarray) -> float:
    """Hypervolume of a non-dominated set ``F`` (all points strictly better than ``ref``)."""
    n, d = F.shape
    if n == 0:
        return 0.0
    if d == 1:
        return float(ref[0] - F[:, 0].min())
    if d == 2:
        return _hv2d(F, ref)
    if n == 1:
        return float(np.prod(ref - F[0]))
    # process points by the last objective, worst first: limit sets then stay small
    F = F[np.argsort(-F[:, -1], kind="stable")]
    total = 0.0
    for i in range(n):
        total += np.prod(ref - F[i]) - _wfg(_limit(F, i), ref)
    return float(total)


def _limit(F: np.ndarray, i: int) -> np.ndarray:
    """Non-dominated set of the parts of points ``i+1..`` that lie inside point ``i``'s box."""
    rest = np.maximum(F[i + 1:], F[i])
    if not len(rest):
        return rest
    rest = np.unique(rest, axis=0)
    return rest[pareto_mask(rest)]


def hypervolume_inclusion_exclusion(F: Any, ref: Any) -> float:
    """Hypervolume by inclusion-exclusion over all subsets (exact; only for small sets,
    cost ``2^n``)."""
    F = _points(F)
    ref = np.asarray(ref, dtype=float).ravel()
    F = F[np.all(F < ref, axis=1)]
    if len(F) > 20:
        raise ValueError(f"F: got {len(F)} points; inclusion-exclusion is limited to 20")
    total = 0.0
    for r in range(1, len(F) + 1):
        sign = 1.0 if r % 2 else -1.0
        for subset in combinations(range(len(F)), r):
            corner = F[list(subset)].max(axis=0)
            total += sign * float(np.prod(ref - corner))
    return total
