"""Bayesian optimization with Bayesian neural networks (BOHAMIANN, DNGO) as the model.

:class:`BNNProposer` fits :class:`lowfi.models.bnn.Bohamiann` (Springenberg et al. 2016) or
:class:`lowfi.models.bnn.DNGO` (Snoek et al. 2015) to the losses at the requested budget and
returns the configuration maximizing expected improvement (or the lower confidence bound)
under the predictive distribution of an observation (the networks' variance plus their noise
variance, as in Springenberg et al.) among random configurations and perturbations of the
best ones. :class:`BNNBO` (``"bnn-bo"``)
runs it at ``max_budget``.

:class:`BNNMFBO` (``"bnn-mfbo"``) is the multi-fidelity variant: the network takes the budget
as an input (``[features(x), s]``, ``s`` the budget on the scale of
:class:`lowfi.optimizers.mfbo.MFBO`) and everything else is MFBO's: the GP cost model, the
eta-grid of budgets, the initial design, the acquisitions per unit of predicted cost (entropy
search, MF-GP-UCB, MF-MES, MF-KG, which read the network's predictive covariances) and the
verified incumbent. The model's cost grows with the number of gradient steps rather than the
cube of the number of observations, which is what pays off when many cheap evaluations
accumulate.

BOHAMIANN is not conditioned on running trials (its samples are kept; parallel asks are kept
apart only by not repeating a pending configuration); DNGO conditions its regression on them
(kriging believer).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lowfi.core.history import History
from lowfi.core.seeding import SeedLike, spawn
from lowfi.models.bnn import MODELS, make_bnn
from lowfi.models.gp import GPFeatures, blas_single_thread
from lowfi.optimizers.base import BlackBox, Proposer
from lowfi.optimizers.gp import (
    _drop_failed,
    expected_improvement,
    fit_believer_candidates,
    lower_confidence_bound,
)
from lowfi.optimizers.mfbo import MFBO

ACQUISITIONS = ("ei", "ucb")


def _check_model(model: Any, model_kwargs: Any) -> dict[str, Any]:
    if model not in MODELS:
        raise ValueError(f"model: got {model!r}; allowed are {', '.join(MODELS)}")
    if model_kwargs is not None and not isinstance(model_kwargs, dict):
        raise ValueError(f"model_kwargs: got {model_kwargs!r}; pass a dict of the model's settings")
    kw = dict(model_kwargs or {})
    make_bnn(model, **kw)  # settings checked now, not at the first fit
    return kw


class BNNProposer(Proposer):
    """Propose the configuration maximizing EI (or the LCB) of a Bayesian neural network.

    Parameters
    ----------
    model
        ``"bohamiann"`` (SGHMC-sampled network) or ``"dngo"`` (network + Bayesian linear
        regression; cheaper).
    acquisition
        ``"ei"`` or ``"ucb"`` (lower confidence bound for minimization).
    n_initial
        Random configurations before the model is used (default ``max(5, dim + 1)``).
    n_candidates
        Random configurations scored per proposal (plus as many local perturbations).
    kappa
        UCB's exploration weight.
    model_kwargs
        Settings of the model (e.g. ``{"n_burn_in": 1000}``).
    """

    def __init__(self, model: str = "bohamiann", acquisition: str = "ei", n_initial: int | None = None,
                 n_candidates: int = 500, kappa: float = 2.0, model_kwargs: dict[str, Any] | None = None):
        super().__init__()
        if acquisition not in ACQUISITIONS:
            raise ValueError(f"acquisition: got {acquisition!r}; allowed are {', '.join(ACQUISITIONS)}")
        if n_initial is not None and (not isinstance(n_initial, int) or n_initial < 2):
            raise ValueError(f"n_initial: got {n_initial!r}; it must be an integer >= 2")
        if not isinstance(n_candidates, int) or n_candidates < 1:
            raise ValueError(f"n_candidates: got {n_candidates!r}; it must be an integer >= 1")
        self.model_kwargs = _check_model(model, model_kwargs)
        self.model_name, self.acquisition = model, acquisition
        self.n_initial, self.n_candidates, self.kappa = n_initial, n_candidates, float(kappa)
        self.model = None
        self.features: GPFeatures | None = None

    def propose(self, history: History, budget: float) -> dict[str, Any]:
        with blas_single_thread():
            return self._propose(history, budget)

    def _propose(self, history: History, budget: float) -> dict[str, Any]:
        space = self.space
        n_init = self.n_initial if self.n_initial is not None else max(5, space.dim + 1)
        X, y = _drop_failed(*history.observations(budget, failed="worst"))
        if len(y) < max(n_init, 2):
            return space.sample(self.rng)
        if self.model is None:
            self.features = GPFeatures(space)
            self.model = make_bnn(self.model_name, seed=spawn(self.rng), **self.model_kwargs)
        cand = fit_believer_candidates(self.model, self.features, space, X, y, history,
                                       budget, self.rng, self.n_candidates)
        mean, var = self.model.predict(self.features.transform(cand))
        var = var + self.model.noise_var  # the predictive distribution of an observation
        if self.acquisition == "ei":
            score = expected_improvement(mean, var, float(y.min()))
        else:
            score = lower_confidence_bound(mean, var, self.kappa)
        taken = {space.key(c) for c in history.pending_configs(budget)}
        for i in np.argsort(-score):
            config = space.to_dicts(cand[i][None, :])[0]
            if space.key(config) not in taken:
                return config
        return space.sample(self.rng)  # pragma: no cover - every candidate is running


class BNNBO(BlackBox):
    """BO with a Bayesian neural network at the full budget (BOHAMIANN: Springenberg et al.
    2016; DNGO: Snoek et al. 2015), i.e. ``BlackBox(space, BNNProposer(...), budget=max_budget)``.

    Parameters
    ----------
    space
        The search space.
    max_budget
        The budget every trial runs at.
    model
        ``"bohamiann"`` or ``"dngo"``.
    acquisition
        ``"ei"`` or ``"ucb"``.
    seed
        Seed of all randomness.
    n_initial
        Random configurations before the model is used (default ``max(5, dim + 1)``).
    **kwargs
        ``n_candidates``, ``kappa``, ``model_kwargs`` go to :class:`BNNProposer`;
        ``max_trials`` to :class:`lowfi.optimizers.base.BlackBox`.
    """

    def __init__(self, space: Any, max_budget: float = 1.0, model: str = "bohamiann",
                 acquisition: str = "ei", seed: SeedLike = None, n_initial: int | None = None,
                 **kwargs: Any):
        prop = {k: kwargs.pop(k) for k in ("n_candidates", "kappa", "model_kwargs") if k in kwargs}
        proposer = BNNProposer(model=model, acquisition=acquisition, n_initial=n_initial, **prop)
        super().__init__(space, proposer=proposer, budget=max_budget, seed=seed, **kwargs)


class BNNMFBO(MFBO):
    """Multi-fidelity BO with a Bayesian neural network over (configuration, budget).

    :class:`lowfi.optimizers.mfbo.MFBO` with the loss GP replaced by :class:`Bohamiann` or
    :class:`DNGO` reading ``[features(x), s]``; the cost GP, budgets, initial design, the
    acquisitions per unit cost and the verified incumbent are MFBO's.

    Parameters
    ----------
    space, min_budget, max_budget, eta, seed
        As for :class:`lowfi.optimizers.mfbo.MFBO`.
    model
        ``"bohamiann"`` or ``"dngo"``.
    acquisition
        ``"es"``, ``"mf-gp-ucb"``, ``"mf-mes"`` or ``"mf-kg"`` (default ``"mf-kg"``: it needs
        only covariances with the target fidelity, not joint samples over representer points).
    model_kwargs
        Settings of the network model.
    **kwargs
        Further :class:`lowfi.optimizers.mfbo.MFBO` arguments (``n_candidates``,
        ``budget_scale``, ``verify_share``, ``max_trials``, ``gp_kwargs`` for the cost GP, ...).
    """

    def __init__(self, space: Any, min_budget: float, max_budget: float, eta: float = 3,
                 model: str = "bohamiann", acquisition: str = "mf-kg", seed: SeedLike = None,
                 model_kwargs: dict[str, Any] | None = None, **kwargs: Any):
        kw = _check_model(model, model_kwargs)
        if kwargs.get("fidelity_kernel") is not None:
            raise ValueError("fidelity_kernel: the network takes the budget as an input; it has no "
                             "fidelity kernel (drop the argument)")
        super().__init__(space, min_budget, max_budget, eta, acquisition=acquisition, seed=seed, **kwargs)
        self.model_name = model
        self.model = make_bnn(model, seed=spawn(self.rng), **kw)
