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
* seconds to resume the finished journal (a copy of it) and add 10 trials (import
  excluded: open the journal, load the latest snapshot, replay the events after it, run 10
  trials, close), and of those, the restore alone (open and bring the optimizer to the
  journal's state), in wall and CPU time; with ``--verify`` the same with a full replay of
  every event.

``--walltime`` stops each run after so many seconds (it then has fewer trials than asked;
the resume adds 10 to those it has); ``--extend`` continues such runs, kept in ``--dir``, to
``--trials`` trials (by ``lowfi.resume``; with ``--walltime``, for at most so many more
seconds), and reports the figures of all the run's parts together (trials, times, meter
readings; peak memory is the largest part's). ``--plot`` draws the cost growth of earlier
runs.

Usage (the figures in docs/benchmarks/scale.md come from the commands given there)::

    python benchmarks/scale.py --optimizers asha,bohb --trials 100000 --workers 512 --dir runs --out scale.jsonl
    python benchmarks/scale.py --optimizers gp,mfbo --trials 2000 --workers 8 --walltime 1200 --dir runs
    python benchmarks/scale.py --optimizers gp --trials 2000 --workers 8 --walltime 1800 --dir runs
    python benchmarks/scale.py --optimizers mfbo --trials 2000 --workers 8 --walltime 2400 --dir runs
    (``--extend`` continues a run kept in ``--dir`` instead of starting a new one)
    python benchmarks/scale.py --plot scale.jsonl scale-growth.png --dir runs
"""

from __future__ import annotations

import argparse
import contextlib
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


def _summary(name: str, db: str, res, meter: Meter, workers: int, wall: float, cpu: float,
             extend: bool = False) -> dict:
    """The run's figures; a run continued by ``--extend`` adds its trials, times and meter
    readings to those of the earlier parts (kept next to the journal)."""
    import numpy as np

    parts = db + ".parts.json"
    prior = json.load(open(parts)) if extend and os.path.exists(parts) else \
        {"driver": [], "optimizer": [], "wall_s": 0.0, "cpu_s": 0.0, "peak_rss_mib": 0.0,
         "n_parts": 0}
    prior["driver"] += meter.driver
    prior["optimizer"] += meter.optimizer
    prior["wall_s"] += wall
    prior["cpu_s"] += cpu
    prior["peak_rss_mib"] = max(prior["peak_rss_mib"], _rss_mib())
    prior["n_parts"] += 1
    with open(parts, "w") as fh:
        json.dump(prior, fh)
    drv = np.array(prior["driver"]) * 1e3
    opt = np.array(prior["optimizer"]) * 1e3
    tenths = len(drv) >= 10
    size = os.path.getsize(db) + sum(os.path.getsize(db + s) for s in ("-wal", "-shm")
                                     if os.path.exists(db + s))
    return {"optimizer": name, "trials": len(res.trials), "workers": workers,
            "wall_s": prior["wall_s"], "cpu_s": prior["cpu_s"], "parts": prior["n_parts"],
            "load_average": os.getloadavg()[0],
            "driver_ms_median": float(np.median(drv)),
            "driver_ms_mean": float(np.mean(drv)),
            "driver_ms_by_tenth": [float(np.mean(c)) for c in np.array_split(drv, 10)]
            if tenths else [],
            "optimizer_ms_by_tenth": [float(np.mean(c)) for c in np.array_split(opt, 10)]
            if tenths else [],
            "driver_ms_median_by_tenth": [float(np.median(c)) for c in np.array_split(drv, 10)]
            if tenths else [],
            "optimizer_ms_mean": float(np.mean(opt)),
            "peak_rss_mib": prior["peak_rss_mib"],
            "journal_bytes_per_trial": size / len(res.trials),
            "best_loss": res.best_loss}


def child_run(name: str, db: str, trials: int, workers: int, walltime: float | None = None
              ) -> dict:
    import lowfi

    _preload(name)
    meter = Meter()
    t0, c0 = time.perf_counter(), time.process_time()
    res = lowfi.minimize(objective, SPACE, name, min_budget=MIN_BUDGET, max_budget=MAX_BUDGET,
                         executor="simulated", n_workers=workers, max_evaluations=trials,
                         walltime=walltime, storage=db, progress=False, seed=0,
                         callbacks=[meter])
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return _summary(name, db, res, meter, workers, wall, cpu)


def child_resume(name: str, db: str, trials: int, workers: int, verify: bool) -> dict:
    import sqlite3

    import lowfi
    from lowfi.run.resume import open_run

    _preload(name)
    with contextlib.closing(sqlite3.connect(db)) as conn:  # trials asked so far: add 10
        trials = conn.execute("SELECT count(*) FROM events WHERE kind = 'ask'").fetchone()[0]
    t0, c0 = time.perf_counter(), time.process_time()  # the optimizer to the journal's state
    journal, _, _ = open_run(db, objective, None, None, None, None, 3, 0, True, verify=verify,
                             driver=False)
    journal.close()
    restore, restore_cpu = time.perf_counter() - t0, time.process_time() - c0
    meter = Meter()
    t0, c0 = time.perf_counter(), time.process_time()
    res = lowfi.resume(db, objective, max_evaluations=trials + 10, executor="simulated",
                       n_workers=workers, progress=False, verify=verify, callbacks=[meter])
    return {"resume_add_10_s": time.perf_counter() - t0,
            "resume_add_10_cpu_s": time.process_time() - c0,
            "asks_tells_of_the_10_s": meter.opt,
            "restore_s": restore, "restore_cpu_s": restore_cpu,
            "trials_after": len(res.trials), "verify": verify, "peak_rss_mib": _rss_mib(),
            "load_average": os.getloadavg()[0]}


def child_extend(name: str, db: str, trials: int, workers: int,
                 walltime: float | None = None) -> dict:
    """Continue a run that ``--walltime`` stopped until it has ``trials`` trials (or for
    ``walltime`` more seconds); the figures cover all its parts."""
    import lowfi

    _preload(name)
    meter = Meter()
    t0, c0 = time.perf_counter(), time.process_time()
    res = lowfi.resume(db, objective, max_evaluations=trials, walltime=walltime,
                       executor="simulated", n_workers=workers, progress=False,
                       callbacks=[meter])
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {**_summary(name, db, res, meter, workers, wall, cpu, extend=True),
            "extend_wall_s": wall, "extend_cpu_s": cpu}


def _copy_journal(db: str) -> str:
    import shutil
    import sqlite3

    copy = db[:-3] + "-resume.db" if db.endswith(".db") else db + "-resume"
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(copy + suffix):
            os.remove(copy + suffix)
    src = sqlite3.connect(db)
    src.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    src.close()
    shutil.copyfile(db, copy)
    return copy


def _child(args: list[str]) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True,
                         text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def result_gaps_by_tenth(db: str) -> list[float]:
    """Median ms between two consecutive results in the journal, by tenth of the run: the
    whole cost of a trial (driver, optimizer, objective), robust to bursts of other load."""
    import sqlite3

    import numpy as np

    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        t = np.array([r[0] for r in conn.execute("SELECT t FROM events WHERE kind = 'tell' "
                                                 "ORDER BY seq")])
    gaps = np.diff(t) * 1e3
    return [float(np.median(c)) for c in np.array_split(gaps, 10)] if len(gaps) >= 10 else []


def plot(results: str, path: str, folder: str | None = None) -> None:
    """Time per trial by tenth of each run, the cost growth: left, the means of driver and
    optimizer time (from the run's meter); right, the median time between two results
    (from the journal in ``folder``, when it is there)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [json.loads(line) for line in open(results) if line.strip()]
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4))
    for r in rows:
        if not r.get("optimizer_ms_by_tenth"):
            continue
        n = r["trials"]
        x = [(i + 0.5) * n / 10 for i in range(10)]
        label = f"{r['optimizer']} ({r['workers']} workers)"
        line, = ax.plot(x, r["optimizer_ms_by_tenth"], marker="o", label=f"{label}: optimizer")
        ax.plot(x, r["driver_ms_by_tenth"], marker="s", linestyle="--", color=line.get_color(),
                label=f"{label}: driver outside the optimizer")
        db = os.path.join(folder, f"{r['optimizer']}-{n}.db") if folder else None
        if db and os.path.exists(db):
            bx.plot(x, result_gaps_by_tenth(db), marker="o", color=line.get_color(),
                    label=label)
    ax.set_title("mean over a tenth of the run", fontsize=9)
    bx.set_title("median time between two results, by tenth of the run", fontsize=9)
    for a in (ax, bx):
        a.set_xlabel("trials so far")
        a.set_ylabel("ms per trial")
        a.set_yscale("log")
        a.legend(fontsize=7)
        a.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--optimizers", default="asha,bohb")
    p.add_argument("--trials", type=int, default=100_000)
    p.add_argument("--workers", type=int, default=512)
    p.add_argument("--verify", action="store_true", help="also time a full-replay resume")
    p.add_argument("--dir", default=None, help="where journals go (default: a temporary "
                   "folder); with --plot, where the runs' journals are")
    p.add_argument("--out", default=None, help="append the JSON results to this file")
    p.add_argument("--walltime", type=float, default=None,
                   help="stop each run after this many seconds (it then has fewer trials)")
    p.add_argument("--extend", action="store_true",
                   help="continue the runs in --dir (stopped by --walltime) to --trials trials")
    p.add_argument("--no-resume", action="store_true", help="only the runs, no resume timing")
    p.add_argument("--resume-only", action="store_true",
                   help="time the resumes of journals a previous run left in --dir")
    p.add_argument("--plot", nargs=2, metavar=("RESULTS", "PNG"),
                   help="draw the cost growth of the runs in RESULTS (a --out file) and stop")
    p.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.plot:
        plot(*a.plot, folder=a.dir)
        return
    if a.child:
        kind, rest = a.child[0], a.child[1:]
        if kind == "extend":
            r = child_extend(rest[0], rest[1], int(rest[2]), int(rest[3]),
                             float(rest[4]) if len(rest) > 4 else None)
        elif kind == "run":
            r = child_run(rest[0], rest[1], int(rest[2]), int(rest[3]),
                          float(rest[4]) if len(rest) > 4 else None)
        else:
            r = child_resume(rest[0], rest[1], int(rest[2]), int(rest[3]), rest[4] == "1")
        print(json.dumps(r))
        return
    folder = a.dir or tempfile.mkdtemp(prefix="lowfi-scale-")
    for name in a.optimizers.split(","):
        db = os.path.join(folder, f"{name}-{a.trials}.db")
        if a.extend:
            r = _child(["extend", name, db, str(a.trials), str(a.workers),
                        *([str(a.walltime)] if a.walltime else [])])
        elif a.resume_only:
            r = {"optimizer": name, "trials": a.trials, "workers": a.workers}
        else:
            for suffix in ("", "-wal", "-shm", ".parts.json"):
                if os.path.exists(db + suffix):
                    os.remove(db + suffix)
            r = _child(["run", name, db, str(a.trials), str(a.workers),
                        *([str(a.walltime)] if a.walltime else [])])
        if not a.no_resume:  # each resume works on a copy, so that it can be repeated
            copy = _copy_journal(db)
            r["resume"] = _child(["resume", name, copy, str(a.trials), str(a.workers), "0"])
            if a.verify:
                copy = _copy_journal(db)
                r["resume_verify"] = _child(["resume", name, copy, str(a.trials), str(a.workers),
                                               "1"])
        line = json.dumps(r)
        print(line, flush=True)
        if a.out:
            with open(a.out, "a") as fh:
                fh.write(line + "\n")


if __name__ == "__main__":
    main()
