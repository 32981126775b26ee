"""SMAC-style Bayesian optimization with a random forest (Hutter, Hoos & Leyton-Brown 2011).

"Sequential Model-Based Optimization for General Algorithm Configuration" (LION 5), as used
for the full-budget SMAC baseline of NAS-Bench-101 (Ying et al. 2019). One iteration:

1. fit a random forest (:class:`lowfi.models.random_forest.RandomForest`, 10 trees, leaf mean
   and law-of-total-variance variance) to the encoded configurations and their losses
   (optionally log-scaled, as SMAC's HPO facade does); inactive parameters are imputed;
2. maximize expected improvement over the best observed (transformed) loss by local search
   in the one-exchange neighbourhood, started from the best observed configurations, plus a
   set of random configurations (SMAC's "local and sorted random search");
3. with probability ``random_fraction`` return a random configuration instead (SMAC's
   interleaved random configurations, which keep the guarantee of eventually exploring the
   whole space).

The first ``n_init`` configurations are random (the initial design). Failed trials count as the
worst loss seen. Configurations already evaluated or pending are never proposed again while the
acquisition function offers another one (so parallel workers get distinct configurations).

Overhead is kept low (see ``benchmarks/smac_overhead.py``): the forest is refit only when new
results arrived, the neighbourhood of all local-search points is generated and scored in one
numpy batch per step, and the local search stops as soon as no point improves.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from scipy.special import ndtr

from lowfi.core.history import History
from lowfi.core.seeding import SeedLike, spawn
from lowfi.core.trial import Trial
from lowfi.models.random_forest import RandomForest
from lowfi.optimizers.base import BlackBox, Proposer
from lowfi.space import Space

_SQRT_2PI = np.sqrt(2.0 * np.pi)


def expected_improvement(
    mean: np.ndarray, var: np.ndarray, best: float, xi: float = 0.0
) -> np.ndarray:
    """Expected improvement below ``best`` of a Gaussian with ``mean`` and ``var`` (minimization).

    ``EI = (best - mean - xi) * Phi(z) + sd * phi(z)`` with ``z = (best - mean - xi) / sd``;
    where ``sd == 0`` it is ``max(best - mean - xi, 0)``.
    """
    mean = np.asarray(mean, dtype=float)
    sd = np.sqrt(np.maximum(np.asarray(var, dtype=float), 0.0))
    imp = best - mean - xi
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(sd > 0, imp / np.where(sd > 0, sd, 1.0), 0.0)
    ei = imp * ndtr(z) + sd * np.exp(-0.5 * z * z) / _SQRT_2PI
    return np.where(sd > 0, np.maximum(ei, 0.0), np.maximum(imp, 0.0))


def log_scaled(y: np.ndarray) -> np.ndarray:
    """Losses rescaled to (0, 1] and log-transformed, so the model resolves the good end.

    The minimum is shifted below the best loss by the distance from the best loss to the 5 %
    quantile (at least 1e-3 of the range), so the best loss maps to a finite value.
    """
    y = np.asarray(y, dtype=float)
    lo, hi = float(y.min()), float(y.max())
    if not hi > lo:
        return np.zeros_like(y)
    shift = max(float(np.quantile(y, 0.05)) - lo, 1e-3 * (hi - lo))
    return np.log((y - lo + shift) / (hi - lo + shift))


def one_exchange_neighbours(
    space: Space,
    P: np.ndarray,
    rng: np.random.Generator,
    n_numerical: int = 4,
    max_categorical: int = 16,
    sd: float = 0.2,
) -> tuple[np.ndarray, np.ndarray]:
    """Neighbours of encoded points ``P`` that differ in exactly one active parameter.

    Categoricals: every other value (a random ``max_categorical`` of them if there are more);
    ordinals: the adjacent values; integers: the adjacent values plus ``n_numerical - 2``
    Gaussian moves; floats: ``n_numerical`` Gaussian moves with standard deviation ``sd`` in
    the encoded [0, 1] space (SMAC's one-exchange neighbourhood). Rows are repaired (conditions
    applied, discrete values snapped); forbidden rows and rows equal to their origin are dropped.

    Returns
    -------
    (N, origin)
        Neighbour rows and, for each, the index of the row of ``P`` it came from.
    """
    P = np.asarray(P, dtype=float)
    blocks, origins = [], []
    for j, kind in enumerate(space.kinds):
        if kind == "const":
            continue
        rows = np.flatnonzero(~np.isnan(P[:, j]))
        if len(rows) == 0:
            continue
        cur = P[rows, j]
        if kind == "cat":
            k = int(space.n_choices[j])
            if k < 2:
                continue
            m = min(k - 1, max_categorical)
            if m == k - 1:
                offs = np.broadcast_to(np.arange(1, k), (len(rows), k - 1))
            else:  # a random subset of the other values
                offs = np.argsort(rng.random((len(rows), k - 1)), axis=1)[:, :m] + 1
            vals = (np.round(cur)[:, None] + offs) % k
        elif kind == "ord":
            k = int(space.n_choices[j])
            if k < 2:
                continue
            vals = np.round(cur)[:, None] + np.array([-1.0, 1.0])
            vals = np.where((vals < 0) | (vals > k - 1), np.nan, vals)
        elif kind == "int":
            hp = space.hps[j]
            if space.n_values[j] < 2:
                continue
            v = hp.to_value(np.clip(cur, 0.0, 1.0)).astype(float)
            steps = []
            for delta in (-1.0, 1.0):
                w = v + delta
                ok = (w >= hp.lower) & (w <= hp.upper)
                vec = np.full(len(v), np.nan)
                if ok.any():
                    vec[ok] = hp.to_vector(w[ok].astype(np.int64))
                steps.append(vec)
            extra = max(n_numerical - 2, 0)
            gauss = np.clip(cur[:, None] + sd * rng.standard_normal((len(rows), extra)), 0.0, 1.0)
            vals = np.column_stack(steps + [gauss]) if extra else np.column_stack(steps)
        else:
            vals = np.clip(
                cur[:, None] + sd * rng.standard_normal((len(rows), n_numerical)), 0.0, 1.0
            )
        m = vals.shape[1]
        block = np.repeat(P[rows], m, axis=0)
        block[:, j] = vals.ravel()
        keep = ~np.isnan(block[:, j])
        blocks.append(block[keep])
        origins.append(np.repeat(rows, m)[keep])
    if not blocks:
        return np.empty((0, space.dim)), np.empty(0, dtype=int)
    N = np.concatenate(blocks)
    origin = np.concatenate(origins)
    with np.errstate(invalid="ignore"):  # ConfigSpace casts NaN (inactive) integers
        N, ok = space.repair(N)
    same = _row_keys_equal(N, P[origin])
    keep = ok & ~same
    return N[keep], origin[keep]


def _snap_ints(space: Space, X: np.ndarray) -> np.ndarray:
    """``X`` with every integer parameter's encoded value moved to its grid point (the encoding
    of the integer it decodes to), so that equal configurations have equal rows."""
    cols = [j for j, k in enumerate(space.kinds) if k == "int"]
    if not cols or not len(X):
        return X
    X = np.array(X, dtype=float)
    for j in cols:
        hp = space.hps[j]
        v = X[:, j]
        ok = ~np.isnan(v)
        if ok.any():
            ints = hp.to_value(np.clip(v[ok], 0.0, 1.0))
            X[ok, j] = hp.to_vector(np.asarray(ints).astype(np.int64))
    return X


def _canon(X: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(X), -7.0, np.round(X, 8))


def _row_keys_equal(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    return np.all(_canon(A) == _canon(B), axis=1)


class RFProposer(Proposer):
    """SMAC's proposal step: random-forest model, expected improvement, local + random search.

    Parameters
    ----------
    n_init
        Random configurations before the model is used (SMAC's initial design).
    random_fraction
        Probability that a model-based proposal is replaced by a random configuration
        (SMAC's interleaved random configurations).
    n_trees
        Trees of the forest.
    log_y
        Fit the forest to log-scaled losses (:func:`log_scaled`), as SMAC's HPO facade does.
    n_random
        Random configurations scored by the acquisition function each proposal.
    n_local
        Local searches, started from the best observed configurations (plus the best
        random candidate).
    max_steps
        Maximum local-search steps (each moves every search to its best neighbour if that
        improves the expected improvement).
    n_numerical
        Neighbours per numerical parameter in the one-exchange neighbourhood.
    xi
        Exploration offset of expected improvement.
    forest_kwargs
        Further arguments of :class:`~lowfi.models.random_forest.RandomForest`.
    """

    def __init__(
        self,
        n_init: int = 10,
        random_fraction: float = 0.2,
        n_trees: int = 10,
        log_y: bool = True,
        n_random: int = 500,
        n_local: int = 10,
        max_steps: int = 20,
        n_numerical: int = 4,
        xi: float = 0.0,
        forest_kwargs: dict | None = None,
    ):
        super().__init__()
        for name, v, lo in (
            ("n_init", n_init, 0),
            ("n_trees", n_trees, 1),
            ("n_random", n_random, 0),
            ("n_local", n_local, 0),
            ("max_steps", max_steps, 0),
            ("n_numerical", n_numerical, 1),
        ):
            if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v < lo:
                raise ValueError(f"{name}: got {v!r}; it must be an integer >= {lo}")
        if not isinstance(random_fraction, numbers.Real) or not 0 <= random_fraction <= 1:
            raise ValueError(f"random_fraction: got {random_fraction!r}; it must be in [0, 1]")
        if n_random + n_local == 0:
            raise ValueError(
                "n_random, n_local: both are 0; the acquisition function needs candidates"
            )
        if not isinstance(xi, numbers.Real) or xi < 0:
            raise ValueError(f"xi: got {xi!r}; it must be a number >= 0")
        self.n_init = int(n_init)
        self.random_fraction = float(random_fraction)
        self.n_trees = int(n_trees)
        self.log_y = bool(log_y)
        self.n_random = int(n_random)
        self.n_local = int(n_local)
        self.max_steps = int(max_steps)
        self.n_numerical = int(n_numerical)
        self.xi = float(xi)
        self.forest_kwargs = dict(forest_kwargs or {})
        self.model: RandomForest | None = None
        self._fit_key: tuple | None = None
        self._y_best = np.inf
        #: where the last proposal came from: "initial", "random" or "model"
        self.last_origin: str | None = None

    def bind(self, space: Space, rng: np.random.Generator) -> RFProposer:
        super().bind(space, rng)
        self.model = RandomForest(n_trees=self.n_trees, seed=spawn(rng), **self.forest_kwargs)
        return self

    # ------------------------------------------------------------------ model
    def _fit(self, history: History, budget: float) -> bool:
        """Refit the forest if new results arrived; False when there is nothing to fit."""
        X, y = history.observations(budget, failed="worst")
        finite = np.isfinite(y)
        if finite.sum() < 2:
            return False
        key = (len(history.records), float(budget))
        if key != self._fit_key:
            X, y = X[finite], y[finite]
            yt = log_scaled(y) if self.log_y else y
            self.model.fit(X, yt)
            self._y_best = float(yt.min())
            self._X_obs, self._loss_obs = X, y
            self._fit_key = key
        return True

    def acquisition(self, X: np.ndarray) -> np.ndarray:
        """Expected improvement of encoded rows ``X`` under the current forest."""
        mean, var = self.model.predict(X)
        return expected_improvement(mean, var, self._y_best, self.xi)

    # ------------------------------------------------------------------ proposals
    def propose(self, history: History, budget: float) -> dict[str, Any]:
        asked = len(history.records) + len(history.pending)
        if asked < self.n_init:
            self.last_origin = "initial"
            return self.space.sample(self.rng)
        if self.rng.random() < self.random_fraction or not self._fit(history, budget):
            self.last_origin = "random"
            return self.space.sample(self.rng)
        self.last_origin = "model"
        X = self._maximize(history)
        return self.space.to_dicts(X)[0]

    def _maximize(self, history: History) -> np.ndarray:
        space, rng = self.space, self.rng
        cands, scores = [], []
        if self.n_random:
            R = space.sample_vectors(rng, self.n_random)
            cands.append(R)
            scores.append(self.acquisition(R))
        if self.n_local:
            order = np.argsort(self._loss_obs, kind="stable")[: self.n_local]
            starts = self._X_obs[order]
            if self.n_random:  # SMAC also starts from the best random candidates
                starts = np.vstack([starts, cands[0][np.argmax(scores[0])][None]])
            L, s = self._local_search(starts)
            cands.extend(L)
            scores.extend(s)
        C = _snap_ints(space, np.concatenate(cands))  # off-grid integers decode to seen ones
        S = np.concatenate(scores)
        excluded = _canon(_snap_ints(space, np.vstack([self._X_obs, history.pending_vectors()])))
        excluded = {row.tobytes() for row in excluded}
        order = np.argsort(-S, kind="stable")
        Cc = _canon(C)
        for i in order:
            if Cc[i].tobytes() not in excluded:
                return C[i]
        # every candidate was seen: explore, with a configuration not seen yet if one is drawn
        R = _snap_ints(space, space.sample_vectors(rng, 64))
        for row, c in zip(R, _canon(R)):
            if c.tobytes() not in excluded:
                return row
        return R[0]

    def _local_search(self, starts: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Best-improvement hill climbing of all starts at once; returns every scored row."""
        cur = starts.copy()
        cur_s = self.acquisition(cur)
        seen_X, seen_s = [cur.copy()], [cur_s.copy()]
        active = np.ones(len(cur), dtype=bool)
        for _ in range(self.max_steps):
            idx = np.flatnonzero(active)
            if len(idx) == 0:
                break
            N, origin = one_exchange_neighbours(self.space, cur[idx], self.rng, self.n_numerical)
            if len(N) == 0:
                break
            s = self.acquisition(N)
            seen_X.append(N)
            seen_s.append(s)
            # best neighbour of each search: sort by (origin, -score), take the first per origin
            order = np.lexsort((-s, origin))
            first = np.ones(len(order), dtype=bool)
            first[1:] = origin[order][1:] != origin[order][:-1]
            best = order[first]
            o = origin[best]
            improved = s[best] > cur_s[idx[o]] + 1e-12
            moved = idx[o[improved]]
            cur[moved] = N[best[improved]]
            cur_s[moved] = s[best[improved]]
            still = np.zeros(len(cur), dtype=bool)
            still[moved] = True
            active &= still
        return seen_X, seen_s


class SMAC(BlackBox):
    """SMAC-style random-forest Bayesian optimization (Hutter et al. 2011) at one budget.

    ``BlackBox`` with an :class:`RFProposer`; every trial's ``info["origin"]`` says whether
    the configuration came from the initial design, the interleaved random fraction or the
    model.

    Parameters
    ----------
    space
        The search space (ConfigSpace space, dict shorthand or :class:`lowfi.space.Space`).
    max_budget
        Budget every configuration is evaluated at.
    seed
        Seed; the same seed and results give the same configurations.
    proposer
        A ready :class:`RFProposer`; otherwise one is built from ``proposer_kwargs``
        (``n_init``, ``random_fraction``, ``n_trees``, ``log_y``, ``n_random``, ``n_local``,
        ``max_steps``, ``n_numerical``, ``xi``, ``forest_kwargs``).
    max_trials
        Stop asking after this many trials (None: never).
    """

    def __init__(
        self,
        space: Any,
        max_budget: float = 1.0,
        seed: SeedLike = None,
        proposer: RFProposer | None = None,
        max_trials: int | None = None,
        min_budget: Any = None,
        eta: Any = None,
        budget_type: Any = None,
        **proposer_kwargs: Any,
    ):
        if proposer is None:
            proposer = RFProposer(**proposer_kwargs)
        elif proposer_kwargs:
            raise TypeError(f"proposer: got a proposer and also its arguments "
                            f"{sorted(proposer_kwargs)}; pass either proposer= or the RFProposer "
                            "arguments")
        if not isinstance(proposer, RFProposer):
            raise TypeError(f"proposer: got {type(proposer).__name__}; SMAC needs an RFProposer")
        super().__init__(
            space, proposer=proposer, budget=max_budget, max_trials=max_trials, seed=seed,
            budget_type=budget_type,
        )

    def _ask(self) -> Trial | None:
        if self.max_trials is not None and self._next_trial_id >= self.max_trials:
            return None
        config = self.proposer.propose_new(self.history, self.budget)
        return self._new_trial(config, self.budget, origin=self.proposer.last_origin)
