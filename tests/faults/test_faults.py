"""Fault injection: drivers and workers killed at seeded random moments, then resumed.

Every real objective call appends ``start``/``end`` lines to a log file (see driver.py); the
test releases trials one by one, kills the driver (SIGKILL or SIGTERM, and on the process and
Dask executors also one worker) at a seeded random point while trials are running, checks
that no process of the driver outlives it, resumes the run and compares the calls with the
journal: every finished evaluation recorded exactly once (0 lost, 0 repeated), no hang.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from lowfi.storage import load_trials

psutil = pytest.importorskip("psutil")  # third-party (a dependency of distributed)

pytestmark = [pytest.mark.faults, pytest.mark.timeout(300)]

DRIVER = Path(__file__).with_name("driver.py")
N_EVALS = 8
SEED = 20261207


class FaultRun:
    def __init__(self, tmp_path: Path, executor: str):
        self.executor = executor
        self.db = tmp_path / "run.db"
        self.log = tmp_path / "calls.log"
        self.gate = tmp_path / "gate"
        self.gate.mkdir()
        self.proc: subprocess.Popen | None = None

    def start(self, resume: bool = False) -> None:
        args = [sys.executable, str(DRIVER), self.executor, str(self.db), str(self.log),
                str(self.gate), str(N_EVALS)] + (["--resume"] if resume else [])
        self.out = open(self.db.with_suffix(".resume.out" if resume else ".out"), "w+")
        self.proc = subprocess.Popen(args, stdout=self.out, stderr=subprocess.STDOUT,
                                     cwd=str(self.db.parent))

    def output(self) -> str:
        self.out.flush()
        self.out.seek(0)
        return self.out.read()[-4000:]

    def calls(self) -> list[tuple[str, int, int]]:
        if not self.log.exists():
            return []
        out = []
        for line in self.log.read_text().splitlines():
            kind, tid, pid = line.split()
            out.append((kind, int(tid), int(pid)))
        return out

    def started(self) -> set[int]:
        return {t for k, t, _ in self.calls() if k == "start"}

    def starts_of(self, tid: int) -> int:
        return sum(1 for k, t, _ in self.calls() if k == "start" and t == tid)

    def told(self) -> set[int]:
        try:
            df = load_trials(str(self.db))
        except Exception:  # noqa: BLE001 - not created yet, or being written
            return set()
        return set(df.loc[df["status"].isin(["ok", "failed", "stopped"]), "trial_id"])

    def wait_for(self, condition, what: str, timeout: float = 120.0) -> None:
        """Wait for an event (a log line, a journal row); fail with the driver's output."""
        deadline = time.monotonic() + timeout
        while not condition():
            if self.proc.poll() is not None and not condition():
                pytest.fail(f"the driver ended (rc {self.proc.returncode}) before {what}:\n"
                            f"{self.output()}")
            if time.monotonic() > deadline:
                pytest.fail(f"no {what} within {timeout:g} s:\n{self.output()}")
            time.sleep(0.02)


def _scenario(tmp_path: Path, executor: str, sig: int, kill_worker: bool, case: int) -> None:
    rng = random.Random(SEED + case)
    run = FaultRun(tmp_path, executor)
    run.start()
    width = 1 if executor == "inline" else 2
    n_done = rng.randint(1, N_EVALS - 3)  # evaluations that finish before the kill
    released: set[int] = set()
    while len(released) < n_done:
        run.wait_for(lambda: run.started() - released, "a started trial")
        tid = min(run.started() - released)
        (run.gate / str(tid)).touch()
        released.add(tid)
        run.wait_for(lambda tid=tid: tid in run.told(), f"the journal row of trial {tid}")
    run.wait_for(lambda: len(run.started() - released) >= width, f"{width} running trials")
    if kill_worker:
        victim = min(run.started() - released)
        pid = next(p for k, t, p in run.calls() if k == "start" and t == victim)
        os.kill(pid, signal.SIGKILL)
        run.wait_for(lambda: run.starts_of(victim) >= 2, f"trial {victim} running again")
    time.sleep(rng.uniform(0.0, 0.3))  # a random moment while the trials are running
    children = psutil.Process(run.proc.pid).children(recursive=True)
    os.kill(run.proc.pid, sig)
    run.proc.wait(timeout=120)
    # SIGTERM: executors with workers cancel them and exit with status 143 (128 + SIGTERM)
    assert run.proc.returncode in (-sig, 128 + sig), run.output()
    _, alive = psutil.wait_procs(children, timeout=30)
    assert not alive, f"processes outlived the killed driver: {alive}"
    assert not (run.started() - released) & {t for k, t, _ in run.calls() if k == "end"}, \
        "a trial running at the kill finished anyway"
    if run.proc.returncode == 128 + signal.SIGTERM:  # an announced stop: recorded as one
        before = load_trials(str(run.db))
        assert set(before["status"]) <= {"ok", "cancelled"}, before[["trial_id", "status"]]
        assert (before["status"] == "cancelled").any()

    (run.gate / "all").touch()
    run.start(resume=True)
    run.proc.wait(timeout=240)
    assert run.proc.returncode == 0, run.output()

    df = load_trials(str(run.db))
    assert len(df) == N_EVALS and set(df["status"]) == {"ok"}, df[["trial_id", "status", "error"]]
    ends = Counter(t for k, t, _ in run.calls() if k == "end")
    repeated = sorted(t for t, c in ends.items() if c > 1)
    lost = sorted(set(df["trial_id"]) - set(ends))
    extra = sorted(set(ends) - set(df["trial_id"]))
    assert (repeated, lost, extra) == ([], [], []), run.calls()


CASES = [
    ("inline", signal.SIGKILL, False),
    ("inline", signal.SIGTERM, False),
    ("processes", signal.SIGKILL, True),
    ("processes", signal.SIGTERM, False),
    ("dask", signal.SIGKILL, True),
    ("dask", signal.SIGTERM, False),
    ("processes", signal.SIGKILL, False),
    ("processes", signal.SIGTERM, True),
    ("dask", signal.SIGKILL, False),
]


@pytest.mark.parametrize("case", range(len(CASES)),
                         ids=[f"{e}-{signal.Signals(s).name}{'-worker' if w else ''}"
                              for e, s, w in CASES])
def test_killed_driver_resumes_without_lost_or_repeated_evaluations(tmp_path, case):
    executor, sig, kill_worker = CASES[case]
    _scenario(tmp_path, executor, sig, kill_worker, case)
