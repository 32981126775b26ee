"""Bayesian optimization with Gaussian processes (GP BO) at one budget.

:class:`GPProposer` fits a :class:`lowfi.models.gp.GP` (Matern-5/2 ARD, marginal-likelihood
hyperparameters) to the losses seen at the requested budget and returns the configuration
that maximizes expected improvement (Jones et al. 1998) or the GP lower confidence bound
(GP-UCB of Srinivas et al. 2010, written for minimization). The acquisition is optimized by
scoring random configurations plus perturbations of the best ones, then polishing the best few
with L-BFGS-B over their continuous parameters. Running trials enter the model as
"kriging believer" fantasies (their predicted mean), so parallel asks spread out.
:class:`GPBO` is ``BlackBox(space, GPProposer(...), budget=max_budget)``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.optimize import minimize
from scipy.stats import norm

from lowfi.core.history import History
from lowfi.core.seeding import SeedLike, spawn
from lowfi.models.gp import GP, GPFeatures, blas_single_thread, check_refit_schedule, refit_due
from lowfi.optimizers.base import BlackBox, Proposer

ACQUISITIONS = ("ei", "ucb")


def expected_improvement(mean: np.ndarray, var: np.ndarray, best: float, xi: float = 0.0) -> np.ndarray:
    """EI for minimization: ``E[max(best - xi - f, 0)]`` under ``f ~ N(mean, var)``."""
    sd = np.sqrt(np.maximum(var, 1e-18))
    z = (best - xi - mean) / sd
    return sd * (z * norm.cdf(z) + norm.pdf(z))


def lower_confidence_bound(mean: np.ndarray, var: np.ndarray, kappa: float = 2.0) -> np.ndarray:
    """GP-UCB for minimization, returned as a score to maximize: ``-(mean - kappa * sd)``."""
    return -(mean - kappa * np.sqrt(np.maximum(var, 0.0)))


def local_candidates(space: Any, X_best: np.ndarray, rng: np.random.Generator, n: int,
                     scale: float = 0.08) -> np.ndarray:
    """``n`` repaired perturbations of the rows of ``X_best`` (numerical dims get Gaussian
    noise; each categorical/ordinal flips to a random value with probability 0.15)."""
    if len(X_best) == 0 or n <= 0:
        return np.empty((0, space.dim))
    base = X_best[rng.integers(len(X_best), size=n)].copy()
    disc = space.is_categorical | space.is_ordinal
    num = ~disc & ~space.is_constant
    base[:, num] += scale * rng.standard_normal((n, int(num.sum())))
    if disc.any():
        flip = rng.random((n, int(disc.sum()))) < 0.15
        new = np.floor(rng.random((n, int(disc.sum()))) * space.n_choices[disc])
        cols = base[:, disc]
        base[:, disc] = np.where(flip & ~np.isnan(cols), new, cols)
    X, ok = space.repair(base)
    return X[ok]


def fit_believer_candidates(model: Any, features: GPFeatures, space: Any, X: np.ndarray,
                            y: np.ndarray, history: History, budget: float,
                            rng: np.random.Generator, n_candidates: int,
                            optimize: bool | None = None) -> np.ndarray:
    """Fit ``model`` on the observations, add running trials at their predicted mean (kriging
    believer: parallel asks spread out), and return candidate vectors: ``n_candidates`` random
    ones and as many local perturbations of the five best. Shared by the GP and BNN proposers;
    ``model`` has ``fit(F, y, optimize=...)`` and ``predict(F) -> (mean, var)``; ``optimize``
    (None: the model's default) says whether its hyperparameters are re-optimized."""
    F = features.transform(X)
    if optimize is None:
        model.fit(F, y)
    else:
        model.fit(F, y, optimize=optimize)
    pend = history.pending_vectors(budget)
    if len(pend):
        Fp = features.transform(pend)
        model.fit(np.vstack([F, Fp]), np.concatenate([y, model.predict(Fp)[0]]), optimize=False)
    order = np.argsort(y)[: max(1, min(5, len(y)))]
    return np.vstack([space.sample_vectors(rng, n_candidates),
                      local_candidates(space, X[order], rng, n_candidates)])


def _drop_failed(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = np.isfinite(y)
    return X[keep], y[keep]


class GPProposer(Proposer):
    """Propose the configuration maximizing EI or GP-UCB of a GP fit at the given budget.

    Parameters
    ----------
    acquisition
        ``"ei"`` (expected improvement) or ``"ucb"`` (lower confidence bound for minimization).
    n_initial
        Random configurations before the model is used (default ``max(5, dim + 1)``).
    n_candidates
        Random configurations scored per proposal (plus as many local perturbations).
    n_local
        Best candidates polished with L-BFGS-B on continuous parameters.
    kappa, xi
        UCB's exploration weight and EI's improvement margin.
    refit_below, refit_growth
        The GP's hyperparameters are re-optimized at every proposal while there are at most
        ``refit_below`` observations (default 200), then only when their number grew by
        ``refit_growth`` (default 5 %) since the last time; in between the GP is refit with
        the previous hyperparameters. At thousands of observations most of a proposal's time
        was the hyperparameter fit, which then hardly changes from one result to the next.
    gp_kwargs
        Passed to :class:`lowfi.models.gp.GP` (e.g. ``max_exact``).
    """

    def __init__(self, acquisition: str = "ei", n_initial: int | None = None,
                 n_candidates: int = 512, n_local: int = 3, kappa: float = 2.0, xi: float = 0.0,
                 gp_kwargs: dict[str, Any] | None = None, refit_below: int = 200,
                 refit_growth: float = 0.05):
        super().__init__()
        if acquisition not in ACQUISITIONS:
            raise ValueError(f"acquisition: got {acquisition!r}; allowed are {', '.join(ACQUISITIONS)}")
        if n_initial is not None and (not isinstance(n_initial, int) or n_initial < 1):
            raise ValueError(f"n_initial: got {n_initial!r}; it must be an integer >= 1")
        if int(n_local) < 0:
            raise ValueError(f"n_local: got {n_local!r}; it must be >= 0 (0: no polishing)")
        if int(n_candidates) < 1:
            raise ValueError(f"n_candidates: got {n_candidates!r}; it must be >= 1")
        self.refit_below, self.refit_growth = check_refit_schedule(refit_below, refit_growth)
        self._opt_n = 0  # observations at the last hyperparameter optimization
        self.acquisition = acquisition
        self.n_initial = n_initial
        self.n_candidates, self.n_local = int(n_candidates), int(n_local)
        self.kappa, self.xi = float(kappa), float(xi)
        self.gp_kwargs = dict(gp_kwargs or {})
        self.gp: GP | None = None
        self.features: GPFeatures | None = None

    def _score(self, mean: np.ndarray, var: np.ndarray, best: float) -> np.ndarray:
        if self.acquisition == "ei":
            return expected_improvement(mean, var, best, self.xi)
        return lower_confidence_bound(mean, var, self.kappa)

    def propose(self, history: History, budget: float) -> dict[str, Any]:
        with blas_single_thread():
            return self._propose(history, budget)

    def _propose(self, history: History, budget: float) -> dict[str, Any]:
        space = self.space
        n_init = self.n_initial if self.n_initial is not None else max(5, space.dim + 1)
        X, y = _drop_failed(*history.observations(budget, failed="worst"))
        if len(y) < max(n_init, 2):
            return space.sample(self.rng)
        if self.features is None:
            self.features = GPFeatures(space)
            self.gp = GP(seed=spawn(self.rng), **self.gp_kwargs)
        best = float(y.min())
        n = len(y)
        refit_below = getattr(self, "refit_below", None)  # (absent in older snapshots)
        optimize = None
        if refit_below is not None:
            optimize = refit_due(n, getattr(self, "_opt_n", 0), refit_below, self.refit_growth)
            if optimize:
                self._opt_n = n
        cand = fit_believer_candidates(self.gp, self.features, space, X, y, history, budget,
                                       self.rng, self.n_candidates, optimize=optimize)
        mean, var = self.gp.predict(self.features.transform(cand))
        score = self._score(mean, var, best)
        order = np.argsort(-score)
        best_x, best_s = cand[order[0]], score[order[0]]
        cont = self.features.continuous
        if len(cont):
            for i in order[: self.n_local]:
                x, s = self._polish(cand[i], cont, best)
                if s > best_s:
                    best_x, best_s = x, s
        config = space.to_dicts(best_x[None, :])[0]
        seen = {space.key(r.config) for r in history.records if r.budget == budget}
        if space.key(config) in seen:  # already evaluated here: the best candidate not yet seen
            for start in range(0, len(order), 64):  # by score, all candidates if need be
                for c in space.to_dicts(cand[order[start:start + 64]]):
                    if space.key(c) not in seen:
                        return c
            for c in space.sample(self.rng, 64):  # the pool holds only seen ones: a new draw
                if space.key(c) not in seen:
                    return c
        return config

    def _polish(self, x0: np.ndarray, cont: np.ndarray, best: float) -> tuple[np.ndarray, float]:
        free = cont[~np.isnan(x0[cont])]
        if len(free) == 0:
            return x0, -math.inf

        def negacq(z: np.ndarray) -> float:
            x = x0.copy()
            x[free] = z
            m, v = self.gp.predict(self.features.transform(x[None, :]))
            return -float(self._score(m, v, best)[0])

        res = minimize(negacq, x0[free], method="L-BFGS-B", bounds=[(0.0, 1.0)] * len(free),
                       options={"maxiter": 15})
        x = x0.copy()
        x[free] = res.x
        x, ok = self.space.repair(x[None, :])
        if not ok[0]:
            return x0, -math.inf
        m, v = self.gp.predict(self.features.transform(x))
        return x[0], float(self._score(m, v, best)[0])


class GPBO(BlackBox):
    """GP Bayesian optimization at the full budget (EI: Jones et al. 1998; GP-UCB: Srinivas
    et al. 2010), i.e. ``BlackBox(space, GPProposer(acquisition), budget=max_budget)``.

    Parameters
    ----------
    space
        The search space (ConfigSpace or dict shorthand).
    max_budget
        The budget every trial runs at.
    acquisition
        ``"ei"`` or ``"ucb"``.
    seed
        Seed of all randomness.
    n_initial
        Random configurations before the GP is used (default ``max(5, dim + 1)``).
    **kwargs
        ``n_candidates``, ``n_local``, ``kappa``, ``xi``, ``gp_kwargs``, ``refit_below``,
        ``refit_growth`` go to
        :class:`GPProposer`; ``max_trials`` to :class:`BlackBox`.
    """

    def __init__(self, space: Any, max_budget: float = 1.0, acquisition: str = "ei",
                 seed: SeedLike = None, n_initial: int | None = None, **kwargs: Any):
        prop_keys = ("n_candidates", "n_local", "kappa", "xi", "gp_kwargs", "refit_below",
                     "refit_growth")
        prop = {k: kwargs.pop(k) for k in prop_keys if k in kwargs}
        proposer = GPProposer(acquisition=acquisition, n_initial=n_initial, **prop)
        super().__init__(space, proposer=proposer, budget=max_budget, seed=seed, **kwargs)
