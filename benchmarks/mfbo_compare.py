"""Regret against cumulative cost: multi-fidelity BO acquisitions vs GP BO, Hyperband, BOHB.

Each run is a sequential ask/evaluate/tell loop until the cumulative cost (the benchmark's
``Result.cost``) reaches ``--budget`` times the cost of one full-budget evaluation. At cost
milestones the run's recommendation is scored by its noise-free loss at ``max_budget``
(``test_loss``; for svm-digits the validation error at the full training set, not charged):
MFBO recommends with :meth:`MFBO.recommend` (lowest predicted loss at the full budget among
evaluated configurations), the others with ``incumbent()`` (best observed at the highest budget).

    nice -n 10 python benchmarks/mfbo_compare.py --seeds 10 --budget 10 \
        --problems mf-branin,mf-hartmann3,mf-hartmann6 --out /tmp/mfbo.json
    python benchmarks/mfbo_compare.py --load /tmp/mfbo.json --plot docs/img/mfbo_regret.png

``--cost budget2`` (or ``budget``) charges a deterministic cost ``(budget / max_budget)^2`` (or
``^1``) per evaluation instead of the measured ``Result.cost`` (one full evaluation = 1); the
optimizer is told the charged cost, and the measured cost is still summed per run (``measured``
in the raw file, reported as "measured cost units" in the table). Use it where measured fit
times are noisy (a loaded machine); an RBF SVM fit grows roughly with the square of the subset.

prints tables (median regret over seeds at milestones; cost to reach GP BO's final median
regret, and the ratio) and writes raw trajectories to ``--out`` and a plot to ``--plot``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import lowfi.benchmarks as B  # noqa: E402
from lowfi.core.seeding import as_generator  # noqa: E402
from lowfi.core.trial import Result  # noqa: E402
from lowfi.optimizers import Hyperband, available, get  # noqa: E402
from lowfi.optimizers.gp import GPBO  # noqa: E402
from lowfi.optimizers.mfbo import MFBO  # noqa: E402
from lowfi.space import Space  # noqa: E402

METHODS = ["es", "mf-gp-ucb", "mf-mes", "mf-kg", "gp", "hyperband", "bohb"]


def make(method: str, bench, seed: int, mfbo_kw: dict | None = None):
    kw = dict(min_budget=bench.min_budget, max_budget=bench.max_budget, eta=bench.eta, seed=seed)
    if method in ("es", "mf-gp-ucb", "mf-mes", "mf-kg"):
        return MFBO(bench.space, acquisition=method, **kw, **(mfbo_kw or {}))
    if method == "gp":
        return GPBO(bench.space, max_budget=bench.max_budget, seed=seed)
    if method == "hyperband":
        return Hyperband(bench.space, **kw)
    return get(method, bench.space, **kw)


class Scorer:
    """Noise-free loss at max_budget of a configuration (cached)."""

    def __init__(self, bench):
        self.bench, self.cache = bench, {}

    def __call__(self, config: dict) -> float:
        key = tuple(sorted(config.items()))
        if key not in self.cache:
            v = self.bench.test_loss(config)
            if v is None:
                v = self.bench.evaluate(config, self.bench.max_budget, seed=0).loss
            self.cache[key] = float(v)
        return self.cache[key]


def charge(bench, budget: float, measured: float, cost: str) -> float:
    """Cost charged for one evaluation: measured, or (budget / max_budget)^p."""
    if cost == "measured":
        return measured
    p = {"budget": 1.0, "budget2": 2.0}[cost]
    return float((budget / bench.max_budget) ** p)


def unit_cost(bench, n: int = 5) -> float:
    """Median cost of full-budget evaluations of a few random configurations (seed 0)."""
    cfgs = Space(bench.space).sample(as_generator(0), n)
    return float(np.median([bench.evaluate(c, bench.max_budget, seed=0).cost for c in cfgs]))


def run(method: str, bench, seed: int, budget: float, unit: float, milestones: np.ndarray,
        scorer: Scorer, max_evals: int | None = None, cost: str = "measured",
        measured_unit: float = 1.0, mfbo_kw: dict | None = None, opt=None) -> dict:
    """One run; ``opt`` (an ask/tell optimizer) replaces ``make(method, ...)`` when given."""
    opt = make(method, bench, seed, mfbo_kw) if opt is None else opt
    spent, k, n, measured = 0.0, 0, 0, 0.0
    regret = [math.nan] * len(milestones)
    overhead, budgets = 0.0, []
    while spent < budget * unit and (max_evals is None or n < max_evals):
        t0 = time.perf_counter()
        trial = opt.ask()
        overhead += time.perf_counter() - t0
        if trial is None:
            break
        res = bench.evaluate(trial.config, trial.budget, seed=seed)
        measured += res.cost / measured_unit
        if cost != "measured":
            res = Result(loss=res.loss, cost=charge(bench, trial.budget, res.cost, cost),
                         info=res.info)
        if k < len(milestones) and spent + res.cost > milestones[k] * unit:
            # milestones passed by this evaluation get the state before it (spent <= milestone)
            r = recommend_regret(opt, bench, scorer) if n else math.nan
            while k < len(milestones) and spent + res.cost > milestones[k] * unit:
                regret[k] = r
                k += 1
        t0 = time.perf_counter()
        opt.tell(trial, res)
        overhead += time.perf_counter() - t0
        spent += res.cost
        n += 1
        budgets.append(trial.budget)
    if k < len(milestones):
        regret[k:] = [recommend_regret(opt, bench, scorer)] * (len(milestones) - k)
    return dict(method=method, seed=seed, regret=regret, n=n, overhead_s=overhead,
                rec_at_max=rec_measured_at_max(opt, bench),
                any_at_max=any(not r.failed and float(r.budget) == float(bench.max_budget)
                               for r in opt.history.records),
                measured=measured, charged=spent / unit,
                frac_full=float(np.mean(np.isclose(budgets, bench.max_budget))) if budgets else 0.0)


def recommend_regret(opt, bench, scorer: Scorer) -> float:
    rec = opt.recommend() if hasattr(opt, "recommend") else opt.incumbent()
    return scorer(rec[0]) - bench.optimum if rec is not None else math.nan


def rec_measured_at_max(opt, bench) -> bool:
    """Whether the final recommendation was itself evaluated at ``max_budget`` in the run."""
    rec = opt.recommend() if hasattr(opt, "recommend") else opt.incumbent()
    if rec is None:
        return False
    key = opt.space.key(rec[0])
    return any(not r.failed and float(r.budget) == float(bench.max_budget)
               and opt.space.key(r.config) == key for r in opt.history.records)


def cost_to_reach(traj: np.ndarray, milestones: np.ndarray, target: float) -> float:
    hit = np.flatnonzero(np.nan_to_num(traj, nan=np.inf) <= target + 1e-12)
    return float(milestones[hit[0]]) if len(hit) else math.inf


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--problems", default="mf-branin,mf-hartmann3,mf-hartmann6")
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--seed-start", type=int, default=0)
    ap.add_argument("--budget", type=float, default=10.0, help="total cost in full evaluations")
    ap.add_argument("--max-evals", type=int, default=None,
                    help="also stop a run after this many evaluations")
    ap.add_argument("--first-milestone", type=float, default=0.1,
                    help="first of the 25 geometric cost milestones (last: --budget)")
    ap.add_argument("--cost", default="measured", choices=["measured", "budget", "budget2"],
                    help="cost charged per evaluation: measured Result.cost, or the "
                         "deterministic (budget/max_budget)^1 or ^2 (full evaluation = 1)")
    ap.add_argument("--loss-transform", default="", choices=["", "log"],
                    help="MFBO's loss_transform (default: none, the papers' model)")
    ap.add_argument("--out", default="/tmp/mfbo_compare.json")
    ap.add_argument("--plot", default="")
    ap.add_argument("--load", default="", help="comma-separated result files: report/plot only")
    args = ap.parse_args(argv)
    if args.load:
        results, methods, milestones = {}, [], None
        for path in args.load.split(","):
            with open(path) as fh:
                data = json.load(fh)
            milestones = np.array(data["milestones"])
            methods = methods or data["methods"]
            for prob, res in data["results"].items():
                if prob in results:
                    results[prob]["rows"].extend(res["rows"])
                else:
                    results[prob] = res
        for prob, res in results.items():
            seeds = {r["seed"] for r in res["rows"]}
            full = [s for s in seeds if sum(r["seed"] == s for r in res["rows"]) == len(methods)]
            res["rows"] = [r for r in res["rows"] if r["seed"] in full]
            report(prob, res, methods, milestones)
        if args.plot:
            plot(results, methods, milestones, args.plot)
        return
    have = set(available())
    methods = [m for m in args.methods.split(",") if m != "bohb" or "bohb" in have]
    milestones = np.geomspace(args.first_milestone, args.budget, 25)
    results = {}
    for prob in args.problems.split(","):
        try:
            bench = B.get(prob)
        except ValueError as exc:
            print(f"skip {prob}: {exc}")
            continue
        measured_unit = unit_cost(bench)
        unit = measured_unit if args.cost == "measured" else 1.0
        scorer = Scorer(bench)
        rows = []
        results[prob] = dict(unit=unit, optimum=bench.optimum, rows=rows, cost=args.cost,
                             loss_transform=args.loss_transform or None,
                             measured_unit=measured_unit)
        for s in range(args.seed_start, args.seed_start + args.seeds):  # seeds outer: a partial file has every method for k seeds
            for m in methods:
                t0 = time.time()
                r = run(m, bench, s, args.budget, unit, milestones, scorer, args.max_evals,
                        args.cost, measured_unit,
                        dict(loss_transform=args.loss_transform or None))
                rows.append(r)
                print(f"{prob} {m} seed {s}: final regret {r['regret'][-1]:.4g}, {r['n']} evals, "
                      f"{1e3 * r['overhead_s'] / max(r['n'], 1):.1f} ms/ask, {time.time() - t0:.0f}s",
                      file=sys.stderr, flush=True)
                with open(args.out, "w") as fh:
                    json.dump(dict(milestones=milestones.tolist(), budget=args.budget,
                                   methods=methods, results=results), fh)
        report(prob, results[prob], methods, milestones)
    if args.plot:
        plot(results, methods, milestones, args.plot)


def report(prob: str, res: dict, methods: list[str], milestones: np.ndarray) -> None:
    """Median-over-seeds regret at milestones; cost for the median trajectory to reach GP BO's
    final median regret, and the ratio to GP BO's own cost (speed-up)."""
    rows = res["rows"]
    methods = [m for m in methods if any(r["method"] == m for r in rows)]
    if not methods:
        return
    traj = {m: np.array([r["regret"] for r in rows if r["method"] == m]) for m in methods}
    med = {m: np.array([np.nanmedian(c) if np.isfinite(c).any() else np.nan for c in t.T])
           for m, t in traj.items()}
    marks = (0.5, 1.0, 3.0, milestones[-1]) if milestones[-1] < 5 else (1.0, 3.0, milestones[-1])
    pick = sorted({int(np.argmin(np.abs(milestones - v))) for v in marks})
    gp_final = float(med["gp"][-1]) if "gp" in med else math.nan
    gp_cost = cost_to_reach(med["gp"], milestones, gp_final) if "gp" in med else math.nan
    print(f"\n### {prob} (cost charged: {res.get('cost', 'measured')}, cost unit "
          f"{res['unit']:.4g}, median over {len(traj[methods[0]])} seeds)\n")
    head = " | ".join(f"regret @{milestones[i]:.3g}x" for i in pick)
    print(f"| method | {head} | cost to reach GP-BO final ({gp_final:.3g}) | speed-up vs GP-BO | "
          "evals | share at max budget | rec. measured at max (any at max) | measured cost units | ms/ask |")
    print("|---" * (len(pick) + 8) + "|")
    for m in methods:
        reach = cost_to_reach(med[m], milestones, gp_final)
        rr = [r for r in rows if r["method"] == m]
        ms = 1e3 * np.sum([r["overhead_s"] for r in rr]) / max(np.sum([r["n"] for r in rr]), 1)
        speed = f"{gp_cost / reach:.2g}" if np.isfinite(reach) else "never"
        if "gp" not in med:
            reach, speed = math.nan, "-"
        cells = " | ".join(f"{med[m][i]:.3g}" for i in pick)
        meas = np.median([r.get("measured", math.nan) for r in rr])
        ver = [r["rec_at_max"] for r in rr if "rec_at_max" in r]
        ver = f"{sum(ver)}/{len(ver)}" if ver else "-"
        anym = [r["any_at_max"] for r in rr if "any_at_max" in r]
        ver += f" ({sum(anym)}/{len(anym)})" if anym else ""
        reach = f"{reach:.3g}x" if not math.isnan(reach) else "-"
        print(f"| {m} | {cells} | {reach} | {speed} | {np.mean([r['n'] for r in rr]):.0f} | "
              f"{np.mean([r['frac_full'] for r in rr]):.2f} | {ver} | {meas:.3g} | {ms:.0f} |")


def plot(results: dict, methods: list[str], milestones: np.ndarray, path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(results), figsize=(4.5 * len(results), 3.6), squeeze=False)
    for ax, (prob, res) in zip(axes[0], results.items()):
        svm = prob.startswith("svm-digits")  # regret is a count of errors: linear axis, 0 shown
        for m in methods:
            t = np.array([r["regret"] for r in res["rows"] if r["method"] == m])
            med = np.nanmedian(t if svm else np.maximum(t, 1e-9), axis=0)
            ax.plot(milestones, med, label=m, drawstyle="steps-post" if svm else "default")
        ax.set_xscale("log")
        ax.set_yscale("linear" if svm else "log")
        if svm:
            ax.set_ylim(-0.001, 0.03)
        ax.set_title(prob)
        ax.set_xlabel("cumulative cost / cost of one full evaluation")
        ax.set_ylabel("median simple regret")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
