"""Worker utilization on a real Dask LocalCluster, against the processes executor in the same run.

``--workers`` single-threaded Dask worker processes run ``--trials`` trials of ASHA whose
objective sleeps a random ``--min-seconds``..``--max-seconds`` (it needs no CPU, so a
2-core machine can keep 16 workers busy: what is measured is how fast the driver hands out
work). Each run is journaled to a SQLite file, as a real run is. Utilization is

    busy time / (workers x wall)

with busy time the sum of the trials' durations (their start and end as the worker timed
them) and wall the time from the first trial's start to the last one's end. The steady state
stops the clock at the last start: after it, workers idle only because the run has no trial
left to give them. Rows: Dask asking only when a worker is free (the default), Dask with
trials queued beyond one per worker (``prefetch``), and the processes executor (the
baseline), all with the same settings.

    python benchmarks/dask_utilization.py [--workers 16 --trials 1000 --min-seconds 0.05 --max-seconds 0.2]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

from asha_utilization import Sleeper  # the same objective as ASHA's benchmark

import lowfi


def utilization(df, workers: int) -> dict:
    """Whole-run and steady-state utilization, wall (first start to last end), busy time."""
    done = df[df["status"] == "ok"]
    t0, t_last, t_end = done["start"].min(), done["start"].max(), done["end"].max()
    busy = float((done["end"] - done["start"]).sum())
    clipped = float((done["end"].clip(upper=t_last) - done["start"]).clip(lower=0).sum())
    return {"utilization": busy / (workers * (t_end - t0)),
            "steady_state": clipped / (workers * (t_last - t0)),
            "wall_s": float(t_end - t0), "busy_s": busy, "trials": len(done)}


def run(executor, workers: int, trials: int, lo: float, hi: float, folder: str, tag: str) -> dict:
    db = os.path.join(folder, f"{tag}.db")
    t0 = time.perf_counter()
    res = lowfi.minimize(Sleeper(lo, hi), {"x": (0.0, 1.0)}, "asha", min_budget=1,
                         max_budget=27, eta=3, n_workers=workers, executor=executor,
                         max_evaluations=trials, storage=db, progress=False, seed=0)
    out = utilization(res.trials, workers)
    out["minimize_s"] = time.perf_counter() - t0  # including starting and closing the workers
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workers", type=int, default=16)
    p.add_argument("--trials", type=int, default=1000)
    p.add_argument("--min-seconds", type=float, default=0.05)
    p.add_argument("--max-seconds", type=float, default=0.2)
    p.add_argument("--prefetch", type=int, default=4,
                   help="trials queued beyond one per worker in the prefetch row")
    a = p.parse_args()
    from lowfi.execution.dask import DaskExecutor

    folder = tempfile.mkdtemp(prefix="lowfi-dask-util-")
    print(f"{a.workers} workers, {a.trials} ASHA trials sleeping {a.min_seconds}..{a.max_seconds} s, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print("| executor | utilization, whole run | steady state | wall (s) | busy (s) | trials |"
          " minimize (s) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    rows = [("dask (LocalCluster)", lambda: DaskExecutor(a.workers), "dask"),
            (f"dask (LocalCluster), prefetch {a.prefetch}",
             lambda: DaskExecutor(a.workers, prefetch=a.prefetch), "dask-prefetch"),
            ("processes (baseline)", lambda: "processes", "processes")]
    for label, make, tag in rows:
        r = run(make(), a.workers, a.trials, a.min_seconds, a.max_seconds, folder, tag)
        print(f"| {label} | {r['utilization']:.3f} | {r['steady_state']:.3f} | "
              f"{r['wall_s']:.1f} | {r['busy_s']:.1f} | {r['trials']} | {r['minimize_s']:.1f} |",
              flush=True)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
