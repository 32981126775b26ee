"""BoTorch's multi-fidelity acquisitions as a benchmark peer of lowfi's MFBO (not a dependency).

Runs BoTorch's ``qMultiFidelityKnowledgeGradient`` (Wu et al. 2019) and
``qMultiFidelityMaxValueEntropy`` (Takeno et al. 2020), both with the cost-aware utility
``InverseCostWeightedUtility(AffineFidelityCostModel)`` on a ``SingleTaskMultiFidelityGP`` and
``project_to_target_fidelity``, next to lowfi's ``MFBO`` acquisitions (ES, MF-GP-UCB, MF-MES,
MF-KG), through the same loop as ``benchmarks/mfbo_compare.py``: the same problems, budget grid
(10/30/90), initial design rule, cost, milestones and scoring, in one process so that the
time per ask is measured under the same load.

Fidelity and cost. The synthetic problems charge ``0.05 + 0.95 z^2`` with ``z = budget / 90``.
BoTorch's fidelity input is ``f = z^2`` (so its affine cost model ``0.05 + 0.95 f`` *is* the
problem's cost exactly; f = 1/81, 1/9, 1 on the grid) and candidates are optimized over the
configuration for each of the three grid fidelities (``optimize_acqf_mixed``). BoTorch is told
the cost model; lowfi's MFBO learns it with its cost GP.

Verified incumbent. A BoTorch run recommends the maximizer of the posterior mean at the target
fidelity (optimized over the whole box, BoTorch's tutorial rule). Once the cost spent plus one
full-budget evaluation reaches the run's total, the recommendation is evaluated at the full
budget (charged like any evaluation) and the run ends; from then on it is the recommendation.

Setup (its own virtual environment; it reuses the project's CPU torch and lowfi):

    python3.11 -m venv /tmp/lowfi-peers/botorch
    printf '%s\\n' "$PWD/src" "$PWD/.venv/lib/python3.11/site-packages" \\
        > /tmp/lowfi-peers/botorch/lib/python3.11/site-packages/zz_lowfi.pth
    /tmp/lowfi-peers/botorch/bin/pip install botorch==0.18.1 gpytorch==1.15.2

Run (``--methods`` picks any of botorch-kg, botorch-mes and mfbo_compare's methods):

    nice -n 10 /tmp/lowfi-peers/botorch/bin/python benchmarks/peers/botorch_mf.py \\
        --problems mf-branin,mf-hartmann3 --seeds 10 --budget 10 --max-evals 150 \\
        --out /tmp/botorch_mf.json
    python benchmarks/mfbo_compare.py --load /tmp/botorch_mf.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import warnings
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import mfbo_compare as MC  # noqa: E402

import lowfi.benchmarks as B  # noqa: E402
from lowfi.core.trial import Result  # noqa: E402
from lowfi.optimizers.base import Optimizer, check_budgets, n_rungs  # noqa: E402

PEER_METHODS = ("botorch-kg", "botorch-mes")

#: BoTorch settings (its tutorial uses 128 fantasies, 10 restarts, 512 raw samples; these are
#: cut to fit a 2-core machine; see the docs for their effect)
SETTINGS = dict(num_fantasies=16, num_restarts=2, raw_samples=64, n_candidates=500,
                maxiter=30)


class BoTorchMF(Optimizer):
    """lowfi ask/tell wrapper of BoTorch's cost-aware multi-fidelity KG or MES.

    Parameters
    ----------
    space, min_budget, max_budget, eta
        As for :class:`lowfi.optimizers.mfbo.MFBO` (budgets on the eta-grid).
    acquisition
        ``"kg"`` (qMultiFidelityKnowledgeGradient) or ``"mes"`` (qMultiFidelityMaxValueEntropy).
    cost_fixed, cost_weight, cost_power
        The cost ``cost_fixed + cost_weight * (budget / max_budget)^cost_power``; the fidelity
        input is ``(budget / max_budget)^cost_power`` so BoTorch's affine model is exact.
    total_cost
        The run's total cost; the verification is asked once ``spent + full cost >= total``.
    """

    multi_fidelity = True

    def __init__(self, space: Any, min_budget: float, max_budget: float, eta: float = 3,
                 acquisition: str = "kg", seed: int = 0, cost_fixed: float = 0.05,
                 cost_weight: float = 0.95, cost_power: float = 2.0,
                 total_cost: float | None = None, **settings: Any):
        super().__init__(space, seed)
        if acquisition not in ("kg", "mes"):
            raise ValueError(f"acquisition: got {acquisition!r}; allowed are 'kg', 'mes'")
        import torch

        self.torch = torch
        torch.manual_seed(seed)
        min_budget, max_budget, eta = check_budgets(min_budget, max_budget, eta)
        k = n_rungs(min_budget, max_budget, eta)
        self.budgets = [max_budget * eta ** (i - k) for i in range(k + 1)]
        self.min_budget, self.max_budget, self.eta = min_budget, max_budget, eta
        self.acquisition = acquisition
        self.cost_fixed, self.cost_weight, self.cost_power = cost_fixed, cost_weight, cost_power
        self.total_cost = total_cost
        self.settings = {**SETTINGS, **settings}
        self.d = self.space.dim
        # lowfi's MFBO initial design: n_initial configurations at the cheapest budget,
        # 1/eta of them at each next budget below the maximum
        n = max(4, min(self.d + 1, 10))
        configs = self.space.sample(self.rng, n)
        self._init: list[tuple[dict, float]] = []
        for b in self.budgets[:-1] if len(self.budgets) > 1 else self.budgets:
            self._init.extend((c, b) for c in configs[:n])
            n //= int(round(eta))
            if n == 0:
                break
        self._init.reverse()
        self._fit_n = -1
        self._model = None
        self.verified: dict | None = None
        self._spent = 0.0

    # -------------------------------------------------------------- model
    def fid(self, budget: float) -> float:
        return float((budget / self.max_budget) ** self.cost_power)

    def cost(self, budget: float) -> float:
        return self.cost_fixed + self.cost_weight * self.fid(budget)

    def _fit(self):
        recs = [r for r in self.history.records if not r.failed]
        if len(recs) == self._fit_n:
            return self._model
        torch = self.torch
        from botorch.fit import fit_gpytorch_mll
        from botorch.models import SingleTaskMultiFidelityGP
        from botorch.models.transforms.outcome import Standardize
        from gpytorch.mlls import ExactMarginalLogLikelihood

        X = self.space.encode([r.config for r in recs])
        F = np.array([[self.fid(r.budget)] for r in recs])
        Y = -np.array([[float(r.loss)] for r in recs])  # BoTorch maximizes
        tx = torch.tensor(np.hstack([X, F]), dtype=torch.double)
        ty = torch.tensor(Y, dtype=torch.double)
        model = SingleTaskMultiFidelityGP(tx, ty, data_fidelities=[self.d],
                                          outcome_transform=Standardize(m=1))
        mll = ExactMarginalLogLikelihood(model.likelihood, model)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit_gpytorch_mll(mll)
        self._model, self._fit_n = model, len(recs)
        return model

    def _bounds(self):
        torch = self.torch
        b = torch.zeros(2, self.d + 1, dtype=torch.double)
        b[1] = 1.0
        return b

    def _project(self, X):
        from botorch.acquisition.utils import project_to_target_fidelity

        return project_to_target_fidelity(X=X, target_fidelities={self.d: 1.0}, d=self.d + 1)

    def _best_at_target(self, model) -> tuple[np.ndarray, float]:
        """Maximizer of the posterior mean at the target fidelity (BoTorch's recommendation)."""
        from botorch.acquisition import PosteriorMean
        from botorch.acquisition.fixed_feature import FixedFeatureAcquisitionFunction
        from botorch.optim import optimize_acqf

        acq = FixedFeatureAcquisitionFunction(PosteriorMean(model), d=self.d + 1,
                                              columns=[self.d], values=[1.0])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            x, v = optimize_acqf(acq, bounds=self._bounds()[:, :-1], q=1,
                                 num_restarts=self.settings["num_restarts"],
                                 raw_samples=self.settings["raw_samples"],
                                 options={"maxiter": self.settings["maxiter"]})
        return x[0].detach().numpy(), float(v)

    # -------------------------------------------------------------- ask/tell
    def _ask(self):
        if self.verified is not None:
            return None
        if self._init:
            c, b = self._init.pop()
            return self._new_trial(c, b)
        full = self.cost(self.max_budget)
        if self.total_cost is not None and self._spent + full >= self.total_cost:
            config = self.recommend()[0]
            self.verified = config
            return self._new_trial(config, self.max_budget, verification=True)
        x, f = self._select()
        config = self.space.to_dicts(x[None, :])[0]
        budget = min(self.budgets, key=lambda b: abs(self.fid(b) - f))
        return self._new_trial(config, budget)

    def _tell(self, trial, result: Result) -> None:
        self._spent += float(result.cost) if result.cost is not None else self.cost(trial.budget)

    def _select(self) -> tuple[np.ndarray, float]:
        torch = self.torch
        from botorch.acquisition import (
            qMultiFidelityKnowledgeGradient,
            qMultiFidelityMaxValueEntropy,
        )
        from botorch.acquisition.cost_aware import InverseCostWeightedUtility
        from botorch.models.cost import AffineFidelityCostModel
        from botorch.optim import optimize_acqf_mixed

        model = self._fit()
        s = self.settings
        cost_model = AffineFidelityCostModel(fidelity_weights={self.d: self.cost_weight},
                                             fixed_cost=self.cost_fixed)
        utility = InverseCostWeightedUtility(cost_model=cost_model)
        if self.acquisition == "kg":
            _, cur = self._best_at_target(model)
            acq = qMultiFidelityKnowledgeGradient(
                model=model, num_fantasies=s["num_fantasies"],
                current_value=torch.tensor(cur, dtype=torch.double),
                cost_aware_utility=utility, project=self._project)
        else:
            cand = torch.rand(s["n_candidates"], self.d + 1, dtype=torch.double)
            acq = qMultiFidelityMaxValueEntropy(model, cand, cost_aware_utility=utility,
                                                project=self._project)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            x, _ = optimize_acqf_mixed(
                acq, bounds=self._bounds(), q=1, num_restarts=s["num_restarts"],
                raw_samples=s["raw_samples"],
                fixed_features_list=[{self.d: self.fid(b)} for b in self.budgets],
                options={"batch_limit": 8, "maxiter": s["maxiter"]})
        x = x[0].detach().numpy()
        return np.clip(x[:-1], 0.0, 1.0), float(x[-1])

    def recommend(self) -> tuple[dict[str, Any], float] | None:
        """The verified configuration once it is evaluated, else the maximizer of the posterior
        mean at the target fidelity (None before any result)."""
        if self.verified is not None:
            return self.verified, math.nan
        if not any(not r.failed for r in self.history.records):
            return None
        x, v = self._best_at_target(self._fit())
        return self.space.to_dicts(np.clip(x, 0.0, 1.0)[None, :])[0], -v


def make_peer(method: str, bench, seed: int, total_cost: float) -> BoTorchMF:
    z = np.array([1.0 / 9.0, 1.0 / 3.0, 1.0])
    c = bench.cost_at(z)
    if not np.allclose(c, 0.05 + 0.95 * z ** 2):
        raise ValueError(f"{bench.name}: its cost is not 0.05 + 0.95 z^2; set the cost model")
    return BoTorchMF(bench.space, bench.min_budget, bench.max_budget, bench.eta,
                     acquisition=method.split("-")[1], seed=seed, total_cost=total_cost)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--problems", default="mf-branin,mf-hartmann3")
    ap.add_argument("--methods", default="botorch-kg,botorch-mes,es,mf-gp-ucb,mf-mes,mf-kg")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--seed-start", type=int, default=0)
    ap.add_argument("--budget", type=float, default=10.0)
    ap.add_argument("--max-evals", type=int, default=150)
    ap.add_argument("--out", default="/tmp/botorch_mf.json")
    a = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    methods = a.methods.split(",")
    milestones = np.geomspace(0.1, a.budget, 25)
    results: dict = {}
    if os.path.exists(a.out):  # resume: keep finished (problem, method, seed) runs
        with open(a.out) as fh:
            results = json.load(fh)["results"]
    for prob in a.problems.split(","):
        bench = B.get(prob)
        unit = MC.unit_cost(bench)
        scorer = MC.Scorer(bench)
        res = results.setdefault(prob, dict(unit=unit, optimum=bench.optimum, rows=[],
                                            cost="measured", measured_unit=unit))
        done = {(r["method"], r["seed"]) for r in res["rows"]}
        for s in range(a.seed_start, a.seed_start + a.seeds):
            for m in methods:
                if (m, s) in done:
                    continue
                t0 = time.time()
                opt = (make_peer(m, bench, s, a.budget * unit) if m in PEER_METHODS
                       else MC.make(m, bench, s))
                r = MC.run(m, bench, s, a.budget, unit, milestones, scorer, a.max_evals,
                           "measured", unit, opt=opt)
                res["rows"].append(r)
                print(f"{prob} {m} seed {s}: final regret {r['regret'][-1]:.4g}, {r['n']} evals, "
                      f"{1e3 * r['overhead_s'] / max(r['n'], 1):.0f} ms/ask, rec measured at max: "
                      f"{r['rec_at_max']}, {time.time() - t0:.0f}s", file=sys.stderr, flush=True)
                with open(a.out, "w") as fh:
                    json.dump(dict(milestones=milestones.tolist(), budget=a.budget,
                                   methods=methods, results=results), fh)
    for prob, res in results.items():
        MC.report(prob, res, [m for m in methods if any(r["method"] == m for r in res["rows"])],
                  milestones)
        final_table(prob, res["rows"], methods)


def final_table(prob: str, rows: list[dict], methods: list[str]) -> None:
    """Final regret per method over the seeds every method finished: mean ± standard error,
    median, and in how many seeds the method ended below each BoTorch acquisition."""
    seeds = sorted(set.intersection(*({r["seed"] for r in rows if r["method"] == m}
                                      for m in methods)))
    final = {m: np.array([next(r["regret"][-1] for r in rows if r["method"] == m
                               and r["seed"] == s) for s in seeds]) for m in methods}
    peers = [m for m in methods if m in PEER_METHODS]
    print(f"\n{prob}: final regret over seeds {seeds[0]}-{seeds[-1]} ({len(seeds)} seeds)\n")
    print("| method | mean ± s.e. | median | " + " | ".join(f"seeds below {p}" for p in peers)
          + " |\n|---|---|---|" + "---|" * len(peers))
    for m in methods:
        v = final[m]
        wins = " | ".join(f"{int((v < final[p]).sum())}/{len(v)}" if p != m else "-"
                          for p in peers)
        se = v.std(ddof=1) / np.sqrt(len(v)) if len(v) > 1 else float("nan")
        print(f"| {m} | {v.mean():.3g} ± {se:.2g} | {np.median(v):.3g} | {wins} |")


if __name__ == "__main__":
    main()
