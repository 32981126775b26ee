"""Several fidelities at once: optimizers whose budget has two or more dimensions.

A *fidelity spec* names each dimension and its range, e.g.
``fidelities={"epochs": (1, 27), "fraction": (1 / 27, 1.0)}``; the target fidelity is every
dimension at its maximum. A dimension whose bounds are both integers takes integer values
(epochs); ``(hi, hi)`` fixes a dimension at ``hi``.

Trials keep lowfi's scalar budget, so every run loop, executor, storage back end and stopping
rule works unchanged. The scalar is the **relative cost** of the fidelity point under a
multiplicative cost model, ``budget = max_budget * prod_i (v_i / hi_i)`` (clipped to
``[min_budget, max_budget]``), e.g. half the epochs on half the data is a quarter of
``max_budget``. The fidelity point itself travels in ``trial.info["fidelity"]`` (a dict
``{dimension: value}``); an objective ``objective(config, budget, trial)`` reads it with
:func:`fidelity_of`, and the multi-fidelity benchmarks take it as ``evaluate(config, budget,
fidelity=...)``.

Two optimizers:

:class:`PathHyperband` (``"multi-hyperband"``)
    Hyperband (Li et al., JMLR 2017) over the scalar resource ``r``, with a **fidelity path**
    mapping ``r`` to a point of the fidelity box: dimension ``i`` gets ``v_i = hi_i *
    (r / max_budget) ** w_i`` (clipped at ``lo_i``, rounded for integer dimensions), with
    weights ``w`` summing to one, so that the relative cost of the point is ``r / max_budget``
    on every rung. ``path="diagonal"`` (default) splits the resource equally (``w_i = 1/k``:
    for eta=3 each rung triples epochs *and* data by ``sqrt(3)``); a dict of weights sets any
    split; a dimension's name advances that dimension alone (the others stay at their
    maximum), which is how single-fidelity Hyperband on epochs or on data is written in this
    interface. ``proposer=`` takes any :class:`~lowfi.optimizers.base.Proposer`, e.g. BOHB's
    ``KDEProposer`` for a model-based variant.

:class:`MultiFidelityGP` (``"multi-mfbo"``)
    A GP over ``(configuration, fidelity vector)`` that chooses the configuration *and* the
    fidelity point by the **augmented expected improvement** of Huang, Allen, Notz & Miller
    ("Sequential kriging optimization using multiple-fidelity evaluations", Struct.
    Multidisc. Optim. 32, 2006), with the fidelity level generalized to a vector::

        aEI(x, z) = EI(x, z*) * corr[f(x, z), f(x, z*)] * (1 - sigma_eps / sqrt(s^2(x, z) + sigma_eps^2))
                    * cost(z*) / cost(z)

    ``EI(x, z*)`` is expected improvement at the target fidelity over the *effective best
    solution* ``min_x' [mu(x', z*) + sd(x', z*)]`` over evaluated configurations; the
    correlation term discounts fidelity points that say little about the target, the second
    term discounts points whose noise is large against what is unknown (``sigma_eps`` is
    estimated per fidelity point by :meth:`MultiFidelityGP.noise_by_point`), and the cost ratio
    rewards cheap points. The GP's kernel is Matern-5/2 ARD over the configuration features
    and ``s_i = log(v_i / lo_i) / log(hi_i / lo_i)`` of each fidelity dimension, so the fit
    learns how far each dimension decorrelates from the target. The cost model is a power
    law ``log cost = a + sum_i b_i log v_i`` fitted by ridge regression towards the
    multiplicative prior ``b_i = 1`` on the measured costs (``Result.cost``, else the scalar
    budget). Candidate points are a pool of random and locally perturbed configurations
    crossed with a grid of ``n_levels`` geometric levels per dimension, keeping the points
    whose relative cost is at least ``min_budget / max_budget`` (the cheapest evaluation
    allowed, like Hyperband's smallest rung). The recommendation
    (lowest predicted target loss among evaluated configurations) is evaluated at the target
    whenever it has not been and verifications stay within ``verify_share`` of the cost, as
    for :class:`~lowfi.optimizers.mfbo.MFBO`, so :meth:`incumbent` ends with a measured
    target-fidelity loss.
"""

from __future__ import annotations

import itertools
import math
import numbers
from typing import Any

import numpy as np

from lowfi.core.seeding import SeedLike
from lowfi.core.trial import Result, TrialRecord
from lowfi.optimizers.base import Optimizer, Proposer, check_budgets
from lowfi.optimizers.hyperband import Hyperband

__all__ = ["FidelitySpace", "PathHyperband", "MultiFidelityGP", "fidelity_of"]


def fidelity_of(trial: Any) -> dict[str, float] | None:
    """The fidelity point ``{dimension: value}`` of a trial from a several-fidelity optimizer
    (None for trials of other optimizers)."""
    info = getattr(trial, "info", None) or {}
    fid = info.get("fidelity")
    return None if fid is None else dict(fid)


class FidelitySpace:
    """The fidelity box: ``{name: (lo, hi)}`` with ``0 < lo <= hi``; integer bounds make an
    integer dimension."""

    def __init__(self, fidelities: Any):
        if not isinstance(fidelities, dict) or not fidelities:
            raise ValueError(f"fidelities: got {fidelities!r}; allowed is a non-empty dict "
                             "{name: (min, max)}, e.g. {'epochs': (1, 27), 'fraction': (0.04, 1.0)}")
        self.names: list[str] = []
        self.lo: list[float] = []
        self.hi: list[float] = []
        self.is_int: list[bool] = []
        for name, bounds in fidelities.items():
            ok = (isinstance(name, str) and isinstance(bounds, tuple | list) and len(bounds) == 2
                  and all(isinstance(b, numbers.Real) and not isinstance(b, bool)
                          and math.isfinite(b) for b in bounds))
            if not ok or not 0 < bounds[0] <= bounds[1]:
                raise ValueError(f"fidelities[{name!r}]: got {bounds!r}; allowed is (min, max) "
                                 "with 0 < min <= max")
            self.names.append(name)
            self.lo.append(float(bounds[0]))
            self.hi.append(float(bounds[1]))
            self.is_int.append(all(isinstance(b, numbers.Integral) for b in bounds))
        self.k = len(self.names)

    def target(self) -> dict[str, float]:
        return self.point(self.hi)

    def point(self, values: Any) -> dict[str, float]:
        """``{name: value}`` with values clipped to the box and integer dimensions rounded."""
        out = {}
        for i, v in enumerate(values):
            v = min(max(float(v), self.lo[i]), self.hi[i])
            out[self.names[i]] = int(math.floor(v + 0.5)) if self.is_int[i] else v
        return out

    def relative_cost(self, point: dict[str, float]) -> float:
        """``prod_i v_i / hi_i``: the share of the target's cost under a multiplicative cost."""
        return float(np.prod([float(point[n]) / h for n, h in zip(self.names, self.hi)]))

    def scaled(self, point: dict[str, float]) -> np.ndarray:
        """``s_i = log(v_i / lo_i) / log(hi_i / lo_i)`` in [0, 1] (1 for fixed dimensions)."""
        s = np.ones(self.k)
        for i, n in enumerate(self.names):
            if self.hi[i] > self.lo[i]:
                s[i] = math.log(float(point[n]) / self.lo[i]) / math.log(self.hi[i] / self.lo[i])
        return s

    def grid(self, n_levels: int) -> list[dict[str, float]]:
        """All points with ``n_levels`` geometric levels per dimension (duplicates after
        rounding removed), ordered by relative cost; the target is the last."""
        axes = []
        for i in range(self.k):
            if self.hi[i] == self.lo[i]:
                axes.append([self.hi[i]])
            else:
                axes.append(list(self.lo[i] * (self.hi[i] / self.lo[i]) ** np.linspace(0, 1, n_levels)))
        pts, seen = [], set()
        for combo in itertools.product(*axes):
            p = self.point(combo)
            key = tuple(p.values())
            if key not in seen:
                seen.add(key)
                pts.append(p)
        pts.sort(key=lambda p: (self.relative_cost(p), tuple(p.values())))
        return pts


def _spec(fidelities: Any, min_budget: float, max_budget: float) -> FidelitySpace:
    if fidelities is None:  # one dimension: the scalar budget itself
        lo, hi = min_budget, max_budget
        return FidelitySpace({"budget": (lo, hi)})
    return FidelitySpace(fidelities)


def _scalar(fs: FidelitySpace, point: dict[str, float], min_budget: float, max_budget: float) -> float:
    return min(max(max_budget * fs.relative_cost(point), min_budget), max_budget)


class PathHyperband(Hyperband):
    """Hyperband along a path through several fidelity dimensions (see the module docstring).

    Parameters
    ----------
    space
        The configuration space.
    min_budget, max_budget, eta
        The scalar resource of Hyperband; ``min_budget / max_budget`` is the relative cost of
        the cheapest rung.
    fidelities
        ``{name: (min, max)}``; None: one dimension named ``"budget"`` spanning
        ``(min_budget, max_budget)`` (plain Hyperband).
    path
        ``"diagonal"`` (equal weights), a dimension name (that dimension alone) or a dict of
        non-negative weights ``{name: w}`` (normalized to sum to one).
    proposer, seed, max_brackets, budget_type
        As for :class:`~lowfi.optimizers.hyperband.Hyperband`.
    """

    def __init__(self, space: Any, min_budget: float, max_budget: float, eta: float = 3,
                 fidelities: dict[str, tuple[float, float]] | None = None,
                 path: str | dict[str, float] = "diagonal", proposer: Proposer | None = None,
                 seed: SeedLike = None, max_brackets: int | None = None, budget_type: Any = None):
        super().__init__(space, min_budget, max_budget, eta, proposer, seed, max_brackets,
                         budget_type)
        self.fidelity_space = _spec(fidelities, self.min_budget, self.max_budget)
        self.weights = self._weights(path)
        self.path = path

    def _weights(self, path: Any) -> np.ndarray:
        fs = self.fidelity_space
        if path == "diagonal":
            return np.full(fs.k, 1.0 / fs.k)
        if isinstance(path, str) and path in fs.names:
            return np.array([1.0 if n == path else 0.0 for n in fs.names])
        if isinstance(path, dict) and set(path) <= set(fs.names) and all(
                isinstance(w, numbers.Real) and not isinstance(w, bool) and w >= 0
                for w in path.values()) and sum(path.values()) > 0:
            w = np.array([float(path.get(n, 0.0)) for n in fs.names])
            return w / w.sum()
        raise ValueError(f"path: got {path!r}; allowed are 'diagonal', one of the fidelity names "
                         f"{fs.names}, or a dict of non-negative weights over those names")

    def fidelity(self, budget: float) -> dict[str, float]:
        """The fidelity point of scalar resource ``budget``."""
        rho = float(budget) / self.max_budget
        fs = self.fidelity_space
        return fs.point([h * rho ** w for h, w in zip(fs.hi, self.weights)])

    def _new_trial(self, config: dict[str, Any], budget: float, config_id: int | None = None,
                   **info: Any) -> TrialRecord:
        return super()._new_trial(config, budget, config_id, fidelity=self.fidelity(budget), **info)


class MultiFidelityGP(Optimizer):
    """GP Bayesian optimization over a fidelity box by augmented EI (see the module docstring).

    Parameters
    ----------
    space
        The configuration space.
    min_budget, max_budget
        Range of the scalar budget trials carry (relative cost times ``max_budget``).
    eta
        Accepted for the common optimizer signature; unused.
    fidelities
        ``{name: (min, max)}``; None: one dimension ``"budget"`` over ``(min_budget, max_budget)``.
    n_levels
        Geometric levels per dimension in the candidate grid.
    n_initial
        Random (configuration, grid point) pairs before the model is used; the last one is at
        the target.
    n_candidates
        Random configurations in each pool (plus as many local perturbations of the best).
    verify_share
        Largest share of the cost spent on evaluating the recommendation at the target.
    max_trials
        Stop asking after this many trials (the last one a verification if needed).
    seed
        Seed of everything random.
    """

    multi_fidelity = True

    def __init__(self, space: Any, min_budget: float, max_budget: float, eta: float = 3,
                 fidelities: dict[str, tuple[float, float]] | None = None, n_levels: int = 4,
                 n_initial: int = 6, n_candidates: int = 300, verify_share: float = 0.2,
                 max_trials: int | None = None, seed: SeedLike = None):
        super().__init__(space, seed)
        self.min_budget, self.max_budget, _ = check_budgets(min_budget, max_budget)
        self.fidelity_space = _spec(fidelities, self.min_budget, self.max_budget)
        for name, v, low in (("n_levels", n_levels, 2), ("n_initial", n_initial, 2),
                             ("n_candidates", n_candidates, 1)):
            if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v < low:
                raise ValueError(f"{name}: got {v!r}; it must be an int >= {low}")
        if max_trials is not None and (not isinstance(max_trials, numbers.Integral) or max_trials < 1):
            raise ValueError(f"max_trials: got {max_trials!r}; allowed are None or an int >= 1")
        from lowfi.optimizers.mfbo import _check_share

        self.verify_share = _check_share(verify_share)
        self.n_levels, self.n_initial, self.n_candidates = int(n_levels), int(n_initial), int(n_candidates)
        self.max_trials = max_trials
        # grid points no cheaper than min_budget / max_budget of the target's cost
        floor = self.min_budget / self.max_budget * (1 - 1e-9)
        self.grid = [p for p in self.fidelity_space.grid(self.n_levels)
                     if self.fidelity_space.relative_cost(p) >= floor]
        self._S = np.array([self.fidelity_space.scaled(p) for p in self.grid])  # (G, k)
        self._Sz = self.fidelity_space.scaled(self.fidelity_space.target())
        self.model = None
        self.cost_coef: np.ndarray | None = None
        self.last_scores: np.ndarray | None = None

    # ------------------------------------------------------------------ helpers
    def _features(self):
        if getattr(self, "_feat", None) is None:
            from lowfi.models.gp import GPFeatures

            self._feat = GPFeatures(self.space)
        return self._feat

    def _inputs(self, X: np.ndarray, S: np.ndarray) -> np.ndarray:
        F = self._features().transform(X)
        S = np.broadcast_to(np.atleast_2d(S), (len(F), self.fidelity_space.k))
        return np.hstack([F, S])

    def _make(self, config: dict[str, Any], point: dict[str, float], **info: Any) -> TrialRecord:
        budget = _scalar(self.fidelity_space, point, self.min_budget, self.max_budget)
        if point == self.fidelity_space.target():
            budget = self.max_budget
        return self._new_trial(config, budget, fidelity=dict(point), **info)

    def _observations(self):
        """Records with a fidelity point, their encodings, scaled points and losses; a failed
        record gets the worst loss seen (as the other model-based optimizers), so that the
        model learns to avoid a region where evaluations crash."""
        recs = [r for r in self.history.records if r.info.get("fidelity") is not None
                and (r.failed or (isinstance(r.loss, numbers.Real)
                                  and not isinstance(r.loss, bool)))]
        ok = [float(r.loss) for r in recs if not r.failed and math.isfinite(float(r.loss))]
        if not ok:  # nothing succeeded yet: a failure has no loss to stand in for
            recs = [r for r in recs if not r.failed]
        worst = max(ok) if ok else np.nan
        X = self.space.encode([r.config for r in recs]) if recs else np.empty((0, self.space.dim))
        S = np.array([self.fidelity_space.scaled(r.info["fidelity"]) for r in recs]).reshape(
            len(recs), self.fidelity_space.k)
        y = np.array([worst if r.failed else r.loss for r in recs], dtype=float)
        return recs, X, S, y

    def _log_fid(self, points: list[dict[str, float]]) -> np.ndarray:
        fs = self.fidelity_space
        return np.array([[math.log(float(p[n]) / h) for n, h in zip(fs.names, fs.hi)] for p in points])

    def fit_cost(self) -> None:
        """Ridge fit of ``log cost = a + sum_i b_i log(v_i / hi_i)`` towards ``b_i = 1``."""
        # a failed trial's cost (the time until it crashed) is not what an evaluation costs
        recs = [r for r in self.history.records if r.info.get("fidelity") is not None
                and not r.failed]
        k = self.fidelity_space.k
        if len(recs) < 2:
            self.cost_coef = np.concatenate([[0.0], np.ones(k)])
            return
        L = self._log_fid([r.info["fidelity"] for r in recs])
        c = np.array([r.cost if r.cost is not None and r.cost > 0 else r.budget for r in recs], float)
        A = np.hstack([np.ones((len(recs), 1)), L])
        lam = np.diag([1e-6] + [1.0] * k)
        prior = np.concatenate([[0.0], np.ones(k)])
        y = np.log(np.maximum(c, 1e-12))
        self.cost_coef = np.linalg.solve(A.T @ A + lam, A.T @ y + lam @ prior)

    def predicted_cost(self, points: list[dict[str, float]]) -> np.ndarray:
        if self.cost_coef is None:
            self.fit_cost()
        L = self._log_fid(points)
        return np.exp(self.cost_coef[0] + L @ self.cost_coef[1:])

    def fit_models(self) -> bool:
        recs, X, S, y = self._observations()
        self.fit_cost()
        if len(y) < 2 or np.ptp(y) == 0:
            self.model = None
            return False
        from lowfi.models.gp import GP

        if self.model is None:
            self.model = GP(seed=int(self.rng.integers(2**31)))
        # hyperparameters refitted at every fit up to 30 observations, then at every third
        self.model.fit(self._inputs(X, S), y, optimize=len(y) < 30 or len(y) % 3 == 0)
        return True

    def recommend(self) -> tuple[dict[str, Any], float] | None:
        """The evaluated configuration with the lowest predicted loss at the target fidelity,
        and that prediction (None before any result)."""
        recs, X, _, y = self._observations()
        keep = [i for i, r in enumerate(recs) if not r.failed]  # never recommend a crash
        recs, X, y = [recs[i] for i in keep], X[keep], y[keep]
        if not recs:
            return None
        if self.model is None:
            i = int(np.argmin(y))
            return dict(recs[i].config), float(y[i])
        keys, rows = {}, []
        for r, x in zip(recs, X):
            k = self.space.key(r.config)
            if k not in keys:
                keys[k] = len(rows)
                rows.append((r.config, x))
        mean, _ = self.model.predict(self._inputs(np.array([x for _, x in rows]), self._Sz))
        i = int(np.argmin(mean))
        return dict(rows[i][0]), float(mean[i])

    def _target_keys(self) -> set:
        """Configurations measured, being measured, or failed at ``max_budget`` (a failed
        verification is not asked again)."""
        return {self.space.key(r.config) for r in self.history.records
                if r.budget == self.max_budget} | {
            self.space.key(t.config) for t in self.history.pending.values()
            if t.budget == self.max_budget}

    def _verification(self, force: bool = False) -> dict[str, Any] | None:
        rec = self.recommend()
        if rec is None or self.space.key(rec[0]) in self._target_keys():
            return None
        if force:
            return rec[0]
        from lowfi.optimizers.mfbo import verification_due

        costs = [(r.cost if r.cost is not None else r.budget, r.info.get("verification", False))
                 for r in self.history.records]
        spent = sum(c for c, _ in costs)
        verified = sum(c for c, v in costs if v)
        full = float(self.predicted_cost([self.fidelity_space.target()])[0])
        return rec[0] if verification_due(spent, verified, full, self.verify_share) else None

    def ask_verification(self) -> TrialRecord | None:
        """A trial evaluating the recommendation at the target fidelity, or None when it has
        been measured there (call it before ending a run of your own)."""
        self.fit_models()
        config = self._verification(force=True)
        if config is None:
            return None
        trial = self._make(config, self.fidelity_space.target(), verification=True)
        self.history.add_pending(trial)
        return trial

    # ------------------------------------------------------------------ ask
    def _ask(self) -> TrialRecord | None:
        n = self._next_trial_id
        if self.max_trials is not None and n >= self.max_trials:
            return None
        if n < self.n_initial:
            config = self.space.to_dicts(self.space.sample_vectors(self.rng, 1))[0]
            point = (self.fidelity_space.target() if n == self.n_initial - 1
                     else self.grid[int(self.rng.integers(len(self.grid)))])
            return self._make(config, point, initial=True)
        fitted = self.fit_models()
        last = self.max_trials is not None and n == self.max_trials - 1
        if fitted:
            config = self._verification(force=last)
            if config is not None:
                return self._make(config, self.fidelity_space.target(), verification=True)
        if not fitted:
            config = self.space.to_dicts(self.space.sample_vectors(self.rng, 1))[0]
            return self._make(config, self.grid[int(self.rng.integers(len(self.grid)))])
        config, point, score = self._select()
        return self._make(config, point, score=score)

    def _pool(self) -> np.ndarray:
        from lowfi.optimizers.gp import local_candidates

        _, X, _, _ = self._observations()
        mean, _ = self.model.predict(self._inputs(X, self._Sz))
        top = X[np.argsort(mean)[: min(5, len(mean))]]
        return np.vstack([self.space.sample_vectors(self.rng, self.n_candidates),
                          local_candidates(self.space, top, self.rng, self.n_candidates), top])

    def noise_by_point(self, prior_weight: float = 2.0) -> np.ndarray:
        """Noise variance of each grid point: the mean squared residual of the GP's posterior
        mean at the observations made there, shrunk towards the GP's (homoscedastic) noise
        variance with ``prior_weight`` pseudo-observations (Huang et al. give each fidelity
        level its own random-error variance)."""
        recs, X, S, y = self._observations()
        keep = [i for i, r in enumerate(recs) if not r.failed]  # measured noise only
        recs, X, S, y = [recs[i] for i in keep], X[keep], S[keep], y[keep]
        glob = self.model.noise_var
        if not recs:
            return np.full(len(self.grid), glob)
        mean, _ = self.model.predict(self._inputs(X, S))
        res2 = (y - mean) ** 2
        index = {tuple(p.values()): j for j, p in enumerate(self.grid)}
        sums, counts = np.zeros(len(self.grid)), np.zeros(len(self.grid))
        for r, e in zip(recs, res2):
            j = index.get(tuple(r.info["fidelity"].values()))
            if j is not None:
                sums[j] += e
                counts[j] += 1
        return (sums + prior_weight * glob) / (counts + prior_weight)

    def _select(self) -> tuple[dict[str, Any], dict[str, float], float]:
        from lowfi.optimizers.gp import expected_improvement

        pool = self._pool()
        P, G = len(pool), len(self.grid)
        gp = self.model
        mu_t, var_t = gp.predict(self._inputs(pool, self._Sz))
        _, X, _, _ = self._observations()
        mu_e, var_e = gp.predict(self._inputs(X, self._Sz))
        # effective best solution (Huang et al. 2006): the mean at x** = argmin(mu + sd)
        best = float(mu_e[int(np.argmin(mu_e + np.sqrt(np.maximum(var_e, 0))))])
        ei = expected_improvement(mu_t, np.maximum(var_t, 1e-18), best)  # (P,)
        noise = np.repeat(self.noise_by_point(), P)  # (G * P,) per-fidelity noise variance
        cost = self.predicted_cost(self.grid)
        c_target = float(self.predicted_cost([self.fidelity_space.target()])[0])
        # one stacked call for all grid points: rows (j, i) = pool[i] at grid point j
        Xt = self._inputs(pool, self._Sz)
        Xall = np.vstack([self._inputs(pool, self._S[j]) for j in range(G)])
        _, var_all = gp.predict(Xall)
        cov = gp.posterior_cov(Xall, np.tile(Xt, (G, 1)), pairwise=True)
        var_all = np.maximum(var_all, 1e-18)
        corr = (cov / np.sqrt(var_all * np.tile(np.maximum(var_t, 1e-18), G))).reshape(G, P).T
        shrink = (1.0 - np.sqrt(noise) / np.sqrt(var_all + noise)).reshape(G, P).T
        scores = (ei[:, None] * np.clip(corr, 0, 1) * shrink * (c_target / cost)[None, :])
        # running pairs, and pairs that failed (the GP never sees a failure, so it would keep
        # proposing a crashing configuration where its prediction looks good)
        busy = {(self.space.key(t.config), tuple(t.info["fidelity"].values()))
                for t in self.history.pending.values() if t.info.get("fidelity") is not None}
        busy |= {(self.space.key(r.config), tuple(r.info["fidelity"].values()))
                 for r in self.history.records if r.failed and r.info.get("fidelity") is not None}
        configs = self.space.to_dicts(pool)
        blocked_target = np.zeros(P, dtype=bool)
        if busy:
            for i, c in enumerate(configs):
                k = self.space.key(c)
                for j, p in enumerate(self.grid):
                    if (k, tuple(p.values())) in busy:
                        scores[i, j] = -np.inf
                blocked_target[i] = not np.isfinite(scores[i, G - 1])
        self.last_scores = scores
        flat = int(np.argmax(scores))
        i, j = divmod(flat, G)
        if not scores[i, j] > 0:  # nothing left to gain: exploit at the target
            i, j = int(np.argmin(np.where(blocked_target, np.inf, mu_t))), G - 1
        return configs[i], dict(self.grid[j]), float(scores[i, j])

    def _tell(self, trial: TrialRecord, result: Result) -> None:
        pass
