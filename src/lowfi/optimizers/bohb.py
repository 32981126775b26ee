"""BOHB: Hyperband whose new configurations come from KDE models (Falkner, Klein & Hutter,
ICML 2018, "BOHB: Robust and Efficient Hyperparameter Optimization at Scale").

:class:`KDEProposer` is the paper's Algorithm 2 (the sampler); :class:`BOHB` is
:class:`~lowfi.optimizers.hyperband.Hyperband` with that proposer.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from lowfi.core.history import History
from lowfi.core.seeding import SeedLike
from lowfi.models.kde import KDE
from lowfi.optimizers.base import Proposer
from lowfi.optimizers.hyperband import Hyperband


class _DensityRatioProposer(Proposer):
    """Shared machinery of BOHB's and TPE's proposers: draw candidates from ``l``, repair them
    to legal configurations, and return the one with the highest ``l(x) / g(x)`` that does not
    duplicate a running configuration (nor, when there is a choice, one already evaluated at
    the same budget)."""

    def __init__(self) -> None:
        super().__init__()
        #: proposals that came from the model / at random (for diagnostics and tests)
        self.n_model = 0
        self.n_random = 0
        #: budget whose model made the last proposal (None for a random one)
        self.last_model_budget: float | None = None
        self._cache: tuple[Any, tuple[KDE, KDE]] | None = None
        self._buffer: list[dict[str, Any]] = []
        self._seen_keys: dict[float, set] = {}
        self._seen_upto = 0
        self._plain: bool | None = None

    def _random(self, history: History, budget: float) -> dict[str, Any]:
        self.n_random += 1
        self.last_model_budget = None
        busy = {self.space.key(c) for c in history.pending_configs()}
        for _ in range(self.max_retries):
            if not self._buffer:  # drawn in batches: decoding one at a time is slow
                self._buffer = self.space.sample(self.rng, 64)[::-1]
            config = self._buffer.pop()
            if self.space.key(config) not in busy:
                break
        return config

    def _seen(self, history: History, budget: float) -> set:
        """Keys of the configurations evaluated at ``budget`` (kept up to date incrementally)."""
        recs = history.records
        for r in recs[self._seen_upto:]:
            self._seen_keys.setdefault(r.budget, set()).add(self.space.key(r.config))
        self._seen_upto = len(recs)
        return self._seen_keys.get(float(budget), set())

    def _choose(self, history: History, budget: float, l_kde: KDE, g_kde: KDE, n: int,
                factor: float, model_budget: float) -> dict[str, Any]:
        S = l_kde.sample(self.rng, n, factor)
        if self._plain is None:  # no integers, conditions or forbiddens: samples are legal as drawn
            sp = self.space
            self._plain = not (sp.has_conditions or sp.cs.forbidden_clauses or "int" in sp.kinds)
        R, valid = (S, np.ones(len(S), dtype=bool)) if self._plain else self.space.repair(S)
        score = l_kde.logpdf(R) - g_kde.logpdf(R)
        score = np.where(valid & np.isfinite(score), score, -np.inf)
        order = np.argsort(-score, kind="stable")
        order = order[np.isfinite(score[order])]
        if len(order):
            busy = {self.space.key(c) for c in history.pending_configs()}
            seen = self._seen(history, budget)
            first = self.space.to_dicts(R[order[0]])[0]
            key = self.space.key(first)
            if key not in busy and key not in seen:
                return self._model_pick(first, model_budget)
            # duplicates (small discrete spaces): decode every candidate once, in score order
            configs = self.space.to_dicts(R[order])
            keys = [self.space.key(c) for c in configs]
            for avoid in (busy | seen, busy):
                for c, k in zip(configs, keys):
                    if k not in avoid:
                        return self._model_pick(c, model_budget)
        return self._random(history, budget)

    def _model_pick(self, config: dict[str, Any], model_budget: float) -> dict[str, Any]:
        self.n_model += 1
        self.last_model_budget = model_budget
        return config

    def _fit_pair(self, history: History, budget: float, n_good: int, n_bad: int,
                  **kde_kwargs: Any) -> tuple[KDE, KDE]:
        """``l`` fit to the best ``n_good`` and ``g`` to the worst ``n_bad`` observations at
        ``budget`` (crashes count as the worst loss); refit only when the data changed."""
        key = (float(budget), history.count(budget), n_good, n_bad)
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        X, y = history.observations(budget, failed="worst")
        order = np.argsort(y, kind="stable")
        l_kde = KDE.for_space(self.space, **kde_kwargs).fit(X[order[:n_good]], self.rng)
        g_kde = KDE.for_space(self.space, **kde_kwargs).fit(X[order[len(y) - n_bad:]], self.rng)
        self._cache = (key, (l_kde, g_kde))
        return l_kde, g_kde


class KDEProposer(_DensityRatioProposer):
    """BOHB's model-based sampler, Algorithm 2 of Falkner, Klein & Hutter (ICML 2018).

    With probability ``random_fraction`` (and whenever no budget has enough data) a random
    configuration; otherwise: take the largest budget ``b`` with at least
    ``N_min + 2`` observations (``N_min = min_points_in_model``, default dimension + 1), split
    them into the best ``N_l = max(N_min, floor(q |D_b|))`` and the worst
    ``N_g = max(N_min, |D_b| - N_l)`` (``q = top_n_percent / 100``), fit product-kernel KDEs
    ``l`` and ``g`` to them (:class:`lowfi.models.kde.KDE`: normal-reference bandwidths of at
    least ``min_bandwidth``), draw ``num_samples`` candidates from ``l`` with bandwidths
    multiplied by ``bandwidth_factor`` and return the one with the highest ``l(x) / g(x)``.

    Details the paper leaves open follow the reference implementation (HpBandSter): a crashed
    evaluation counts as the worst loss at its budget; inactive parameters of the training
    data are imputed; a categorical value drawn from ``l`` keeps the datum's category or, with
    probability ``h`` (its bandwidth, not widened), is redrawn uniformly. lowfi additions:
    Gaussian kernels are normalized to the unit cube; candidates that duplicate a running
    configuration are never returned (so parallel asks do not repeat one another), and ones
    already evaluated at the same budget only when every candidate is; constants and
    one-value parameters are left out of the model and ``N_min`` counts only the modelled
    dimensions; integer and ordinal bandwidths are at least half a grid step.

    Parameters
    ----------
    random_fraction
        Fraction of random configurations (rho, default 1/3).
    top_n_percent
        Percentile q of the good/bad split (default 15).
    num_samples
        Candidates drawn from ``l`` per proposal (N_s, default 64).
    min_points_in_model
        N_min (default None: number of modelled dimensions + 1).
    bandwidth_factor
        b_w, the widening of ``l`` for sampling (default 3).
    min_bandwidth
        Smallest kernel bandwidth (default 1e-3).
    """

    def __init__(self, random_fraction: float = 1 / 3, top_n_percent: float = 15,
                 num_samples: int = 64, min_points_in_model: int | None = None,
                 bandwidth_factor: float = 3.0, min_bandwidth: float = 1e-3):
        super().__init__()
        if not isinstance(random_fraction, numbers.Real) or not 0 <= random_fraction <= 1:
            raise ValueError(f"random_fraction: got {random_fraction!r}; allowed are numbers in [0, 1]")
        if not isinstance(top_n_percent, numbers.Real) or not 0 < top_n_percent < 100:
            raise ValueError(f"top_n_percent: got {top_n_percent!r}; allowed are numbers in (0, 100)")
        if not isinstance(num_samples, numbers.Integral) or num_samples < 1:
            raise ValueError(f"num_samples: got {num_samples!r}; allowed are ints >= 1")
        if min_points_in_model is not None and (
                not isinstance(min_points_in_model, numbers.Integral) or min_points_in_model < 1):
            raise ValueError(f"min_points_in_model: got {min_points_in_model!r}; allowed are None or an int >= 1")
        if not isinstance(bandwidth_factor, numbers.Real) or not bandwidth_factor > 0:
            raise ValueError(f"bandwidth_factor: got {bandwidth_factor!r}; allowed are numbers > 0")
        if not isinstance(min_bandwidth, numbers.Real) or not min_bandwidth > 0:
            raise ValueError(f"min_bandwidth: got {min_bandwidth!r}; allowed are numbers > 0")
        self.random_fraction = float(random_fraction)
        self.top_n_percent = float(top_n_percent)
        self.num_samples = int(num_samples)
        self.min_points_in_model = min_points_in_model
        self.bandwidth_factor = float(bandwidth_factor)
        self.min_bandwidth = float(min_bandwidth)

    @property
    def n_min(self) -> int:
        """N_min: ``min_points_in_model`` or (modelled dimensions + 1)."""
        if self.min_points_in_model is not None:
            return int(self.min_points_in_model)
        modelled = int(np.sum(~self.space.is_constant & (self.space.n_values != 1)))
        return modelled + 1

    def model_budget(self, history: History) -> float | None:
        """The largest budget with at least ``N_min + 2`` observations (None if there is none)."""
        need = self.n_min + 2
        for b in reversed(history.budgets):
            if history.count(b) >= need:
                return b
        return None

    def propose(self, history: History, budget: float) -> dict[str, Any]:
        b = self.model_budget(history)
        if b is None or self.rng.random() < self.random_fraction:
            return self._random(history, budget)
        n, n_min = history.count(b), self.n_min
        n_good = max(n_min, int(math.floor(self.top_n_percent * n / 100.0)))
        n_bad = max(n_min, n - n_good)
        l_kde, g_kde = self._fit_pair(history, b, n_good, n_bad, min_bandwidth=self.min_bandwidth)
        return self._choose(history, budget, l_kde, g_kde, self.num_samples, self.bandwidth_factor, b)


class BOHB(Hyperband):
    """BOHB (Falkner, Klein & Hutter, ICML 2018): Hyperband with :class:`KDEProposer`.

    Parameters
    ----------
    space
        Search space (ConfigSpace ``ConfigurationSpace``, dict shorthand or ``Space``).
    min_budget, max_budget, eta
        Hyperband's budget range and reduction factor.
    seed
        Seed of the optimizer's random generator.
    random_fraction, top_n_percent, num_samples, min_points_in_model, bandwidth_factor, min_bandwidth
        The paper's KDE parameters, see :class:`KDEProposer`.
    max_brackets
        Stop after this many brackets (None: run until the caller stops asking).
    budget_type
        ``int``, ``float`` or None (inferred): see :func:`lowfi.optimizers.base.budget_kind`.

    Examples
    --------
    >>> opt = BOHB({"x": (0.0, 1.0)}, min_budget=1, max_budget=9, seed=0)
    >>> t = opt.ask(); opt.tell(t, t.config["x"] ** 2).status
    'ok'
    """

    multi_fidelity = True

    def __init__(self, space: Any, min_budget: float, max_budget: float, eta: float = 3,
                 seed: SeedLike = None, random_fraction: float = 1 / 3, top_n_percent: float = 15,
                 num_samples: int = 64, min_points_in_model: int | None = None,
                 bandwidth_factor: float = 3.0, min_bandwidth: float = 1e-3,
                 max_brackets: int | None = None, budget_type: Any = None):
        proposer = KDEProposer(random_fraction=random_fraction, top_n_percent=top_n_percent,
                               num_samples=num_samples, min_points_in_model=min_points_in_model,
                               bandwidth_factor=bandwidth_factor, min_bandwidth=min_bandwidth)
        super().__init__(space, min_budget, max_budget, eta, proposer=proposer, seed=seed,
                         max_brackets=max_brackets, budget_type=budget_type)
