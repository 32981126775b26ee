"""A proposer that picks configurations by expected improvement under an LC-Net model of
learning curves (Klein, Falkner, Springenberg & Hutter, ICLR 2017); the model itself lives in
:mod:`lowfi.curves.lcnet`."""

from __future__ import annotations

from typing import Any

import numpy as np

from lowfi.curves.lcnet import LCNet
from lowfi.optimizers.base import Proposer


class LCNetProposer(Proposer):
    """Proposer for multi-fidelity search that models ``f(config, budget)`` with :class:`LCNet`.

    Every finished record is one point ``(config, step = budget, loss)`` of that
    configuration's learning curve, so the network learns across configurations and budgets
    and predicts the loss at ``max_budget`` of configurations never run. A proposal is the
    candidate (of ``n_candidates`` random ones) with the highest expected improvement over the
    best loss at ``max_budget`` (or the best predicted final loss of the configurations seen,
    before any reached it). Until ``min_points`` records exist, proposals are random.

    Use it inside any scheduler, e.g. ``Hyperband(space, 1, 81, proposer=LCNetProposer(81))``.

    Parameters
    ----------
    max_budget
        The budget (step) whose loss is predicted; default: the highest budget in the history.
    n_candidates
        Random candidates scored per proposal.
    min_points
        Records needed before the model is used.
    refit_every
        Refit the network once this many new records arrived (it is reused in between).
    **lcnet
        Keyword arguments for :class:`LCNet` (default: its ``method="sghmc"``, the network's
        weights sampled by BOHAMIANN's scale-adapted SGHMC; with ``method="ensemble"``,
        3 members of 150 epochs unless given).
    """

    def __init__(
        self,
        max_budget: float | None = None,
        n_candidates: int = 256,
        min_points: int = 10,
        refit_every: int = 5,
        **lcnet: Any,
    ):
        super().__init__()
        self.max_budget = max_budget
        self.n_candidates, self.min_points, self.refit_every = n_candidates, min_points, refit_every
        self.lcnet = {"n_members": 3, "epochs": 150, **lcnet}
        self.model_: LCNet | None = None
        self._fitted_on = 0

    def _fit(self, history: Any) -> None:
        from lowfi.core.seeding import spawn

        recs = [
            r
            for r in history.records
            if not r.failed and r.loss is not None and not isinstance(r.loss, tuple)
        ]
        if len(recs) < self.min_points:
            return
        if self.model_ is not None and len(recs) - self._fitted_on < self.refit_every:
            return
        by_cfg: dict[int, list] = {}
        for r in recs:
            by_cfg.setdefault(r.config_id, []).append(r)
        configs, curves = [], []
        for rs in by_cfg.values():
            pts = sorted({float(r.budget): float(r.loss) for r in rs}.items())
            configs.append(rs[0].config)
            curves.append((np.array([p[0] for p in pts]), np.array([p[1] for p in pts])))
        X = self.space.encode(configs)
        self.model_ = LCNet(seed=spawn(self.rng), **self.lcnet).fit(X, curves)
        self._fitted_on = len(recs)

    def propose(self, history: Any, budget: float) -> dict[str, Any]:
        """The candidate with the highest expected improvement at ``max_budget``."""
        from scipy.stats import norm

        self._fit(history)
        cand = self.space.sample_vectors(self.rng, self.n_candidates)
        if self.model_ is None:
            return self.space.to_dicts(cand[:1])[0]
        T = self.max_budget or max(history.budgets)
        mean, std = self.model_.predict_final(cand, T)
        inc = history.incumbent(T)
        if inc is not None and float(inc.budget) == float(T):
            best = float(inc.loss)
        else:
            seen = self.space.encode([r.config for r in history.records])
            best = float(np.min(self.model_.predict_final(seen, T)[0]))
        z = (best - mean) / np.maximum(std, 1e-12)
        ei = (best - mean) * norm.cdf(z) + std * norm.pdf(z)
        return self.space.to_dicts(cand[int(np.argmax(ei))][None])[0]
