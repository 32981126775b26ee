"""What the executors guarantee: exits and timeouts fail only their trial, a dead worker costs
only its own trial a retry, lost Dask clusters end the run, dashboards, clean terminals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import lowfi
from lowfi.execution import make_executor

SPACE = {"x": (0.0, 1.0)}


def _line(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (text + "\n").encode())
    finally:
        os.close(fd)


class Misbehaving:
    """Trial 0 calls sys.exit, 1 raises KeyboardInterrupt, 2 calls os._exit (when allowed),
    3 never returns (for trial_timeout); the others return at once."""

    def __init__(self, hard_exit: bool):
        self.hard_exit = hard_exit

    def __call__(self, trial):
        if trial.id == 0:
            sys.exit(7)
        if trial.id == 1:
            raise KeyboardInterrupt
        if trial.id == 2 and self.hard_exit:
            os._exit(3)
        if trial.id == 3:
            while True:
                time.sleep(0.05)
        return trial.config["x"]


@pytest.mark.parametrize("executor", ["processes", "dask",
                                      pytest.param("ray", marks=pytest.mark.slow)])
def test_exits_and_timeouts_fail_only_their_own_trial(executor):
    if executor != "processes":
        pytest.importorskip("distributed" if executor == "dask" else "ray")
    hard = executor == "processes"  # elsewhere os._exit ends a worker: the cluster retries it
    res = lowfi.minimize(Misbehaving(hard), SPACE, "random", n_workers=2, executor=executor,
                         max_evaluations=7, trial_timeout=10, progress=False)
    df = res.trials.set_index("trial_id")
    assert len(df) == 7 and res.stop_reason == "max_evaluations"
    assert "SystemExit" in df.loc[0, "error"] and "code 7" in df.loc[0, "error"]
    assert "KeyboardInterrupt" in df.loc[1, "error"]
    assert "trial_timeout" in df.loc[3, "error"] and "10 s" in df.loc[3, "error"]
    failed = {0, 1, 3} | ({2} if hard else set())
    assert set(df.index[df["status"] == "failed"]) == failed
    assert set(df.index[df["status"] == "ok"]) == set(range(7)) - failed
    if hard:
        assert "os._exit" in df.loc[2, "error"] and "exit code 3" in df.loc[2, "error"]


def test_inline_system_exit_fails_the_trial_and_ctrl_c_stops_the_run():
    def exits(trial):
        if trial.id == 0:
            sys.exit("bye")
        return 1.0

    res = lowfi.minimize(exits, SPACE, "random", max_evaluations=3, progress=False)
    df = res.trials.set_index("trial_id")
    assert df.loc[0, "status"] == "failed" and "SystemExit" in df.loc[0, "error"]
    assert (df.loc[[1, 2], "status"] == "ok").all()

    def interrupted(trial):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        lowfi.minimize(interrupted, SPACE, "random", max_evaluations=3, progress=False)


class KillsItselfOrWaits:
    """Trial 0 kills its own worker every time; trial 1 (running at the same time) returns
    once trial 0 has started twice, i.e. after a worker died under it while it ran."""

    def __init__(self, log: str):
        self.log = log

    def __call__(self, trial):
        _line(self.log, f"start {trial.id} {os.getpid()}")
        if trial.id == 0:
            os.kill(os.getpid(), signal.SIGKILL)
        if trial.id == 1:
            deadline = time.monotonic() + 120
            while open(self.log).read().count("start 0 ") < 2 and time.monotonic() < deadline:
                time.sleep(0.02)
        return trial.config["x"]


def test_a_dead_worker_costs_only_its_own_trial_a_retry(tmp_path):
    log = str(tmp_path / "calls.log")
    res = lowfi.minimize(KillsItselfOrWaits(log), SPACE, "random", n_workers=2,
                         executor="processes", max_evaluations=2, progress=False)
    df = res.trials.set_index("trial_id")
    assert df.loc[0, "status"] == "failed"
    assert "died 2 times" in df.loc[0, "error"] and "SIGKILL" in df.loc[0, "error"]
    assert df.loc[1, "status"] == "ok"
    starts = [line.split() for line in open(log).read().splitlines()]
    assert sum(1 for _, t, _ in starts if t == "1") == 1  # never resubmitted: ran once
    assert sum(1 for _, t, _ in starts if t == "0") == 2  # one retry, then failed
    assert len({p for _, _, p in starts}) == 3  # each run of trial 0 had a fresh worker


def _load_only_in(pid):
    if os.getpid() != pid:
        raise RuntimeError("this objective cannot be loaded here")
    return Unloadable(pid)


class Unloadable:
    def __init__(self, pid):
        self.pid = pid

    def __reduce__(self):
        return (_load_only_in, (self.pid,))

    def __call__(self, config, budget):
        return config["x"]


def test_an_objective_workers_cannot_load_fails_every_trial_with_the_reason():
    with pytest.warns(UserWarning, match="all 5 trials failed"):
        res = lowfi.minimize(Unloadable(os.getpid()), SPACE, "random", n_workers=2,
                             executor="processes", max_evaluations=5, progress=False,
                             error_on_all_failed=False)
    assert len(res.trials) == 5 and set(res.trials["status"]) == {"failed"}
    assert all("could not be loaded" in e and "cannot be loaded here" in e
               for e in res.trials["error"])


def test_processes_workers_die_with_a_killed_driver(tmp_path):
    psutil = pytest.importorskip("psutil")
    script = tmp_path / "drive.py"
    script.write_text(textwrap.dedent(f"""
        import os, time, lowfi
        def sleepy(config, budget):
            open(os.path.join({str(tmp_path)!r}, str(os.getpid())), "w").close()
            time.sleep(300)
        if __name__ == "__main__":
            lowfi.minimize(sleepy, {{"x": (0.0, 1.0)}}, "random", n_workers=2,
                           executor="processes", max_evaluations=4, progress=False)
    """))
    proc = subprocess.Popen([sys.executable, str(script)], cwd=str(tmp_path))
    try:
        deadline = time.monotonic() + 120
        while len([p for p in os.listdir(tmp_path) if p.isdigit()]) < 2:
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        workers = psutil.Process(proc.pid).children(recursive=True)
        assert workers
    finally:
        proc.kill()
        proc.wait()
    _, alive = psutil.wait_procs(workers, timeout=30)
    assert not alive


def test_make_executor_checks_its_arguments():
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="n_workers"):
            make_executor("processes", bad)
    with pytest.raises(ValueError, match="n_workers"):
        make_executor("inline", 0)
    for bad in (0, -2, float("nan"), float("inf"), "10"):
        with pytest.raises(ValueError, match="trial_timeout"):
            make_executor("processes", 2, trial_timeout=bad)
    with pytest.raises(ValueError, match="trial_timeout.*processes"):
        make_executor("inline", 1, trial_timeout=5)
    assert make_executor("processes", 2, trial_timeout=5).trial_timeout == 5.0
    assert make_executor("dask", 2, trial_timeout=5, lost_workers_timeout=1).lost_workers_timeout == 1
    with pytest.raises(ValueError, match="lost_workers_timeout"):
        make_executor("dask", 2, lost_workers_timeout=-1)
    with pytest.raises(ValueError, match="max_attempts"):
        make_executor("processes", 2, max_attempts=0)


def test_cli_refuses_zero_workers(tmp_path, monkeypatch, capsys):
    from lowfi.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--workers", "0", "--dir", str(tmp_path / "runs")]) == 2
    assert "n_workers: got 0" in capsys.readouterr().err


def test_dask_walltime_spent_starting_the_cluster_still_gives_a_trials_frame():
    pytest.importorskip("distributed")
    res = lowfi.minimize(lambda c, b: c["x"], SPACE, "random", n_workers=2, executor="dask",
                         walltime=0.01, progress=False)
    assert res.stop_reason == "walltime" and len(res.trials) == 0
    assert {"trial_id", "config_id", "budget", "loss", "status", "worker"} <= set(res.trials.columns)


def test_dask_run_without_workers_stops_after_lost_workers_timeout():
    distributed = pytest.importorskip("distributed")
    from lowfi.execution.dask import DaskExecutor, WorkersLost

    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:

        def objective(config, budget):
            return config["x"]

        ex = DaskExecutor(1, address=client, lost_workers_timeout=1)
        ex.start(objective)
        cluster.scale(0)  # every worker gone
        deadline = time.monotonic() + 60
        while client.nthreads() and time.monotonic() < deadline:
            time.sleep(0.05)
        from lowfi.core.trial import TrialRecord

        ex.submit(TrialRecord(0, {"x": 0.5}, 1.0, 0).handle())
        with pytest.raises(WorkersLost, match="lost_workers_timeout=1"):
            while True:
                assert not ex.wait(timeout=0.5)
        assert [t.id for t in ex.cancel_all()] == [0]
        ex.close()


def test_dask_dashboard_on_request_and_recorded_in_the_journal(tmp_path):
    pytest.importorskip("distributed")
    pytest.importorskip("bokeh")
    import urllib.request

    from lowfi.execution.dask import DaskExecutor
    from lowfi.storage import Journal

    seen = []

    from lowfi.run.callbacks import Callback

    class Fetch(Callback):
        def on_start(self, run):
            link = run.executor.dashboard_link
            with urllib.request.urlopen(link, timeout=30) as page:
                seen.append((link, page.status))

    db = str(tmp_path / "d.db")
    ex = DaskExecutor(1, dashboard_address="127.0.0.1:0")
    lowfi.minimize(lambda c, b: c["x"], SPACE, "random", executor=ex, max_evaluations=1,
                   storage=db, progress=False, callbacks=[Fetch()])
    assert seen and seen[0][1] == 200 and seen[0][0].startswith("http://127.0.0.1:")
    sessions = [e.data for e in Journal(db, create=False).events() if e.kind == "session"]
    assert any(s.get("dashboard") == seen[0][0] for s in sessions)
    assert make_executor("dask", 1).dashboard_address is None  # off unless asked for


def test_dask_run_with_a_stopping_rule_leaves_a_clean_terminal(tmp_path):
    pytest.importorskip("distributed")
    script = tmp_path / "run.py"
    script.write_text(textwrap.dedent("""
        import time, lowfi
        from lowfi.curves.stopping import MedianStopping

        def objective(trial):
            for step in range(1, int(trial.budget) + 1):
                time.sleep(0.01)
                trial.report(step, trial.config["x"] + 1.0 / step)
                if trial.should_stop():
                    break
            return trial.curve[-1][1]

        if __name__ == "__main__":
            res = lowfi.minimize(objective, {"x": (0.0, 1.0)}, "asha", min_budget=1,
                                 max_budget=9, n_workers=2, executor="dask",
                                 max_evaluations=16, progress=False, stopping=MedianStopping())
            print("finished", len(res.trials))
    """))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=240, cwd=str(tmp_path))
    text = out.stdout + out.stderr
    assert out.returncode == 0 and "finished 16" in out.stdout, text
    for bad in ("ERROR", "Traceback", "still alive", "Exception"):
        assert bad not in text, text
