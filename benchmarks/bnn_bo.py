"""Bayesian-neural-network BO (BOHAMIANN, DNGO) against GP BO: time per ask and regret.

``--part timing``: time of one ``ask()`` (model fit + acquisition) of GP BO (``"gp"``: exact
up to 600 observations, the sparse DTC posterior above) and of ``"bnn-bo"`` with BOHAMIANN and
DNGO, after ``n`` observations of Hartmann-6 (random configurations, fed with
``warm_start``); the median over ``--repeats`` asks (each after one more tell).

    nice -n 10 python benchmarks/bnn_bo.py --part timing --sizes 500,2000,10000

``--part regret``: multi-fidelity BO with the GP (``"mfbo"``) and with the networks
(``"bnn-mfbo"``), all with the same acquisition (``--acquisition``, default MF-KG), on the
synthetic multi-fidelity problems, sequentially until the cumulative cost reaches ``--budget``
full-budget evaluations; the regret of ``recommend()`` at cost milestones (median over seeds)
and of ``incumbent()`` at the end.

    nice -n 10 python benchmarks/bnn_bo.py --part regret --problems mf-branin,mf-hartmann3 \
        --seeds 10 --budget 10 --out /tmp/bnn_regret.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import lowfi.benchmarks as B  # noqa: E402
from lowfi.optimizers import get  # noqa: E402
from lowfi.optimizers.bnn_bo import BNNMFBO  # noqa: E402
from lowfi.optimizers.mfbo import MFBO  # noqa: E402
from lowfi.space import Space  # noqa: E402


# ---------------------------------------------------------------------------------- timing
def timing(sizes: list[int], repeats: int, methods: list[str]) -> None:
    bench = B.get("mf-hartmann6")
    space = Space(bench.space)
    rng = np.random.default_rng(0)
    print("seconds per ask (median of", repeats, "asks) after n observations of Hartmann-6")
    print(f"{'method':22s}" + "".join(f"{n:>10d}" for n in sizes))
    for method in methods:
        row = []
        for n in sizes:
            configs = space.sample(rng, n)
            X = np.array([[c[f"x{i}"] for i in range(6)] for c in configs])
            y = bench.loss_at(X, np.ones(n))
            if method == "gp":
                opt = get("gp", bench.space, seed=0)
            elif method == "gp-exact":
                opt = get("gp", bench.space, seed=0, gp_kwargs=dict(max_exact=10 ** 9, n_hyper=10 ** 9))
            else:
                opt = get("bnn-bo", bench.space, seed=0, model=method)
            opt.warm_start([(c, 1.0, float(v)) for c, v in zip(configs, y)])
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                t = opt.ask()
                times.append(time.perf_counter() - t0)
                opt.tell(t, bench.evaluate(t.config, bench.max_budget).loss)
            row.append(float(np.median(times)))
        print(f"{method:22s}" + "".join(f"{v:10.2f}" for v in row), flush=True)


# ---------------------------------------------------------------------------------- regret
def make(method: str, bench, seed: int, acquisition: str):
    kw = dict(min_budget=bench.min_budget, max_budget=bench.max_budget, eta=bench.eta, seed=seed,
              acquisition=acquisition)
    if method == "gp":
        return MFBO(bench.space, **kw)
    return BNNMFBO(bench.space, model=method, **kw)


def run(method: str, bench, seed: int, budget: float, acquisition: str, milestones: np.ndarray) -> dict:
    opt = make(method, bench, seed, acquisition)
    unit = float(bench.cost_at(1.0)[0])
    spent, k, n, overhead = 0.0, 0, 0, 0.0
    regret = [math.nan] * len(milestones)

    def rec_regret() -> float:
        rec = opt.recommend()
        return bench.test_loss(rec[0]) - bench.optimum if rec is not None else math.nan

    while spent < budget * unit:
        t0 = time.perf_counter()
        trial = opt.ask()
        overhead += time.perf_counter() - t0
        res = bench.evaluate(trial.config, trial.budget)
        if k < len(milestones) and spent + res.cost > milestones[k] * unit:
            r = rec_regret() if n else math.nan
            while k < len(milestones) and spent + res.cost > milestones[k] * unit:
                regret[k] = r
                k += 1
        opt.tell(trial, res)
        spent += res.cost
        n += 1
    if k < len(milestones):
        regret[k:] = [rec_regret()] * (len(milestones) - k)
    inc = opt.history.incumbent(bench.max_budget)
    return dict(method=method, seed=seed, regret=regret, n=n, overhead_s=overhead,
                inc_regret=bench.test_loss(inc.config) - bench.optimum,
                inc_at_max=bool(inc.budget == bench.max_budget))


def regret(problems: list[str], seeds: int, budget: float, methods: list[str], acquisition: str,
           out: str | None) -> None:
    milestones = np.array([m for m in (1, 2, 3, 5, 7, 10, 15, 20, 30) if m <= budget] + [budget])
    milestones = np.unique(milestones)
    results: dict = {}
    for prob in problems:
        bench = B.get(prob)
        results[prob] = {m: [] for m in methods}
        for seed in range(seeds):
            for m in methods:
                results[prob][m].append(run(m, bench, seed, budget, acquisition, milestones))
                if out:
                    with open(out, "w") as fh:
                        json.dump(dict(milestones=milestones.tolist(), results=results), fh)
        print(f"\n{prob}: median regret of recommend() over {seeds} seeds, acquisition {acquisition}")
        print(f"{'cost (full evals)':18s}" + "".join(f"{m:>10g}" for m in milestones)
              + f"{'inc. regret':>12s}{'evals':>7s}{'s/ask':>7s}")
        for m in methods:
            R = np.array([r["regret"] for r in results[prob][m]])
            med = np.nanmedian(R, axis=0)
            inc = np.median([r["inc_regret"] for r in results[prob][m]])
            ne = np.median([r["n"] for r in results[prob][m]])
            spa = np.sum([r["overhead_s"] for r in results[prob][m]]) / np.sum([r["n"] for r in results[prob][m]])
            print(f"{m:18s}" + "".join(f"{v:10.4f}" for v in med) + f"{inc:12.4f}{ne:7.0f}{spa:7.2f}",
                  flush=True)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=("timing", "regret"), required=True)
    ap.add_argument("--sizes", default="500,2000,10000")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--timing-methods", default="gp,dngo,bohamiann")
    ap.add_argument("--problems", default="mf-branin,mf-hartmann3")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--budget", type=float, default=10.0)
    ap.add_argument("--methods", default="gp,bohamiann,dngo")
    ap.add_argument("--acquisition", default="mf-kg")
    ap.add_argument("--out", default=None)
    a = ap.parse_args(argv)
    if a.part == "timing":
        timing([int(s) for s in a.sizes.split(",")], a.repeats, a.timing_methods.split(","))
    else:
        regret(a.problems.split(","), a.seeds, a.budget, a.methods.split(","), a.acquisition, a.out)


if __name__ == "__main__":
    main()
