"""Ask + tell overhead per trial of RandomSearch, SH, Hyperband and ASHA over 10,000 trials.

Target (issue 2): median under 0.1 ms. Baseline measured in the same run: drawing one
configuration with ConfigSpace's own ``sample_configuration`` (what a naive loop pays per
trial before doing anything else).

    python benchmarks/core_overhead.py [--trials 10000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from ConfigSpace import Categorical, ConfigurationSpace, Float, Integer

from lowfi.optimizers import ASHA, Hyperband, RandomSearch, SuccessiveHalving


def space() -> ConfigurationSpace:
    cs = ConfigurationSpace(seed=0)
    cs.add(Float("lr", (1e-5, 1e-1), log=True), Float("wd", (1e-6, 1e-2), log=True),
           Integer("units", (16, 512), log=True), Integer("layers", (1, 6)),
           Float("dropout", (0.0, 0.8)), Categorical("act", ["relu", "tanh", "gelu"]))
    return cs


def measure(opt, n: int, rng: np.random.Generator) -> np.ndarray:
    times = np.empty(n)
    for i in range(n):
        t0 = time.perf_counter()
        trial = opt.ask()
        opt.tell(trial, float(rng.random()) + 1.0 / trial.budget)
        times[i] = time.perf_counter() - t0
    return times


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--trials", type=int, default=10_000)
    args = p.parse_args()
    n = args.trials
    cs = space()
    t = np.empty(n)
    for i in range(n):
        t0 = time.perf_counter()
        cs.sample_configuration()
        t[i] = time.perf_counter() - t0
    base = np.median(t)
    rows = [("ConfigSpace sample_configuration (baseline)", t)]
    makers = {
        "RandomSearch": lambda: RandomSearch(cs, max_budget=81, seed=0),
        "SuccessiveHalving": lambda: SuccessiveHalving(cs, 1, 81, 3, seed=0),
        "Hyperband": lambda: Hyperband(cs, 1, 81, 3, seed=0),
        "ASHA": lambda: ASHA(cs, 1, 81, 3, seed=0),
    }
    for name, make in makers.items():
        rows.append((name, measure(make(), n, np.random.default_rng(1))))
    print(f"ask + tell per trial over {n} trials, sequential, 6-d space")
    print("| optimizer | median (ms) | mean (ms) | p99 (ms) | median / baseline |")
    print("|---|---|---|---|---|")
    for name, times in rows:
        print(f"| {name} | {np.median(times) * 1e3:.4f} | {np.mean(times) * 1e3:.4f} | "
              f"{np.quantile(times, 0.99) * 1e3:.4f} | {np.median(times) / base:.2f} |")


if __name__ == "__main__":
    main()
