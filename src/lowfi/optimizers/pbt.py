"""Population Based Training (Jaderberg, Dalibard, Osindero, Czarnecki, Donahue, Razavi,
Vinyals, Green, Dunning, Simonyan, Fernando & Kavukcuoglu, "Population Based Training of Neural
Networks", 2017), asynchronous, as a lowfi scheduler.

A population of ``population_size`` members trains in steps of ``interval`` budget units
(epochs). Whenever a member finishes a step it is *ready* (section 3.1):

* **exploit** ("truncation selection", section 4): if its latest loss is in the worst
  ``quantile`` of the members' latest losses, it takes over the weights and hyperparameters
  of a member drawn uniformly from the best ``quantile``;
* **explore** ("perturb"): the copied hyperparameters are perturbed: each numerical one is
  multiplied by 0.8 or 1.2 (``factors``), each categorical one kept, and with probability
  ``resample_prob`` any of them is drawn again from the search space;
* the member then trains one more step, until ``max_budget``.

Weights move between members through checkpoints: an exploited trial carries
``info["inherit_config_id"]``, and the run loop copies the checkpoint folder of that
configuration into the new configuration's ``trial.checkpoint_dir`` before the trial starts, so
an objective that continues from its checkpoint folder (e.g. with
:class:`lowfi.integrations.torch.TorchCheckpoint`) continues from the better member's weights.
Its budget is the source's trained budget when the trial is handed out (the weights copied
then) plus one interval. Losses are compared across
members at whatever step they last finished (the asynchronous variant, as in Ray Tune).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from typing import Any

import numpy as np

from lowfi.core.seeding import SeedLike
from lowfi.core.trial import Result, Trial
from lowfi.optimizers.base import Optimizer, Proposer, budget_kind, check_budgets
from lowfi.space.space import CAT, FLOAT, INT, ORD


class PBT(Optimizer):
    """Asynchronous population based training.

    Parameters
    ----------
    space
        The hyperparameters to adapt during training.
    min_budget
        The interval between exploit/explore steps (budget units, e.g. epochs).
    max_budget
        Budget at which a member stops training.
    population_size
        Members trained side by side (default 8).
    quantile
        Fraction of the population that is exploited / exploited from (paper: 0.2-0.25;
        default 0.25).
    resample_prob
        Probability of drawing a hyperparameter again from the space when exploring (0.25).
    factors
        Multipliers of numerical hyperparameters when exploring (paper: 0.8 and 1.2).
    proposer
        Where the initial population comes from (default: random samples of the space).
    """

    multi_fidelity = True

    def __init__(self, space: Any, min_budget: float, max_budget: float,
                 population_size: int = 8, quantile: float = 0.25, resample_prob: float = 0.25,
                 factors: Sequence[float] = (0.8, 1.2), proposer: Proposer | None = None,
                 seed: SeedLike = None, eta: Any = None, budget_type: Any = None):
        super().__init__(space, seed)
        self.interval, self.max_budget, _ = check_budgets(min_budget, max_budget)
        # int budgets (epochs) when min_budget and max_budget are ints, as for Hyperband
        self.budget_type = budget_kind(budget_type, min_budget, max_budget)
        if isinstance(population_size, bool) or not isinstance(population_size, int) \
                or population_size < 2:
            raise ValueError(f"population_size: got {population_size!r}; allowed is an int >= 2")
        if not (isinstance(quantile, int | float) and 0 < quantile <= 0.5):
            raise ValueError(f"quantile: got {quantile!r}; allowed is a fraction in (0, 0.5]")
        if not (isinstance(resample_prob, int | float) and 0 <= resample_prob <= 1):
            raise ValueError(f"resample_prob: got {resample_prob!r}; allowed is a probability")
        factors = tuple(float(f) for f in factors)
        if not factors or any(not f > 0 for f in factors):
            raise ValueError(f"factors: got {factors!r}; allowed are positive multipliers")
        self.min_budget = self.interval
        self.population_size = population_size
        self.quantile, self.resample_prob, self.factors = float(quantile), float(resample_prob), factors
        self.proposer = self._bind(proposer)
        #: per member: config, config_id, budget trained, latest loss, plan of its next step
        self.members: list[dict[str, Any]] = []
        self.ready: deque[int] = deque()
        self.n_exploits = 0

    # ------------------------------------------------------------------ ask / tell
    def _ask(self) -> Trial | None:
        if len(self.members) < self.population_size:
            m = len(self.members)
            queue = getattr(self.proposer, "queue", None)  # initial_configs first
            config = queue.pop(0) if queue else self.proposer.propose(self.history, self.interval)
            trial = self._new_trial(config, min(self.interval, self.max_budget), member=m,
                                    step=1)
            self.members.append({"config": config, "config_id": trial.config_id, "budget": 0.0,
                                 "loss": None, "done": False, "busy": True})
            return trial
        if not self.ready:
            return None
        m = self.ready.popleft()
        mem = self.members[m]
        plan = mem.pop("plan")
        mem["busy"] = True
        info = {"member": m, "step": plan["step"]}
        budget = plan["budget"]
        if plan.get("source") is not None:
            info.update(exploited_from=plan["source"], inherit_config_id=plan["inherit"])
            # the source's weights are copied when this trial starts: one interval beyond
            # what the source has trained by now (it may have gone on since the plan)
            s = self.members[plan["source"]]
            if s["config_id"] == plan["inherit"]:
                budget = min(max(budget, s["budget"] + self.interval), self.max_budget)
        return self._new_trial(mem["config"], budget, config_id=plan["config_id"], **info)

    def _tell(self, trial: Trial, result: Result) -> None:
        m = int(trial.info["member"])
        mem = self.members[m]
        mem["busy"] = False
        mem["budget"] = float(trial.budget)
        failed = result.status == "failed" or result.loss is None
        mem["loss"] = math.inf if failed else _scalar(result.loss)
        if trial.budget >= self.max_budget * (1 - 1e-12):
            mem["done"] = True
            return
        plan = {"step": int(trial.info.get("step", 1)) + 1, "config_id": mem["config_id"],
                "budget": min(mem["budget"] + self.interval, self.max_budget)}
        src = self._exploit_source(m)
        if src is not None:
            s = self.members[src]
            mem["config"] = self._explore(s["config"])
            mem["config_id"] = self._next_config_id
            self._next_config_id += 1
            plan.update(config_id=mem["config_id"], source=src, inherit=s["config_id"],
                        budget=min(s["budget"] + self.interval, self.max_budget))
            self.n_exploits += 1
        mem["plan"] = plan
        self.ready.append(m)

    # ------------------------------------------------------------------ exploit / explore
    def _exploit_source(self, m: int) -> int | None:
        """A member of the best ``quantile`` when member ``m`` is in the worst, else None."""
        scored = [(mem["loss"], i) for i, mem in enumerate(self.members)
                  if mem["loss"] is not None]
        if len(scored) < 2:
            return None
        scored.sort()
        k = max(1, int(math.ceil(self.quantile * len(scored))))
        if k * 2 > len(scored):
            k = len(scored) // 2
        if k == 0:
            return None
        bottom = {i for _, i in scored[-k:]}
        if m not in bottom:
            return None
        top = [i for _, i in scored[:k] if np.isfinite(self.members[i]["loss"])]
        if not top:
            return None
        return int(top[int(self.rng.integers(len(top)))])

    def _explore(self, config: dict[str, Any]) -> dict[str, Any]:
        """Perturb a copied configuration (numerical x 0.8 / 1.2, resample with probability
        ``resample_prob``); falls back to the space's repair for conditions and forbiddens."""
        sp = self.space
        fresh = sp.sample(self.rng)
        new = dict(config)
        for name, hp, kind in zip(sp.names, sp.hps, sp.kinds):
            if name not in new:
                continue
            if self.rng.random() < self.resample_prob:
                if name in fresh:
                    new[name] = fresh[name]
                continue
            if kind in (FLOAT, INT):
                f = self.factors[int(self.rng.integers(len(self.factors)))]
                v = float(new[name]) * f
                if kind == INT:
                    r = int(round(v))
                    if r == new[name] and f != 1:
                        r = new[name] + (1 if f > 1 else -1)
                    v = r
                v = min(max(v, hp.lower), hp.upper)
                new[name] = int(v) if kind == INT else float(v)
            elif kind == ORD:
                seq = list(hp.sequence)
                i = seq.index(new[name]) + int(self.rng.choice([-1, 1]))
                new[name] = seq[min(max(i, 0), len(seq) - 1)]
            elif kind == CAT:
                pass  # kept (or resampled above)
        try:
            return sp.validate(new)
        except ValueError:
            X, ok = sp.repair(sp.encode([new]))
            return sp.to_dicts(X)[0] if ok[0] else fresh


def _scalar(loss: Any) -> float:
    v = float(loss[0]) if isinstance(loss, tuple) else float(loss)
    return v if math.isfinite(v) else math.inf
