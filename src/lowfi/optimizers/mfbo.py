"""Multi-fidelity Bayesian optimization: a GP over (configuration, budget), a GP for log cost,
and an acquisition that picks the (configuration, budget) pair teaching most per unit cost.

Model. The loss GP reads ``[features(x), s]`` with ``s`` the budget on a log scale,
``s = log(budget / min_budget) / log(max_budget / min_budget)`` in [0, 1] (``budget_scale="log"``,
the transformation of FABOLAS's reference implementation, RoBO; ``budget_scale="linear"`` uses
``s = budget / max_budget``), and the kernel
``k((x, s), (x', s')) = Matern52_ARD(x, x') * k_s(s, s')``. The default fidelity kernel is
FABOLAS's (Klein et al. 2017) for data-subset size, ``k_s = phi(s)^T Sigma phi(s')`` with
``phi(s) = (1, (1 - s)^2)``; ``fidelity_kernel="expdecay"`` uses ``c + beta^alpha /
(s + s' + beta)^alpha``, Swersky et al. (2014)'s exponential-decay kernel, suited to epoch
budgets. A second GP models ``log cost`` with FABOLAS's cost basis ``phi(s) = (1, s)``: with the
log budget scale this is a power law ``cost ~ budget^a`` (linear in ``s = budget / max_budget`` it
extrapolates ``log cost`` linearly from cheap budgets and overestimates the full-budget cost by
orders of magnitude when costs grow like ``budget^2``, e.g. an SVM fit); it learns
measured costs (``Result.cost``; the budget is used when a result has no cost). Running trials
enter the loss GP as kriging-believer fantasies.

Budgets are proposed from a **discrete set**: the eta-grid ``max_budget * eta^-k`` between
``min_budget`` and ``max_budget`` (Hyperband's rungs). Configurations are chosen from a pool of
random configurations plus perturbations of the configurations the model rates best.

Initial design: ``n_initial`` random configurations at the cheapest budget, and a random
``1/eta`` of them at each next budget below the maximum (so the model sees how budgets relate).

Acquisitions (``acquisition=``):

``"es"`` -- entropy search per unit cost (FABOLAS, Klein et al. AISTATS 2017): information gain
    about ``p_min``, the distribution of the minimizer at ``s = 1`` over representer points
    (drawn from the pool in proportion to expected improvement at ``s = 1``), divided by the
    predicted cost. ``p_min`` is estimated by Monte Carlo over joint posterior samples; the
    expected entropy after a fantasized observation uses Gauss-Hermite quadrature over its
    value and exact conditional samples (Matheron's rule) with common random numbers.
``"mf-gp-ucb"`` -- MF-GP-UCB (Kandasamy et al. NeurIPS 2016), written for minimization: choose
    ``x`` minimizing ``max_m [mu_m(x) - sqrt(beta_t) sigma_m(x) - zeta_m]`` with
    ``beta_t = 0.2 d log(2t)``; then the cheapest fidelity ``m`` with
    ``sqrt(beta_t) sigma_m(x) >= gamma_m`` (else the top one). ``zeta_m`` (the bound on how far
    fidelity ``m`` is from the target) is estimated as the largest ``|mu(x, s_m) - mu(x, 1)|``
    over evaluated configurations; ``gamma_m = sqrt(lambda_m / lambda_{m+1}) *
    max(zeta_m, 0.1 sd(y))`` (lambda: predicted costs). The joint GP replaces the paper's
    separate per-fidelity GPs.
``"mf-mes"`` -- multi-fidelity max-value entropy search (Takeno et al. ICML 2020, arXiv 2019):
    mutual information between an observation at ``(x, s)`` and the minimum loss ``y*`` at
    ``s = 1``, per unit cost. ``y*`` samples come from the Gumbel approximation of
    Wang & Jegelka (2017); the entropy of the observation conditioned on the target-fidelity
    value beyond ``y*`` is integrated numerically on a grid (it depends only on the
    standardized gap and the correlation between fidelities).
``"mf-kg"`` -- multi-fidelity (continuous-fidelity) knowledge gradient (Wu, Toscano-Palmerin,
    Frazier & Wilson, UAI 2019): expected decrease of the minimum posterior mean at ``s = 1``
    over a discretization (representer points plus the candidate itself) after observing
    ``(x, s)``, per unit cost; the expectation uses Gauss-Hermite quadrature.

:meth:`MFBO.recommend` returns the evaluated configuration with the lowest predicted loss at
``max_budget`` (the recommendation rule of FABOLAS and cfKG); :meth:`incumbent` keeps lowfi's
rule (best observed at ``max_budget``).

Verified incumbent. The acquisitions above can spend a whole run at cheap budgets (they learn
about the target fidelity through the model), which leaves :meth:`incumbent` with nothing
measured at ``max_budget``. So the recommendation is **evaluated at max_budget** (a trial with
``info["verification"] = True``) whenever it has not been measured there and the cost share
allows it: when ``verify_cost + c_full <= verify_share * (spent + c_full)``, with ``spent`` the
cost of all finished trials, ``verify_cost`` that of the earlier verifications and ``c_full`` the
predicted cost of the full-budget evaluation; the last trial before ``max_trials`` is always a
verification if one is needed, and :meth:`MFBO.ask_verification` asks for one on demand (call it
before ending a run of your own). With the default ``verify_share=0.2`` the first verification
comes after about four full-budget costs.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
from numpy.polynomial.hermite_e import hermegauss
from scipy.linalg import cho_solve
from scipy.special import log_ndtr
from scipy.stats import norm

from lowfi.core.seeding import SeedLike, spawn
from lowfi.core.trial import Result, Trial
from lowfi.models.gp import (
    GP,
    GPFeatures,
    blas_single_thread,
    check_refit_schedule,
    cholesky,
    refit_due,
)
from lowfi.models.kernels import Constant, ExpDecay, FidelityBasis, Matern52, Product, Sum
from lowfi.optimizers.base import Optimizer, budget_kind, check_budgets, int_budget, n_rungs
from lowfi.optimizers.gp import expected_improvement, local_candidates

ACQUISITIONS = ("es", "mf-gp-ucb", "mf-mes", "mf-kg")
FIDELITY_KERNELS = ("fabolas", "expdecay")
BUDGET_SCALES = ("log", "linear")
LOSS_TRANSFORMS = (None, "log")


def verification_due(spent: float, verify_cost: float, full_cost: float, share: float) -> bool:
    """Whether a verification costing ``full_cost`` keeps verifications within ``share`` of
    all cost: ``verify_cost + full_cost <= share * (spent + full_cost)``."""
    return share > 0 and verify_cost + full_cost <= share * (spent + full_cost)


def _check_share(verify_share: Any) -> float:
    if (isinstance(verify_share, bool) or not isinstance(verify_share, int | float)
            or not 0 <= verify_share < 1):
        raise ValueError(f"verify_share: got {verify_share!r}; it must be a number in [0, 1) "
                         "(0: verify only at max_trials or on ask_verification())")
    return float(verify_share)


def _entropy_rows(counts: np.ndarray) -> np.ndarray:
    p = counts / np.maximum(counts.sum(-1, keepdims=True), 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.where(p > 0, p * np.log(p), 0.0).sum(-1)


def _argmin_counts(samples: np.ndarray, n: int) -> np.ndarray:
    """Counts of the argmin over the last axis of ``samples`` (S, C, R) -> (C, R)."""
    idx = samples.argmin(-1)  # (S, C)
    S, C = idx.shape
    flat = (np.arange(C)[None, :] * n + idx).ravel()
    return np.bincount(flat, minlength=C * n).reshape(C, n).astype(float)


def _factor_or_diagonal(S: np.ndarray) -> np.ndarray:
    """A lower Cholesky factor of the posterior covariance ``S`` of the representer points;
    when ``S`` is too far from positive definite for that (the sparse posterior's full
    covariance can lose it to rounding when the noise is tiny against the signal), the factor
    of its diagonal: the representers are then sampled independently, from their marginals."""
    try:
        return cholesky(0.5 * (S + S.T), jitter=1e-8)[0]
    except np.linalg.LinAlgError:
        d = np.diag(S)
        floor = 1e-10 * max(float(np.max(np.abs(d))), 1e-12)
        return np.diag(np.sqrt(np.maximum(np.nan_to_num(d, nan=floor), floor)))


class MFBO(Optimizer):
    """Multi-fidelity Bayesian optimization over (configuration, budget) with a cost model.

    See the module docstring for the model and the four acquisitions with their papers.

    Parameters
    ----------
    space
        The search space.
    min_budget, max_budget, eta
        Budgets are ``max_budget * eta^-k`` for ``k = 0..floor(log_eta(max/min))``.
    acquisition
        ``"es"``, ``"mf-gp-ucb"``, ``"mf-mes"`` or ``"mf-kg"``.
    seed
        Seed of all randomness.
    n_initial
        Configurations of the initial design at the cheapest budget
        (default ``max(4, min(dim + 1, 10))``).
    n_candidates
        Random configurations in the pool per ask (plus half as many local perturbations).
    n_representers
        Representer points for ``"es"`` and discretization points for ``"mf-kg"``.
    n_samples
        Monte Carlo samples of ``p_min`` for ``"es"``.
    n_max_samples
        Samples of the minimum loss for ``"mf-mes"`` (the paper uses 10).
    fidelity_kernel
        ``"fabolas"`` (data subsets) or ``"expdecay"`` (epochs).
    max_trials
        Stop asking after this many trials (None: never).
    budget_scale
        ``"log"`` (default; FABOLAS) or ``"linear"``: how a budget maps to the model input ``s``.
    loss_transform
        ``None`` (default: the loss GP models the loss itself, as in the papers) or ``"log"``:
        it models ``log(loss + loss_offset)`` (losses must be > ``-loss_offset``, e.g. error
        rates). For error rates that span orders of magnitude (0.9 for a useless SVM, 0.002 for
        a good one) the untransformed model extrapolates to negative errors at ``max_budget``
        and ranks configurations by how steeply they improve rather than where they end.
    loss_offset
        Offset of ``loss_transform="log"`` (default 1e-3).
    verify_share
        Largest share of the cost spent evaluating the recommendation at ``max_budget`` when it
        has no measurement there (default 0.2; 0 verifies only for the last of ``max_trials``
        and on :meth:`ask_verification`). See "Verified incumbent" in the module docstring.
    gp_kwargs
        Passed to both :class:`lowfi.models.gp.GP` models.
    refit_below, refit_growth
        Both GPs' hyperparameters are re-optimized at every ask while there are at most
        ``refit_below`` results (default 200), then only when their number grew by
        ``refit_growth`` (default 5 %) since the last time; in between the GPs are refit with
        the previous hyperparameters (at thousands of results the hyperparameter fit was most
        of an ask, and it hardly changes from one result to the next).
    budget_type
        ``int``, ``float`` or None (int when ``min_budget`` and ``max_budget`` are ints and
        every budget of the grid is whole, as for Hyperband; see
        :func:`lowfi.optimizers.base.budget_kind`).
    """

    multi_fidelity = True

    def __init__(self, space: Any, min_budget: float, max_budget: float, eta: float = 3,
                 acquisition: str = "es", seed: SeedLike = None, n_initial: int | None = None,
                 n_candidates: int = 200, n_representers: int = 32, n_samples: int = 100, n_max_samples: int = 10,
                 fidelity_kernel: str = "fabolas", max_trials: int | None = None,
                 budget_scale: str = "log", loss_transform: str | None = None,
                 loss_offset: float = 1e-3, verify_share: float = 0.2,
                 gp_kwargs: dict[str, Any] | None = None, refit_below: int = 200,
                 refit_growth: float = 0.05, budget_type: Any = None):
        super().__init__(space, seed)
        self.refit_below, self.refit_growth = check_refit_schedule(refit_below, refit_growth)
        self._opt_n = 0  # results at the last hyperparameter optimization
        self.verify_share = _check_share(verify_share)
        given = (min_budget, max_budget)
        min_budget, max_budget, eta = check_budgets(min_budget, max_budget, eta)
        # int budgets (epochs) when min_budget and max_budget are ints, as for Hyperband
        kind = budget_kind(budget_type, *given, eta)
        if acquisition not in ACQUISITIONS:
            raise ValueError(f"acquisition: got {acquisition!r}; allowed are {', '.join(ACQUISITIONS)}")
        if fidelity_kernel not in FIDELITY_KERNELS:
            raise ValueError(
                f"fidelity_kernel: got {fidelity_kernel!r}; allowed are {', '.join(FIDELITY_KERNELS)}")
        if budget_scale not in BUDGET_SCALES:
            raise ValueError(
                f"budget_scale: got {budget_scale!r}; allowed are {', '.join(BUDGET_SCALES)}")
        if loss_transform not in LOSS_TRANSFORMS:
            raise ValueError(f"loss_transform: got {loss_transform!r}; allowed are None, 'log'")
        if not isinstance(loss_offset, int | float) or not loss_offset > 0:
            raise ValueError(f"loss_offset: got {loss_offset!r}; it must be a number > 0")
        self.loss_transform, self.loss_offset = loss_transform, float(loss_offset)
        for name, v, lo in (("n_candidates", n_candidates, 1), ("n_representers", n_representers, 2),
                            ("n_samples", n_samples, 2), ("n_max_samples", n_max_samples, 1)):
            if not isinstance(v, int) or isinstance(v, bool) or v < lo:
                raise ValueError(f"{name}: got {v!r}; it must be an integer >= {lo}")
        if n_initial is not None and (not isinstance(n_initial, int) or n_initial < 2):
            raise ValueError(f"n_initial: got {n_initial!r}; it must be an integer >= 2")
        self.min_budget, self.max_budget, self.eta = min_budget, max_budget, eta
        self.budget_type = kind
        k = n_rungs(min_budget, max_budget, eta)
        self.budgets = [max_budget * eta ** (i - k) for i in range(k + 1)]
        if self.budget_type is int:  # the grid the trials carry (and the model sees)
            self.budgets = [float(int_budget(b)) for b in self.budgets]
        self.budget_scale = budget_scale
        self.fractions = self.to_s(np.array(self.budgets))  # model inputs s of the budget grid
        self.acquisition = acquisition
        self.fidelity_kernel = fidelity_kernel
        self.n_candidates, self.n_representers, self.n_samples = n_candidates, n_representers, n_samples
        self.n_max_samples = n_max_samples
        self.max_trials = max_trials
        self.gp_kwargs = dict(gp_kwargs or {})
        self.features = GPFeatures(self.space)
        nf = self.features.n_features
        self.n_initial = n_initial if n_initial is not None else max(4, min(self.space.dim + 1, 10))
        self.model = GP(self._loss_kernel(nf), seed=spawn(self.rng), **self.gp_kwargs)
        self.cost_model = GP(Product(Matern52(nf, cols=range(nf)), FidelityBasis(nf, "linear")),
                             seed=spawn(self.rng), **self.gp_kwargs)
        self._config_ids: dict[tuple, int] = {}
        self._init_queue: list[tuple[dict[str, Any], float]] = []
        configs = self.space.sample(self.rng, self.n_initial)
        n = self.n_initial
        for b in self.budgets[:-1] if len(self.budgets) > 1 else self.budgets:
            self._init_queue.extend((c, b) for c in configs[:n])
            n = n // int(round(eta)) if n // int(round(eta)) >= 1 else 0
            if n == 0:
                break
        self._init_queue.reverse()
        self.last_scores: np.ndarray | None = None  # (n_pool, n_budgets) of the last ask, for tests

    def _loss_kernel(self, nf: int):
        kx = Matern52(nf, cols=range(nf))
        if self.fidelity_kernel == "fabolas":
            return Product(kx, FidelityBasis(nf, "fabolas"))
        return Product(kx, Sum(Constant(1.0), ExpDecay(nf)))

    # ------------------------------------------------------------------ ask/tell
    def _ask(self) -> Trial | None:
        if self.max_trials is not None and self._next_trial_id >= self.max_trials:
            return None
        verify = False
        if self._init_queue:
            config, budget = self._init_queue.pop()
        else:
            with blas_single_thread():
                if not self.fit_models():
                    config, budget = self.space.sample(self.rng), self.budgets[0]
                else:
                    rec = self._verification_config()
                    if rec is not None:
                        config, budget, verify = rec, self.max_budget, True
                    else:
                        config, budget = self._select()
        return self._make_trial(config, budget, verify)

    def _make_trial(self, config: dict[str, Any], budget: float, verify: bool) -> Trial:
        key = self.space.key(config)
        cid = self._config_ids.get(key)
        info: dict[str, Any] = {"acquisition": self.acquisition}
        if verify:
            info["verification"] = True
        trial = self._new_trial(config, budget, cid, **info)
        self._config_ids.setdefault(key, trial.config_id)
        return trial

    # ------------------------------------------------------------------ verified incumbent
    def _full_budget_keys(self) -> set:
        """Configurations measured (or being measured, or failed) at ``max_budget``."""
        top = float(self.max_budget)
        keys = {self.space.key(r.config) for r in self.history.records
                if r.trial_id >= 0 and float(r.budget) == top}
        keys |= {self.space.key(t.config) for t in self.history.pending.values()
                 if float(t.budget) == top}
        return keys

    def _costs(self) -> tuple[float, float]:
        """Cost of all finished trials of this run and of its verifications."""
        spent = verify = 0.0
        for r in self.history.records:
            if r.trial_id < 0:
                continue
            c = r.cost if r.cost is not None and r.cost > 0 else r.budget
            spent += c
            if r.info.get("verification"):
                verify += c
        return spent, verify

    def _verification_config(self, force: bool = False) -> dict[str, Any] | None:
        """The recommendation if it should be evaluated at ``max_budget`` now (fitted models)."""
        if any(t.info.get("verification") for t in self.history.pending.values()):
            return None
        last = self.max_trials is not None and self._next_trial_id >= self.max_trials - 1
        if not (force or last or self.verify_share > 0):
            return None
        X = self._X_ok
        X = np.unique(X, axis=0) if not np.isnan(X).any() else X
        mean, _ = self.model.predict(self._inputs(X, 1.0))
        i = int(np.argmin(mean))
        config = self.space.to_dicts(X[i][None, :])[0]
        if self.space.key(config) in self._full_budget_keys():
            return None
        if force or last:
            return config
        spent, verify = self._costs()
        full = float(self.predicted_cost(X[i][None, :], self.max_budget)[0])
        return config if verification_due(spent, verify, full, self.verify_share) else None

    def ask_verification(self) -> Trial | None:
        """A trial evaluating the recommendation at ``max_budget`` if it has no measurement
        there (None otherwise, or before the model can be fit): ask it before a run of your
        own ends so that :meth:`incumbent` has a full-budget measurement."""
        with blas_single_thread():
            if not self.fit_models():
                return None
            config = self._verification_config(force=True)
        if config is None:
            return None
        trial = self._make_trial(config, self.max_budget, True)
        self.history.add_pending(trial)
        return trial

    def _tell(self, trial: Trial, result: Result) -> None:
        pass

    # ------------------------------------------------------------------ data
    def to_s(self, budget: np.ndarray | float) -> np.ndarray:
        """Model input ``s`` in [0, 1] of budgets (1 at ``max_budget``; see ``budget_scale``)."""
        b = np.asarray(budget, dtype=float)
        if self.budget_scale == "linear":
            return b / self.max_budget
        if self.max_budget <= self.min_budget:
            return np.ones_like(b)
        return np.log(b / self.min_budget) / math.log(self.max_budget / self.min_budget)

    def _inputs(self, X: np.ndarray, s: np.ndarray | float) -> np.ndarray:
        F = self.features.transform(X)
        return np.hstack([F, np.broadcast_to(np.asarray(s, float).reshape(-1, 1), (len(F), 1))])

    def _transform(self, y: np.ndarray) -> np.ndarray:
        """The loss on the scale the loss GP models (see ``loss_transform``)."""
        if self.loss_transform is None:
            return y
        z = y + self.loss_offset
        if np.any(z[np.isfinite(z)] <= 0):
            raise ValueError(
                f"loss_transform: 'log' needs losses > -loss_offset = {-self.loss_offset}; got "
                f"a loss of {float(np.nanmin(y))} (a run with direction='maximize' gives the "
                "optimizer negated scores: leave loss_transform at None there)")
        return np.log(z)

    def _untransform(self, v: float) -> float:
        return v if self.loss_transform is None else math.exp(v) - self.loss_offset

    def _data(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        recs = self.history.records
        X = self.history.vectors()
        s = self.to_s(np.array([r.budget for r in recs], dtype=float))
        _, y = self.history.observations(None, failed="worst")
        y = self._transform(np.asarray(y, dtype=float))
        # a failed trial's cost (often the seconds until it crashed) says nothing about what a
        # successful evaluation costs: NaN here, left out of the cost model
        cost = np.array([np.nan if r.failed else
                         (r.cost if r.cost is not None and r.cost > 0 else r.budget)
                         for r in recs], dtype=float)
        keep = np.isfinite(y)
        self._ok_rows = np.array([not r.failed for r in recs], dtype=bool)[keep]
        self._row_budgets = np.array([r.budget for r in recs], dtype=float)[keep]
        return X[keep], s[keep], y[keep], cost[keep]

    def fit_models(self) -> bool:
        """Fit the loss and cost GPs to the history (False if there are too few results)."""
        X, s, y, cost = self._data()
        if len(y) < 3:
            return False
        W = self._inputs(X, s)
        n = len(y)
        optimize = refit_due(n, getattr(self, "_opt_n", 0), getattr(self, "refit_below", 200),
                             getattr(self, "refit_growth", 0.05))
        if optimize:
            self._opt_n = n
        # (the schedule is the GP's: a network model given optimize=False would keep its
        # samples and not learn the new results)
        self.model.fit(W, y, optimize=optimize or not isinstance(self.model, GP))
        known = np.isfinite(cost)
        if known.sum() < 3:  # too few successful costs yet: the budget stands for the cost
            cost, known = np.where(known, cost, self._row_budgets), np.ones(len(cost), bool)
        self.cost_model.fit(W[known], np.log(cost[known]),
                            optimize=optimize or not isinstance(self.cost_model, GP))
        pend = [t for t in self.history.pending.values()]
        if pend:
            Xp = self.space.encode(t.config for t in pend)
            Wp = self._inputs(Xp, self.to_s(np.array([t.budget for t in pend], dtype=float)))
            self.model.fit(np.vstack([W, Wp]), np.concatenate([y, self.model.predict(Wp)[0]]),
                           optimize=False)
        self._X_eval = X
        ok = getattr(self, "_ok_rows", None)
        self._X_ok = X[ok] if ok is not None and ok.any() else X  # never recommend a crash
        return True

    def recommend(self) -> tuple[dict[str, Any], float] | None:
        """The evaluated configuration with the lowest predicted loss at ``max_budget`` and that
        prediction (falls back to :meth:`incumbent` before the model can be fit).

        It fits copies of the models, so calling it does not change the optimizer's state
        (its random streams and warm starts): a run's trials are the same whether or not
        (and how often) it is asked for recommendations."""
        saved = (self.model, self.cost_model, getattr(self, "_X_eval", None),
                 getattr(self, "_X_ok", None), getattr(self, "_ok_rows", None),
                 getattr(self, "_opt_n", 0))
        self.model, self.cost_model = copy.deepcopy(self.model), copy.deepcopy(self.cost_model)
        try:
            with blas_single_thread():
                if not self.fit_models():
                    return self.incumbent()
                X = self._X_ok
                X = np.unique(X, axis=0) if not np.isnan(X).any() else X
                mean, _ = self.model.predict(self._inputs(X, 1.0))
        finally:
            (self.model, self.cost_model, self._X_eval, self._X_ok, self._ok_rows,
             self._opt_n) = saved
        i = int(np.argmin(mean))
        return self.space.to_dicts(X[i][None, :])[0], self._untransform(float(mean[i]))

    def predicted_cost(self, X: np.ndarray, budget: float) -> np.ndarray:
        """Predicted cost (median of the log-normal cost model) of encoded rows at ``budget``."""
        mean, _ = self.cost_model.predict(self._inputs(X, self.to_s(budget)))
        return np.exp(mean)

    # ------------------------------------------------------------------ selection
    def _pool(self) -> np.ndarray:
        Xe = self._X_eval
        mean, _ = self.model.predict(self._inputs(Xe, 1.0))
        top = Xe[np.argsort(mean)[: min(5, len(mean))]]
        return np.vstack([self.space.sample_vectors(self.rng, self.n_candidates),
                          local_candidates(self.space, top, self.rng, self.n_candidates // 2), top])

    def _select(self) -> tuple[dict[str, Any], float]:
        """Pool and acquisition (the models are fitted)."""
        pool = self._pool()
        nb = len(self.budgets)
        W = [self._inputs(pool, f) for f in self.fractions]  # one input block per budget
        cost = np.stack([np.exp(self.cost_model.predict(w)[0]) for w in W], axis=1)  # (P, nb)
        busy = self._taken_pairs(pool)  # (P, nb): pairs running or evaluated already
        if self.acquisition == "mf-gp-ucb":
            i, j = self._mf_gp_ucb(pool, W, cost, busy)
            scores = None
        else:
            fn = {"es": self._entropy_search, "mf-mes": self._mf_mes, "mf-kg": self._mf_kg}
            value = fn[self.acquisition](pool, W)  # (P, nb) information / improvement
            scores = np.where(busy, -np.inf, np.maximum(value, 0.0) / cost)
            flat = int(np.argmax(scores))
            if not scores.ravel()[flat] > 0:  # nothing to learn: exploit at the top budget
                mean = np.where(busy[:, -1], np.inf, self.model.predict(W[-1])[0])
                i, j = int(np.argmin(mean)), nb - 1
            else:
                i, j = divmod(flat, nb)
        self.last_scores = scores
        return self.space.to_dicts(pool[i][None, :])[0], self.budgets[j]

    def _taken_pairs(self, pool: np.ndarray) -> np.ndarray:
        """(configuration, budget) pairs of the pool that are running or were evaluated: a
        repeat of a measured pair adds nothing to learn (the objective is taken as
        deterministic, as the other optimizers do)."""
        busy = np.zeros((len(pool), len(self.budgets)), dtype=bool)
        keys = {(self.space.key(t.config), float(t.budget)) for t in self.history.pending.values()}
        keys |= {(self.space.key(r.config), float(r.budget)) for r in self.history.records
                 if r.trial_id >= 0}
        if not keys:
            return busy
        dicts = self.space.to_dicts(pool)
        for i, c in enumerate(dicts):
            k = self.space.key(c)
            for j, b in enumerate(self.budgets):
                busy[i, j] = (k, float(b)) in keys
        return busy

    def _representers(self, pool: np.ndarray, W_top: np.ndarray) -> np.ndarray:
        """Indices into ``pool`` of representer points, drawn in proportion to EI at s = 1."""
        mean, var = self.model.predict(W_top)
        best = float(self.model.predict(self._inputs(self._X_eval, 1.0))[0].min())
        ei = expected_improvement(mean, var, best) + 1e-12
        R = min(self.n_representers, len(pool))
        chosen = self.rng.choice(len(pool), R - 1, replace=False, p=ei / ei.sum())
        return np.unique(np.concatenate([[int(np.argmin(mean))], chosen]))

    def _entropy_search(self, pool: np.ndarray, W: list[np.ndarray]) -> np.ndarray:
        """Information gain about p_min at s = 1 (FABOLAS), shape (P, nb)."""
        rep = self._representers(pool, W[-1])
        WR = W[-1][rep]
        muR, SR = self.model.predict(WR, full_cov=True)
        LR = _factor_or_diagonal(SR)
        S, R = self.n_samples, len(rep)
        f = muR + self.rng.standard_normal((S, R)) @ LR.T  # (S, R)
        H0 = _entropy_rows(_argmin_counts(f[:, None, :], R))[0]
        Wc = np.vstack(W)  # (P * nb) rows, budget-major
        mu_c, v_c = self.model.predict(Wc)
        c = self.model.posterior_cov(Wc, WR)  # (C, R)
        A = cho_solve((LR, True), c.T).T  # c Sigma_R^-1
        resid = np.maximum(v_c - (A * c).sum(1), 0.0)
        nv = self.model.noise_var
        C = len(Wc)
        xi = self.rng.standard_normal((S, C))
        eps = math.sqrt(nv) * self.rng.standard_normal((S, C))
        nodes, weights = hermegauss(5)
        weights = weights / weights.sum()
        tot = v_c + nv
        gain = np.zeros(C)
        chunk = max(1, int(2_000_000 // (S * R)))
        for a in range(0, C, chunk):
            sl = slice(a, a + chunk)
            g = mu_c[sl] + (f - muR) @ A[sl].T + np.sqrt(resid[sl]) * xi[:, sl]  # (S, Cc)
            upd = (c[sl] / tot[sl, None])[None]  # (1, Cc, R)
            H = np.zeros(g.shape[1])
            for h, w in zip(nodes, weights):
                yk = mu_c[sl] + np.sqrt(tot[sl]) * h
                fk = f[:, None, :] + upd * (yk - g - eps[:, sl])[:, :, None]
                H += w * _entropy_rows(_argmin_counts(fk, R))
            gain[sl] = H0 - H
        return gain.reshape(len(W), len(pool)).T

    def _mf_kg(self, pool: np.ndarray, W: list[np.ndarray]) -> np.ndarray:
        """Knowledge gradient at s = 1 of observing (x, s) (cfKG), shape (P, nb)."""
        rep = self._representers(pool, W[-1])
        A_in = W[-1][rep]
        a_rep = self.model.predict(A_in)[0]  # (R,)
        Wc = np.vstack(W)
        P = len(pool)
        mu_c, v_c = self.model.predict(Wc)
        nv = self.model.noise_var
        denom = np.sqrt(v_c + nv)
        b_rep = self.model.posterior_cov(Wc, A_in) / denom[:, None]  # (C, R)
        top = np.tile(W[-1], (len(W), 1))  # (x, 1) paired with each (x, s)
        a_self = np.tile(self.model.predict(W[-1])[0], len(W))
        b_self = self.model.posterior_cov(Wc, top, pairwise=True) / denom
        a = np.concatenate([np.broadcast_to(a_rep, b_rep.shape), a_self[:, None]], axis=1)
        b = np.concatenate([b_rep, b_self[:, None]], axis=1)  # (C, R + 1)
        nodes, weights = hermegauss(32)
        weights = weights / weights.sum()
        now = a.min(1)
        exp_min = np.zeros(len(Wc))
        for z, w in zip(nodes, weights):
            exp_min += w * (a + b * z).min(1)
        return (now - exp_min).reshape(len(W), P).T

    def _mf_mes(self, pool: np.ndarray, W: list[np.ndarray]) -> np.ndarray:
        """Mutual information between y(x, s) and the min loss at s = 1 (MF-MES), (P, nb)."""
        mu_top, v_top = self.model.predict(W[-1])
        Xe_top = self._inputs(self._X_eval, 1.0)
        mu_e, v_e = self.model.predict(Xe_top)
        mus = np.concatenate([mu_top, mu_e])
        sds = np.sqrt(np.concatenate([v_top, v_e]))
        ystar = self._gumbel_min_samples(mus, sds, self.n_max_samples)  # (K,) minimum loss samples
        Wc = np.vstack(W)
        P = len(pool)
        mu_c, v_c = self.model.predict(Wc)
        nv = self.model.noise_var
        sd_obs = np.sqrt(v_c + nv)
        top = np.tile(W[-1], (len(W), 1))
        muM = np.tile(mu_top, len(W))
        sdM = np.tile(np.sqrt(v_top), len(W))
        cov = self.model.posterior_cov(Wc, top, pairwise=True)
        rho = np.clip(cov / (sd_obs * sdM), -(1 - 1e-6), 1 - 1e-6)
        # in maximization form g = -loss: gamma = (g* - mu_g) / sd = (mu - y*) / sd
        gam = (muM[:, None] - ystar[None, :]) / sdM[:, None]  # (C, K)
        u = np.linspace(-8.0, 8.0, 97)
        du = u[1] - u[0]
        logphi = norm.logpdf(u)
        s1 = np.sqrt(1.0 - rho ** 2)
        info = np.zeros(len(Wc))
        chunk = max(1, int(2_000_000 // (len(ystar) * len(u))))
        h_normal = 0.5 * math.log(2 * math.pi * math.e)
        for a in range(0, len(Wc), chunk):
            sl = slice(a, a + chunk)
            G = gam[sl][:, :, None]
            r = rho[sl][:, None, None]
            logq = (logphi[None, None, :] + log_ndtr((G - r * u[None, None, :]) / s1[sl][:, None, None])
                    - log_ndtr(G))
            q = np.exp(logq)
            H = -(q * logq).sum(-1) * du  # (Cc, K)
            info[sl] = h_normal - H.mean(1)
        return info.reshape(len(W), P).T

    def _gumbel_min_samples(self, mus: np.ndarray, sds: np.ndarray, n: int) -> np.ndarray:
        """Samples of the minimum of independent N(mus, sds^2), Gumbel-fit (Wang & Jegelka 2017)."""
        sds = np.maximum(sds, 1e-9)

        def cdf_min(y: np.ndarray) -> np.ndarray:  # P(min <= y)
            return 1.0 - np.exp(norm.logsf((y[:, None] - mus[None, :]) / sds[None, :]).sum(1))

        lo = np.full(3, float((mus - 8 * sds).min()))
        hi = np.full(3, float(mus.min()))
        qs = np.array([0.25, 0.5, 0.75])
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            below = cdf_min(mid) < qs
            lo = np.where(below, mid, lo)
            hi = np.where(below, hi, mid)
        y25, y50, y75 = 0.5 * (lo + hi)
        # the minimum follows a reversed Gumbel: P(min <= y) = 1 - exp(-exp((y - a) / b))
        b = max((y75 - y25) / (math.log(-math.log(0.25)) - math.log(-math.log(0.75))), 1e-9)
        a = y50 - b * math.log(math.log(2.0))
        uu = self.rng.uniform(1e-6, 1 - 1e-6, n)
        return np.minimum(a + b * np.log(-np.log(uu)), mus.min() - 1e-6)

    def _mf_gp_ucb(self, pool: np.ndarray, W: list[np.ndarray], cost: np.ndarray,
                   busy: np.ndarray) -> tuple[int, int]:
        """MF-GP-UCB (Kandasamy et al. 2016) for minimization."""
        nb = len(W)
        t = len(self.history.records) + 1
        d = self.space.dim
        beta = max(0.2 * d * math.log(2 * t), 1e-3)
        sb = math.sqrt(beta)
        preds = [self.model.predict(w) for w in W]
        mu = np.stack([p[0] for p in preds], 1)  # (P, nb)
        sd = np.sqrt(np.stack([p[1] for p in preds], 1))
        Xe = self._X_eval
        me = np.stack([self.model.predict(self._inputs(Xe, f))[0] for f in self.fractions], 1)
        zeta = np.abs(me - me[:, -1:]).max(0)  # (nb,), zeta_M = 0
        lower = np.where(busy.all(1), np.inf, (mu - sb * sd - zeta[None, :]).max(1))
        i = int(np.argmin(lower))
        _, y = self.history.observations(None, failed="drop")
        y = self._transform(np.asarray(y, dtype=float))
        scale = float(np.std(y)) if len(y) > 1 else 1.0
        j = nb - 1
        for m in range(nb - 1):
            gamma = math.sqrt(cost[i, m] / cost[i, m + 1]) * max(zeta[m], 0.1 * scale)
            if sb * sd[i, m] >= gamma and not busy[i, m]:
                j = m
                break
        if busy[i, j]:  # the top budget of this configuration is running: take a free one
            j = int(np.flatnonzero(~busy[i])[0])
        return i, j
