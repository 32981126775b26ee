"""Freeze-thaw Bayesian optimization (Swersky, Snoek & Adams 2014).

Training runs are paused ("frozen") after every few steps and the optimizer decides, each
round, whether to resume ("thaw") one of them or to start a new configuration. A
:class:`lowfi.models.gp.FreezeThawGP` models every learning curve as an asymptote (a GP over
configurations) plus an exponentially decaying transient (Swersky et al.'s kernel over steps),
with inference linear in the number of curves.

Decision rule: expected improvement of the loss predicted at ``max_budget`` (which approaches
the paper's asymptote when training is long), against the best such prediction among the
curves seen so far. Every curve, paused or new, costs the same ``step`` steps per round, so EI
is compared directly. (The paper's entropy-search basket is not implemented.)

In lowfi terms the **budget is the total number of steps to reach** (as for Hyperband
promotions): a new configuration runs ``step`` steps (``budget = step``); a thawed one keeps its
``config_id`` and gets ``budget = previous + step`` (capped at ``max_budget``) with
``info["resume_from_step"] = previous`` and ``info["steps"] = budget - previous``; it should load
its state from ``trial.checkpoint_dir`` and train only the further steps. If the objective reports
a curve (``trial.report(step, value)`` with cumulative steps), every point feeds the model;
otherwise the final loss is one point at ``step = budget``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lowfi.core.seeding import SeedLike, spawn
from lowfi.core.trial import Result, Trial
from lowfi.models.gp import FreezeThawGP, GPFeatures, blas_single_thread
from lowfi.optimizers.base import Optimizer, check_budgets
from lowfi.optimizers.gp import expected_improvement, local_candidates


class FreezeThaw(Optimizer):
    """Freeze-thaw BO (Swersky et al. 2014): thaw a paused run or start a new one, by EI.

    Parameters
    ----------
    space
        The search space.
    min_budget, max_budget
        Steps of the first round of a configuration and the most steps any run reaches.
    eta
        Accepted for a uniform interface; unused.
    seed
        Seed of all randomness.
    step
        Steps added per round (default ``min_budget``).
    n_initial
        New configurations started before the model is used (default ``max(3, dim + 1)``).
    n_candidates
        Random configurations scored as possible new runs per ask.
    max_trials
        Stop asking after this many trials (None: never).
    """

    multi_fidelity = True

    def __init__(self, space: Any, min_budget: float, max_budget: float, eta: float = 3,
                 seed: SeedLike = None, step: float | None = None, n_initial: int | None = None,
                 n_candidates: int = 200, max_trials: int | None = None):
        super().__init__(space, seed)
        min_budget, max_budget, _ = check_budgets(min_budget, max_budget, None)
        step = min_budget if step is None else step
        if not isinstance(step, int | float) or isinstance(step, bool) or not 0 < step <= max_budget:
            raise ValueError(f"step: got {step!r}; it must be a number in (0, max_budget={max_budget:g}]")
        if n_initial is not None and (not isinstance(n_initial, int) or n_initial < 1):
            raise ValueError(f"n_initial: got {n_initial!r}; it must be an integer >= 1")
        if not isinstance(n_candidates, int) or n_candidates < 1:
            raise ValueError(f"n_candidates: got {n_candidates!r}; it must be an integer >= 1")
        self.min_budget, self.max_budget, self.eta = min_budget, max_budget, eta
        self.step = float(step)
        self.n_initial = n_initial if n_initial is not None else max(3, self.space.dim + 1)
        self.n_candidates = n_candidates
        self.max_trials = max_trials
        self.features = GPFeatures(self.space)
        self.model = FreezeThawGP(t_scale=self.max_budget / 10.0, seed=spawn(self.rng))
        # config_id -> state of its run
        self.runs: dict[int, dict[str, Any]] = {}

    # ------------------------------------------------------------------ ask/tell
    def _paused(self) -> list[int]:
        busy = {t.config_id for t in self.history.pending.values()}
        return [cid for cid, r in self.runs.items()
                if cid not in busy and not r["failed"] and r["steps"] < self.max_budget * (1 - 1e-9)]

    def _ask(self) -> Trial | None:
        if self.max_trials is not None and self._next_trial_id >= self.max_trials:
            return None
        curves = [cid for cid, r in self.runs.items() if r["curve"]]
        if len(self.runs) + len(self.history.pending) < self.n_initial or len(curves) < 2:
            if len(self.runs) + len(self.history.pending) >= self.n_initial and self._paused():
                return self._thaw(self._paused()[0])
            return self._start(self.space.sample(self.rng))
        with blas_single_thread():
            choice, config = self._decide(curves)
        return self._thaw(choice) if choice is not None else self._start(config)

    def _start(self, config: dict[str, Any]) -> Trial:
        budget = min(self.step, self.max_budget)
        trial = self._new_trial(config, budget, resume_from_step=0.0, steps=budget, thawed=False)
        self.runs[trial.config_id] = {"config": config, "steps": 0.0, "curve": [], "failed": False}
        return trial

    def _thaw(self, cid: int) -> Trial:
        run = self.runs[cid]
        budget = min(run["steps"] + self.step, self.max_budget)
        return self._new_trial(run["config"], budget, cid, resume_from_step=run["steps"],
                               steps=budget - run["steps"], thawed=True)

    def _tell(self, trial: Trial, result: Result) -> None:
        run = self.runs[trial.config_id]
        if result.status == "failed":
            run["failed"] = True
            return
        run["steps"] = max(run["steps"], float(trial.budget))
        loss = result.loss[0] if isinstance(result.loss, tuple) else result.loss
        points = [(float(s), float(v)) for s, v in (result.curve or [])
                  if math.isfinite(v) and s > trial.info.get("resume_from_step", 0.0)]
        if loss is not None and math.isfinite(loss) and not any(s == trial.budget for s, _ in points):
            points.append((float(trial.budget), float(loss)))
        run["curve"].extend(sorted(points))

    # ------------------------------------------------------------------ decision
    def _fit(self, curves: list[int]) -> np.ndarray:
        X = self.space.encode(self.runs[c]["config"] for c in curves)
        data = [(np.array([p[0] for p in self.runs[c]["curve"]]),
                 np.array([p[1] for p in self.runs[c]["curve"]])) for c in curves]
        self.model.fit(self.features.transform(X), data)
        return X

    def _decide(self, curves: list[int]) -> tuple[int | None, dict[str, Any] | None]:
        X = self._fit(curves)
        final = [self.model.predict_curve(i, [self.max_budget]) for i in range(len(curves))]
        mu = np.array([m[0] for m, _ in final])
        var = np.array([v[0] for _, v in final])
        best = float(mu.min())
        paused = set(self._paused())
        pos = [i for i, c in enumerate(curves) if c in paused]
        ei_old = expected_improvement(mu[pos], var[pos], best) if pos else np.empty(0)
        top = X[np.argsort(mu)[: min(3, len(mu))]]
        cand = np.vstack([self.space.sample_vectors(self.rng, self.n_candidates),
                          local_candidates(self.space, top, self.rng, self.n_candidates // 2)])
        mu_new, var_new = self.model.predict_asymptote(self.features.transform(cand))
        ei_new = expected_improvement(mu_new, var_new, best)
        j = int(np.argmax(ei_new))
        if len(ei_old) and ei_old.max() >= ei_new[j]:
            return curves[pos[int(np.argmax(ei_old))]], None
        return None, self.space.to_dicts(cand[j][None, :])[0]

    def recommend(self) -> tuple[dict[str, Any], float] | None:
        """The configuration with the lowest predicted loss at ``max_budget`` and that value."""
        curves = [cid for cid, r in self.runs.items() if r["curve"]]
        if len(curves) < 2:
            return self.incumbent()
        with blas_single_thread():
            self._fit(curves)
            mu = np.array([self.model.predict_curve(i, [self.max_budget])[0][0]
                           for i in range(len(curves))])
        i = int(np.argmin(mu))
        return dict(self.runs[curves[i]]["config"]), float(mu[i])
