"""A driver process for the fault-injection tests (run as a script, never imported by pytest).

``python driver.py EXECUTOR DB LOG GATE N_EVALS [--resume]`` runs a random search whose
objective appends ``start <trial_id> <pid>`` to LOG, waits until the file ``GATE/<trial_id>``
or ``GATE/all`` exists, appends ``end <trial_id> <pid>`` and returns. The test decides when
each trial may finish and when to kill this driver or a worker, and then compares the real
calls in LOG with the journal in DB.
"""

import os
import sys
import time

LOG = GATE = ""


def _line(text: str) -> None:
    fd = os.open(LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (text + "\n").encode())  # one write: lines never interleave
    finally:
        os.close(fd)


def objective(trial):
    _line(f"start {trial.id} {os.getpid()}")
    deadline = time.monotonic() + 120  # never hang a test run: the test fails before this
    while not (os.path.exists(os.path.join(GATE, str(trial.id)))
               or os.path.exists(os.path.join(GATE, "all"))):
        if time.monotonic() > deadline:
            raise TimeoutError(f"trial {trial.id} was never released")
        time.sleep(0.01)
    _line(f"end {trial.id} {os.getpid()}")
    return float(trial.config["x"])


def main(argv: list[str]) -> None:
    global LOG, GATE
    executor, db, LOG, GATE, n = argv[:5]
    import lowfi

    resume = "--resume" in argv
    kw = dict(n_workers=1 if executor == "inline" else 2, executor=executor, progress=False)
    if resume:
        res = lowfi.resume(db, objective, **kw)
    else:
        res = lowfi.minimize(objective, {"x": (0.0, 1.0)}, "random", max_evaluations=int(n),
                             seed=0, storage=db, **kw)
    print("finished", len(res.trials), res.stop_reason, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
