"""Worker utilization of ASHA with 8 Dask workers and a sleeping objective of random duration.

Utilization = sum of trial durations / (workers x makespan), from the journal's start/end
times. Target (issue 2): at least 95 % busy. Baseline in the same run: synchronous Hyperband
on the same cluster and objective (whose brackets can make workers wait).

    python benchmarks/asha_utilization.py [--workers 8 --trials 200]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import lowfi


class Sleeper:
    """Sleeps 0.1..0.5 s x budget / max_budget, depending only on the configuration."""

    def __call__(self, config, budget):
        seed = int(config["x"] * 1e9) % (2**32)
        d = np.random.default_rng(seed).uniform(0.1, 0.5) * (0.5 + budget / 27.0)
        time.sleep(d)
        return config["x"] + 1.0 / budget


def utilization(df, workers: int) -> tuple[float, float]:
    ok = df[df["status"] == "ok"]
    makespan = ok["end"].max() - ok["start"].min()
    return float((ok["end"] - ok["start"]).sum() / (workers * makespan)), float(makespan)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--workers", type=int, default=8)
    p.add_argument("--trials", type=int, default=200)
    args = p.parse_args()
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=args.workers, threads_per_worker=1, dashboard_address=None) as cl, \
            Client(cl) as client:
        client.wait_for_workers(args.workers)
        print(f"{args.workers} Dask workers, {args.trials} trials, sleeping objective")
        print("| optimizer | utilization | makespan (s) | trials |")
        print("|---|---|---|---|")
        for name in ("asha", "hyperband"):
            res = lowfi.minimize(Sleeper(), {"x": (0.0, 1.0)}, name, min_budget=1, max_budget=27,
                                 eta=3, n_workers=args.workers, executor=client,
                                 max_evaluations=args.trials, progress=False, seed=0)
            u, m = utilization(res.trials, args.workers)
            print(f"| {name} | {u:.3f} | {m:.1f} | {len(res.trials)} |")


if __name__ == "__main__":
    main()
