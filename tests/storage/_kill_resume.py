"""Helper of test_snapshots.py: for each optimizer, a forked child runs a journaled run and
SIGKILLs itself at a chosen evaluation; this process then resumes the journal and compares it
with an uninterrupted run. Prints one JSON line per optimizer."""

import json
import os
import random
import signal
import sys
import zlib

import lowfi
from lowfi.run.resume import run_options
from lowfi.storage import Journal

SPACE = {"x": (0.0, 1.0), "y": (0.0, 1.0), "c": ["a", "b", "c"]}
N = 24


def loss(config, budget):
    v = (config["x"] - 0.3) ** 2 + (config["y"] - 0.6) ** 2 + 0.1 * (config["c"] == "a")
    return v + 0.5 / budget


def objective_for(name):
    """A deterministic objective; the cost is given (a measured one would differ between two
    uninterrupted runs, and cost-aware optimizers read it)."""
    if name == "lemonade":  # configurations are network descriptions; losses are tuples
        def net_loss(c, b):
            text = json.dumps(c, sort_keys=True, default=str).encode()
            return lowfi.Result(loss=((zlib.crc32(text) % 1000) / 1000, 1.0), cost=float(b))
        return net_loss
    return lambda c, b: lowfi.Result(loss=loss(c, b), cost=float(b))


def run(name, db, n, kill_at=None, **kw):
    calls = [0]
    base = objective_for(name)

    def objective(config, budget):
        calls[0] += 1
        if kill_at is not None and calls[0] == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        return base(config, budget)

    space = None if name == "lemonade" else SPACE  # it searches its own (network) space
    return lowfi.minimize(objective, space, name, min_budget=1, max_budget=9, seed=3,
                          max_evaluations=n, storage=db, progress=False,
                          resume=kw.pop("resume", True), **kw)


def frame(res):
    df = res.trials
    cols = ["trial_id", "config_id", "budget", "loss"] + sorted(c for c in df if c.startswith("config."))
    return json.loads(df[cols].to_json(orient="values"))


def main():
    folder, names = sys.argv[1], sys.argv[2].split(",")
    for name in names:
        out = {"name": name}
        try:
            db = os.path.join(folder, f"{name}.db")
            kill_at = random.Random(name).randint(9, N - 4)
            pid = os.fork()
            if pid == 0:
                try:
                    with run_options(snapshot_every=4):
                        run(name, db, N, kill_at=kill_at)
                finally:
                    os._exit(0)
            _, status = os.waitpid(pid, 0)
            out["killed"] = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
            with Journal(db, create=False) as j:
                out["snapshot_upto"] = max((u for u, _ in j.snapshots()), default=0)
                out["told_at_kill"] = len(j.events(("tell",)))
            resumed = run(name, db, N)  # resume=True, the same objective
            ref = run(name, None, N, resume=False)
            out["same"] = frame(resumed) == frame(ref)
            out["n"] = len(resumed.trials)
        except Exception as exc:  # noqa: BLE001 - reported, the test fails on it
            out["error"] = f"{type(exc).__name__}: {exc}"
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
