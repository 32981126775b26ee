"""Bayesian-neural-network BO (BOHAMIANN, DNGO) against GP BO: time per ask and regret.

``--part timing``: time of one ``ask()`` (model fit + acquisition) of GP BO (``"gp"``: exact
up to 600 observations, the sparse DTC posterior above) and of ``"bnn-bo"`` with BOHAMIANN and
DNGO, after ``n`` observations of Hartmann-6 (random configurations, fed with
``warm_start``); the median over ``--repeats`` asks (each after one more tell).

    nice -n 10 python benchmarks/bnn_bo.py --part timing --sizes 500,2000,10000

``--part regret``: multi-fidelity BO with the GP (``"mfbo"``, method ``gp``) and with the
networks (``"bnn-mfbo"``, methods ``bohamiann``, ``dngo``), all with the same acquisition
(``--acquisition``, default MF-KG), on multi-fidelity problems (synthetic ones and real-data
ones such as ``yahpo-lcbench-3945``), sequentially until the cumulative measured cost reaches
``--budget`` full-budget evaluations, through ``benchmarks/mfbo_compare.py``'s loop; the regret
of ``recommend()`` at cost milestones (median over seeds) and whether the final recommendation
was measured at the full budget.

    nice -n 10 python benchmarks/bnn_bo.py --part regret --problems mf-branin,mf-hartmann3 \
        --seeds 10 --budget 10 --out /tmp/bnn_regret.json
"""

from __future__ import annotations

import argparse
import json
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
def make(method: str, bench, seed: int, acquisition: str, model_kwargs: dict | None = None):
    kw = dict(min_budget=bench.min_budget, max_budget=bench.max_budget, eta=bench.eta, seed=seed,
              acquisition=acquisition)
    if method == "gp":
        return MFBO(bench.space, **kw)
    return BNNMFBO(bench.space, model=method, model_kwargs=model_kwargs or None, **kw)


def regret(problems: list[str], seeds: int, budget: float, methods: list[str], acquisition: str,
           out: str | None, seed_start: int = 0, max_evals: int | None = None,
           model_kwargs: dict | None = None) -> None:
    """Runs through ``benchmarks/mfbo_compare.py``'s loop: measured cost (``Result.cost``), cost
    unit = median cost of 5 full-budget evaluations, regret of ``recommend()`` (noise-free
    ``test_loss`` at max_budget) at 25 geometric cost milestones up to ``budget`` units."""
    import sys

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import mfbo_compare as MC

    milestones = np.geomspace(0.1, budget, 25)
    results: dict = {}
    if out and os.path.exists(out):  # resume: keep finished (problem, method, seed) runs
        with open(out) as fh:
            results = json.load(fh)["results"]
    for prob in problems:
        bench = B.get(prob)
        unit = MC.unit_cost(bench)
        scorer = MC.Scorer(bench)
        res = results.setdefault(prob, dict(unit=unit, optimum=bench.optimum, rows=[],
                                            cost="measured", measured_unit=unit))
        done = {(r["method"], r["seed"]) for r in res["rows"]}
        for seed in range(seed_start, seed_start + seeds):
            for m in methods:
                if (m, seed) in done:
                    continue
                t0 = time.time()
                opt = make(m, bench, seed, acquisition, model_kwargs)
                r = MC.run(m, bench, seed, budget, unit, milestones, scorer, max_evals, "measured",
                           unit, opt=opt)
                res["rows"].append(r)
                print(f"{prob} {m} seed {seed}: final regret {r['regret'][-1]:.4g}, {r['n']} evals, "
                      f"{r['overhead_s'] / max(r['n'], 1):.2f} s/ask, {time.time() - t0:.0f}s",
                      flush=True)
                if out:
                    with open(out, "w") as fh:
                        json.dump(dict(milestones=milestones.tolist(), budget=budget,
                                       methods=methods, acquisition=acquisition,
                                       results=results), fh)
    for prob, res in results.items():
        print(f"\nacquisition {acquisition}; 'gp' is MFBO's GP, the others BNNMFBO")
        MC.report(prob, res, [m for m in methods if any(r["method"] == m for r in res["rows"])],
                  milestones)


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
    ap.add_argument("--out", default=None, help="raw results (resumed if it exists)")
    ap.add_argument("--seed-start", type=int, default=0)
    ap.add_argument("--max-evals", type=int, default=None)
    ap.add_argument("--model-kwargs", default="", help="JSON settings of the networks, "
                    'e.g. \'{"n_burn_in": 1000}\'')
    a = ap.parse_args(argv)
    if a.part == "timing":
        timing([int(s) for s in a.sizes.split(",")], a.repeats, a.timing_methods.split(","))
    else:
        regret(a.problems.split(","), a.seeds, a.budget, a.methods.split(","), a.acquisition, a.out,
               a.seed_start, a.max_evals, json.loads(a.model_kwargs) if a.model_kwargs else None)


if __name__ == "__main__":
    main()
