"""Worker utilization of ASHA with 8 Dask workers and a sleeping objective of random duration.

Utilization = sum of trial durations / (workers x makespan), from the journal's start/end
times. Target (issue 2): at least 95 % busy. Rows in the same run: ASHA asking only when a
worker is free (the default), ASHA with 2 trials prefetched beyond one per worker (hiding the
round trip through the run loop), and synchronous Hyperband (the baseline: its rungs can make
workers wait).

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


def utilization(df, workers: int) -> tuple[float, float, float]:
    """Whole-run utilization, steady-state utilization and makespan.

    Steady state is the window from the first start to the last start: after the last trial
    has started, workers go idle only because the run has no more trials to give them.
    """
    ok = df[df["status"] == "ok"]
    t0, t_last, t_end = ok["start"].min(), ok["start"].max(), ok["end"].max()
    whole = (ok["end"] - ok["start"]).sum() / (workers * (t_end - t0))
    clipped = (ok["end"].clip(upper=t_last) - ok["start"]).clip(lower=0).sum()
    steady = clipped / (workers * (t_last - t0))
    return float(whole), float(steady), float(t_end - t0)


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
        print("| optimizer | executor | utilization, whole run | steady state | makespan (s) | trials |")
        print("|---|---|---|---|---|---|")
        rows = [("asha", "default (prefetch 0)", 0), ("asha", "prefetch 2", 2),
                ("hyperband", "default (prefetch 0)", 0)]
        for name, label, prefetch in rows:
            ex = DaskExecutor(args.workers, address=client, prefetch=prefetch)
            res = lowfi.minimize(Sleeper(args.min_seconds, args.max_seconds), {"x": (0.0, 1.0)},
                                 name, min_budget=1, max_budget=27, eta=3, n_workers=args.workers,
                                 executor=ex, max_evaluations=args.trials, progress=False, seed=0)
            u, st, m = utilization(res.trials, args.workers)
            print(f"| {name} | {label} | {u:.3f} | {st:.3f} | {m:.1f} | {len(res.trials)} |")


if __name__ == "__main__":
    main()
