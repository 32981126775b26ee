"""TPE: the Tree-structured Parzen Estimator (Bergstra, Bardenet, Bengio & Kégl, NeurIPS 2011,
"Algorithms for Hyper-Parameter Optimization"), single-fidelity, on lowfi's KDE code.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from lowfi.core.history import History
from lowfi.core.seeding import SeedLike
from lowfi.optimizers.base import BlackBox
from lowfi.optimizers.bohb import _DensityRatioProposer


class TPEProposer(_DensityRatioProposer):
    """TPE's proposer (Bergstra et al. 2011).

    After ``n_startup`` random configurations, the observations at the proposal's budget are
    split at the ``gamma`` quantile of the loss: the best ``ceil(gamma * n)`` give the density
    ``l(x)``, the rest ``g(x)``. Both are Parzen estimators with a uniform prior component of
    weight ``prior_weight`` and per-point bandwidths (the larger gap to the neighbouring
    observations, clipped to ``[1 / min(100, n + 1), 1]`` of the unit range). Expected
    improvement is monotone in ``l(x) / g(x)``, so the best of ``n_candidates`` draws from
    ``l`` is returned. With ``multivariate=False`` (the paper) ``l`` and ``g`` are products of
    one-dimensional estimators; ``multivariate=True`` uses joint product kernels. Crashed
    evaluations count as the worst loss; running configurations are never proposed again.

    Parameters
    ----------
    n_startup
        Random configurations before the model is used (default 20, as in hyperopt).
    gamma
        Quantile of the good/bad split (default 0.25, as in hyperopt).
    n_candidates
        Draws from ``l`` per proposal (default 24, as in hyperopt).
    prior_weight
        Weight of the uniform prior in ``l`` and ``g`` (default 1).
    multivariate
        Joint product kernels instead of independent one-dimensional estimators.
    min_bandwidth
        Smallest kernel bandwidth.
    """

    def __init__(self, n_startup: int = 20, gamma: float = 0.25, n_candidates: int = 24,
                 prior_weight: float = 1.0, multivariate: bool = False, min_bandwidth: float = 1e-3):
        super().__init__()
        if not isinstance(n_startup, numbers.Integral) or n_startup < 2:
            raise ValueError(f"n_startup: got {n_startup!r}; allowed are ints >= 2")
        if not isinstance(gamma, numbers.Real) or not 0 < gamma < 1:
            raise ValueError(f"gamma: got {gamma!r}; allowed are numbers in (0, 1)")
        if not isinstance(n_candidates, numbers.Integral) or n_candidates < 1:
            raise ValueError(f"n_candidates: got {n_candidates!r}; allowed are ints >= 1")
        if not isinstance(prior_weight, numbers.Real) or prior_weight < 0:
            raise ValueError(f"prior_weight: got {prior_weight!r}; allowed are numbers >= 0")
        if not isinstance(min_bandwidth, numbers.Real) or not min_bandwidth > 0:
            raise ValueError(f"min_bandwidth: got {min_bandwidth!r}; allowed are numbers > 0")
        self.n_startup = int(n_startup)
        self.gamma = float(gamma)
        self.n_candidates = int(n_candidates)
        self.prior_weight = float(prior_weight)
        self.multivariate = bool(multivariate)
        self.min_bandwidth = float(min_bandwidth)

    def propose(self, history: History, budget: float) -> dict[str, Any]:
        n = history.count(budget)
        if n < self.n_startup:
            return self._random(history, budget)
        n_good = min(max(1, math.ceil(self.gamma * n)), n - 1)
        l_kde, g_kde = self._fit_pair(
            history, budget, n_good, n - n_good, min_bandwidth=self.min_bandwidth,
            bandwidth="neighbors", prior_weight=self.prior_weight, multivariate=self.multivariate)
        return self._choose(history, budget, l_kde, g_kde, self.n_candidates, 1.0, budget)


class TPE(BlackBox):
    """TPE (Bergstra et al., NeurIPS 2011): every trial at ``max_budget``, proposed by
    :class:`TPEProposer`.

    Parameters
    ----------
    space
        Search space (ConfigSpace ``ConfigurationSpace``, dict shorthand or ``Space``).
    max_budget
        The budget of every evaluation (default 1).
    seed
        Seed of the optimizer's random generator.
    n_startup, gamma, n_candidates, prior_weight, multivariate, min_bandwidth
        See :class:`TPEProposer`.
    max_trials
        Stop asking after this many trials (None: no limit).

    Examples
    --------
    >>> opt = TPE({"x": (0.0, 1.0)}, seed=0)
    >>> t = opt.ask(); t.budget
    1.0
    """

    def __init__(self, space: Any, max_budget: float = 1.0, seed: SeedLike = None,
                 n_startup: int = 20, gamma: float = 0.25, n_candidates: int = 24,
                 prior_weight: float = 1.0, multivariate: bool = False,
                 min_bandwidth: float = 1e-3, max_trials: int | None = None, **kwargs: Any):
        kwargs.pop("min_budget", None)
        kwargs.pop("eta", None)
        proposer = TPEProposer(n_startup=n_startup, gamma=gamma, n_candidates=n_candidates,
                               prior_weight=prior_weight, multivariate=multivariate,
                               min_bandwidth=min_bandwidth)
        super().__init__(space, proposer=proposer, budget=max_budget, max_trials=max_trials,
                         seed=seed, **kwargs)
