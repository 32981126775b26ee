"""Worker utilization of ASHA with 8 Dask workers and a sleeping objective of random duration.

Utilization = sum of trial durations / (workers x makespan), from the journal's start/end
times. Target (issue 2): at least 95 % busy. Rows in the same run: ASHA with the Dask
executor's default prefetch (a few trials queued beyond one per worker, hiding the round trip
through the run loop), ASHA asking only when a worker is free (prefetch 0, the baseline), and
synchronous Hyperband (whose rungs can make workers wait).

    python benchmarks/asha_utilization.py [--workers 8 --trials 200 --min-seconds 0.5 --max-seconds 2]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import lowfi
from lowfi.execution.dask import DaskExecutor


class Sleeper:
    """Sleeps a random duration in [lo, hi] seconds that depends only on the configuration."""

    def __init__(self, lo: float, hi: float):
        self.lo, self.hi = lo, hi

    def __call__(self, config, budget):
        seed = int(config["x"] * 1e9) % (2**32)
        time.sleep(np.random.default_rng(seed).uniform(self.lo, self.hi))
        return config["x"] + 1.0 / budget


def utilization(df, workers: int) -> tuple[float, float]:
    ok = df[df["status"] == "ok"]
    makespan = ok["end"].max() - ok["start"].min()
    return float((ok["end"] - ok["start"]).sum() / (workers * makespan)), float(makespan)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--workers", type=int, default=8)
    p.add_argument("--trials", type=int, default=200)
    p.add_argument("--min-seconds", type=float, default=0.5)
    p.add_argument("--max-seconds", type=float, default=2.0)
    args = p.parse_args()
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=args.workers, threads_per_worker=1, dashboard_address=None) as cl, \
            Client(cl) as client:
        client.wait_for_workers(args.workers)
        print(f"{args.workers} Dask workers, {args.trials} trials, sleeping "
              f"{args.min_seconds}..{args.max_seconds} s")
        print("| optimizer | executor | utilization | makespan (s) | trials |")
        print("|---|---|---|---|---|")
        rows = [("asha", "default prefetch", None), ("asha", "prefetch 0 (baseline)", 0),
                ("hyperband", "default prefetch", None)]
        for name, label, prefetch in rows:
            ex = DaskExecutor(args.workers, address=client, prefetch=prefetch)
            res = lowfi.minimize(Sleeper(args.min_seconds, args.max_seconds), {"x": (0.0, 1.0)},
                                 name, min_budget=1, max_budget=27, eta=3, n_workers=args.workers,
                                 executor=ex, max_evaluations=args.trials, progress=False, seed=0)
            u, m = utilization(res.trials, args.workers)
            print(f"| {name} | {label} | {u:.3f} | {m:.1f} | {len(res.trials)} |")


if __name__ == "__main__":
    main()
