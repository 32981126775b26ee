"""Counting Ones (BOHB paper) with random search, Hyperband, BOHB and TPE under the protocol of
ANCHORS.md: sequential ask/tell, every evaluation charged its budget, incumbent = lowest observed
loss at max_budget (before any, the best at the highest budget seen), normalized regret
``(f_test(inc) - f*) / (f_rand - f*)`` (the paper's units are half of it).

Run: ``nice -n 10 python benchmarks/bohb_counting_ones.py --seeds 40 --problems 8-8,16-16``.
``--optimizers`` also takes ``BOHB-ref``: lowfi's KDE with HpBandSter's departures from the
paper (split rule, untruncated kernels, bracket sizes), to compare with the reference figures.
"""

from __future__ import annotations

import os

# set before numpy loads: one single-threaded process per run, as the protocol says
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np

from lowfi.benchmarks.counting_ones import CountingOnes
from lowfi.core.seeding import spawn
from lowfi.optimizers import Hyperband, RandomSearch
from lowfi.optimizers.bohb import BOHB, KDEProposer
from lowfi.optimizers.tpe import TPE

CHECKPOINTS = (10, 25, 50)


class _ReferenceLikeProposer(KDEProposer):
    """For the investigation only: BOHB's sampler with HpBandSter's departures from the paper
    (model only once the good and the bad set both have more than d rows, i.e. from 2 N_min
    observations, with disjoint sets; untruncated Gaussian kernels as in statsmodels)."""

    def model_budget(self, history):
        for b in reversed(history.budgets):
            if history.count(b) >= 2 * self.n_min:
                return b
        return None

    def propose(self, history, budget):
        b = self.model_budget(history)
        if b is None or self.rng.random() < self.random_fraction:
            return self._random(history, budget)
        n = history.count(b)
        n_good = max(self.n_min, int(self.top_n_percent * n) // 100)
        l_kde, g_kde = self._fit_pair(history, b, n_good, n - n_good,
                                      min_bandwidth=self.min_bandwidth, truncate=False)
        return self._choose(history, budget, l_kde, g_kde, self.num_samples,
                            self.bandwidth_factor, b)


class _ReferenceLikeBOHB(Hyperband):
    """For the investigation only: the proposer above inside HpBandSter's bracket sizes
    (``n0 = floor((s_max + 1) / (s + 1)) * eta**s``, at least one configuration per rung)."""

    def __init__(self, space, min_budget, max_budget, eta, seed):
        super().__init__(space, min_budget, max_budget, eta, proposer=_ReferenceLikeProposer(),
                         seed=seed)

    def _plan(self, k):
        s = self.s_max - (k % (self.s_max + 1))
        n0 = int(math.floor((self.s_max + 1) / (s + 1)) * self.eta**s)
        sizes = [max(int(n0 * self.eta ** (-i)), 1) for i in range(s + 1)]
        budgets = [self.max_budget * self.eta ** (i - s) for i in range(s + 1)]
        return s, sizes, budgets


def make(name: str, bench: CountingOnes, seed: int):
    if name == "RS":
        return RandomSearch(bench.space, max_budget=bench.max_budget, seed=seed)
    if name == "HB":
        return Hyperband(bench.space, bench.min_budget, bench.max_budget, bench.eta, seed=seed)
    if name == "BOHB":
        return BOHB(bench.space, bench.min_budget, bench.max_budget, bench.eta, seed=seed)
    if name == "BOHB-ref":
        return _ReferenceLikeBOHB(bench.space, bench.min_budget, bench.max_budget, bench.eta, seed)
    if name == "TPE":
        return TPE(bench.space, max_budget=bench.max_budget, seed=seed)
    raise ValueError(name)


def run(name: str, bench: CountingOnes, seed: int):
    """Returns regret at the checkpoints, the trajectory and optimizer times (s) per evaluation."""
    opt = make(name, bench, seed)
    eval_rng = spawn(np.random.default_rng([seed, 12345]))
    spent = 0.0
    best_at = {}  # budget -> (loss, config)
    traj, times = [], []
    out = {}
    cps = list(CHECKPOINTS)
    reg = 1.0  # before any evaluation: a random guess
    while True:
        t0 = time.perf_counter()
        trial = opt.ask()
        t_ask = time.perf_counter() - t0
        # regret at K x max_budget counts only evaluations that fit into K x max_budget
        while cps and spent + trial.budget > cps[0] * bench.max_budget:
            out[cps.pop(0)] = reg
        if not cps:
            break
        res = bench.evaluate(trial.config, trial.budget, seed=eval_rng)
        t0 = time.perf_counter()
        opt.tell(trial, res)
        times.append(t_ask + time.perf_counter() - t0)
        spent += trial.budget
        b = trial.budget
        if b not in best_at or res.loss < best_at[b][0]:
            best_at[b] = (res.loss, trial.config)
        inc = best_at[bench.max_budget] if bench.max_budget in best_at else best_at[max(best_at)]
        reg = bench.normalized_regret(inc[1])
        traj.append((spent / bench.max_budget, reg))
    return out, traj, times


def summarize(vals):
    v = np.asarray(vals)
    return v.mean(), v.std(ddof=1) / np.sqrt(len(v)) if len(v) > 1 else 0.0, np.median(v)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--problems", default="8-8,16-16")
    ap.add_argument("--optimizers", default="RS,HB,BOHB,TPE")
    ap.add_argument("--out", default="", help="optional JSON file for the raw regrets")
    ap.add_argument("--plot", default="docs/img/bohb_counting_ones.png")
    args = ap.parse_args()
    results = {}
    for prob in args.problems.split(","):
        nc, nf = map(int, prob.split("-"))
        bench = CountingOnes(nc, nf)
        for name in args.optimizers.split(","):
            t0 = time.perf_counter()
            rows, trajs, all_times = [], [], []
            for seed in range(args.seeds):
                r, tr, tm = run(name, bench, seed)
                rows.append(r)
                trajs.append(tr)
                all_times.extend(tm)
            results[(prob, name)] = (rows, trajs, all_times)
            print(f"[{prob} {name}: {time.perf_counter() - t0:.1f}s]", flush=True)
    lines = ["| problem | optimizer | @10x mean ± se (median) | @25x | @50x | @50x paper units (mean) "
             "| overhead median / mean (ms) |", "|---|---|---|---|---|---|---|"]
    dump = {}
    for (prob, name), (rows, _, tm) in results.items():
        cells = []
        for c in CHECKPOINTS:
            m, se, med = summarize([r[c] for r in rows])
            cells.append(f"{m:.3f} ± {se:.3f} ({med:.3f})")
        m50 = summarize([r[50] for r in rows])[0]
        tm = np.asarray(tm) * 1e3
        lines.append(f"| {prob} | {name} | " + " | ".join(cells)
                     + f" | {m50 / 2:.3f} | {np.median(tm):.3f} / {tm.mean():.3f} |")
        dump[f"{prob}/{name}"] = {str(c): [r[c] for r in rows] for c in CHECKPOINTS}
    print("\n".join(lines))
    hb_vs = {}
    for prob in args.problems.split(","):
        if (prob, "BOHB") in results and (prob, "HB") in results:
            b = summarize([r[50] for r in results[(prob, "BOHB")][0]])[0]
            h = summarize([r[50] for r in results[(prob, "HB")][0]])[0]
            rs = summarize([r[50] for r in results[(prob, "RS")][0]])[0] if (prob, "RS") in results else np.nan
            hb_vs[prob] = (h / b, rs / b)
            print(f"{prob}: @50x regret ratio HB/BOHB = {h / b:.2f}, RS/BOHB = {rs / b:.2f}")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(dump, indent=1))
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        probs = args.problems.split(",")
        fig, axes = plt.subplots(1, len(probs), figsize=(6 * len(probs), 4), squeeze=False)
        grid = np.linspace(1, 50, 200)
        for ax, prob in zip(axes[0], probs):
            for name in args.optimizers.split(","):
                if (prob, name) not in results:
                    continue
                curves = []
                for tr in results[(prob, name)][1]:
                    x = np.array([t[0] for t in tr])
                    y = np.array([t[1] for t in tr])
                    idx = np.searchsorted(x, grid, side="right") - 1
                    curves.append(np.where(idx >= 0, y[np.maximum(idx, 0)], np.nan))
                curves = np.array(curves)
                m = np.nanmean(curves, axis=0)
                se = np.nanstd(curves, axis=0) / np.sqrt(len(curves))
                ax.plot(grid, m, label=name)
                ax.fill_between(grid, m - se, m + se, alpha=0.2)
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("cumulative budget / max_budget")
            ax.set_ylabel("normalized regret (mean ± se)")
            ax.set_title(f"Counting Ones {prob}, {args.seeds} seeds")
            ax.legend()
        fig.tight_layout()
        Path(args.plot).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.plot, dpi=110)
        print("wrote", args.plot)


if __name__ == "__main__":
    main()
