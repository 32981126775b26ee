"""How the driver scales: many trials, many asynchronous workers, resuming a long journal.

With the simulated executor (virtual time: each trial's ``cost`` is its duration, so
``--workers`` asynchronous workers cost nothing real), one run of ``--trials`` trials per
optimizer, journaled to a SQLite file. Each run and each resume is a fresh subprocess, so its
peak memory is its own. Reported per optimizer:

* driver time per trial outside the optimizer (journal, loop, executor, callbacks): the wall
  time between two finished trials minus the optimizer's ask/tell time and the objective's
  own time in that interval; median and mean over trials, and by tenth of the run (the cost
  growth);
* optimizer time per trial (ask + tell), mean;
* peak resident memory of the driver process;
* journal bytes per trial;
* seconds to resume the finished journal and add 10 trials (import excluded: open the
  journal, load the latest snapshot, replay the events after it, run 10 trials, close), and
  of those, the restore alone (open and bring the optimizer to the journal's state); with
  ``--verify`` the same with a full replay of every event.

Usage (the figures in docs/benchmarks/scale.md come from the commands given there)::

    python benchmarks/scale.py --optimizers asha,bohb --trials 100000 --workers 512
    python benchmarks/scale.py --optimizers gp,mfbo --trials 2000 --workers 8
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

SPACE = {"x": (0.0, 1.0), "y": (0.0, 1.0), "c": ["a", "b", "c"]}
MIN_BUDGET, MAX_BUDGET = 1, 81


def objective(config, budget):
    """Cheap and deterministic; its ``cost`` is the simulated duration of the trial."""
    import lowfi

    t0 = time.perf_counter()
    loss = (config["x"] - 0.3) ** 2 + (config["y"] - 0.6) ** 2 + 0.1 * (config["c"] == "a")
    res = lowfi.Result(loss=loss + 1.0 / budget, cost=float(budget) * (1.0 + config["x"]))
    objective.seconds += time.perf_counter() - t0
    return res


objective.seconds = 0.0


class Meter:
    """Callback: per finished trial, wall time and optimizer time since the previous one."""

    def __init__(self) -> None:
        self.opt = 0.0
        self.last_wall = None
        self.last_opt = 0.0
        self.last_obj = 0.0
        self.driver: list[float] = []
        self.optimizer: list[float] = []

    def on_start(self, run) -> None:
        self.last_wall = time.perf_counter()

    def on_ask(self, run, trial, seconds) -> None:
        self.opt += seconds

    def on_batch(self, run, finished, curves) -> None:
        pass

    def on_end(self, run) -> None:
        pass

    def __call__(self, run, finished) -> None:
        self.opt += run.state.last_tell_seconds
        now = time.perf_counter()
        d_wall = now - self.last_wall
        d_opt = self.opt - self.last_opt
        d_obj = objective.seconds - self.last_obj
        self.driver.append(max(d_wall - d_opt - d_obj, 0.0))
        self.optimizer.append(d_opt)
        self.last_wall, self.last_opt, self.last_obj = now, self.opt, objective.seconds


def _preload(name: str) -> None:
    """Import what a run needs, so that timings exclude the imports."""
    import lowfi.run.loop  # noqa: F401
    from lowfi.optimizers import ALIASES, _load

    _load(ALIASES.get(name, name))


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def child_run(name: str, db: str, trials: int, workers: int) -> dict:
    import numpy as np

    import lowfi

    _preload(name)
    meter = Meter()
    t0 = time.perf_counter()
    res = lowfi.minimize(objective, SPACE, name, min_budget=MIN_BUDGET, max_budget=MAX_BUDGET,
                         executor="simulated", n_workers=workers, max_evaluations=trials,
                         storage=db, progress=False, seed=0, callbacks=[meter])
    wall = time.perf_counter() - t0
    drv = np.array(meter.driver) * 1e3
    tenths = [float(np.mean(c)) for c in np.array_split(drv, 10)] if len(drv) >= 10 else []
    size = os.path.getsize(db) + sum(os.path.getsize(db + s) for s in ("-wal", "-shm")
                                     if os.path.exists(db + s))
    return {"optimizer": name, "trials": len(res.trials), "workers": workers,
            "wall_s": wall, "driver_ms_median": float(np.median(drv)),
            "driver_ms_mean": float(np.mean(drv)),
            "driver_ms_by_tenth": tenths,
            "optimizer_ms_by_tenth": [float(np.mean(c)) * 1e3 for c in
                                      np.array_split(np.array(meter.optimizer), 10)]
            if len(drv) >= 10 else [],
            "optimizer_ms_mean": float(np.mean(meter.optimizer) * 1e3),
            "peak_rss_mib": _rss_mib(), "journal_bytes_per_trial": size / len(res.trials),
            "best_loss": res.best_loss}


def child_resume(name: str, db: str, trials: int, workers: int, verify: bool) -> dict:
    import lowfi
    from lowfi.run.resume import open_run

    _preload(name)
    t0 = time.perf_counter()  # bringing the optimizer to the journal's state, alone
    journal, _, _ = open_run(db, objective, None, None, None, None, 3, 0, True, verify=verify,
                             driver=False)
    journal.close()
    restore = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = lowfi.resume(db, objective, max_evaluations=trials + 10, executor="simulated",
                       n_workers=workers, progress=False, verify=verify)
    return {"resume_add_10_s": time.perf_counter() - t0, "restore_s": restore,
            "trials_after": len(res.trials),
            "verify": verify, "peak_rss_mib": _rss_mib()}


def _child(args: list[str]) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True,
                         text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def plot(results: str, path: str) -> None:
    """Time per trial (driver and optimizer) by tenth of each run: the cost growth."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [json.loads(line) for line in open(results) if line.strip()]
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for r in rows:
        if not r.get("optimizer_ms_by_tenth"):
            continue
        n = r["trials"]
        x = [(i + 0.5) * n / 10 for i in range(10)]
        label = f"{r['optimizer']} ({r['workers']} workers)"
        ax.plot(x, r["optimizer_ms_by_tenth"], marker="o", label=f"{label}: optimizer")
        ax.plot(x, r["driver_ms_by_tenth"], marker="s", linestyle="--",
                label=f"{label}: driver outside the optimizer")
    ax.set_xlabel("trials so far")
    ax.set_ylabel("ms per trial (mean over a tenth of the run)")
    ax.set_yscale("log")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--optimizers", default="asha,bohb")
    p.add_argument("--trials", type=int, default=100_000)
    p.add_argument("--workers", type=int, default=512)
    p.add_argument("--verify", action="store_true", help="also time a full-replay resume")
    p.add_argument("--dir", default=None, help="where journals go (default: a temporary folder)")
    p.add_argument("--out", default=None, help="append the JSON results to this file")
    p.add_argument("--plot", nargs=2, metavar=("RESULTS", "PNG"),
                   help="draw the cost growth of the runs in RESULTS (a --out file) and stop")
    p.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.plot:
        plot(*a.plot)
        return
    if a.child:
        kind, rest = a.child[0], a.child[1:]
        if kind == "run":
            r = child_run(rest[0], rest[1], int(rest[2]), int(rest[3]))
        else:
            r = child_resume(rest[0], rest[1], int(rest[2]), int(rest[3]), rest[4] == "1")
        print(json.dumps(r))
        return
    folder = a.dir or tempfile.mkdtemp(prefix="lowfi-scale-")
    for name in a.optimizers.split(","):
        db = os.path.join(folder, f"{name}-{a.trials}.db")
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(db + suffix):
                os.remove(db + suffix)
        r = _child(["run", name, db, str(a.trials), str(a.workers)])
        r["resume"] = _child(["resume", name, db, str(a.trials), str(a.workers), "0"])
        if a.verify:
            r["resume_verify"] = _child(["resume", name, db, str(a.trials + 10), str(a.workers),
                                           "1"])
        line = json.dumps(r)
        print(line, flush=True)
        if a.out:
            with open(a.out, "a") as fh:
                fh.write(line + "\n")


if __name__ == "__main__":
    main()
