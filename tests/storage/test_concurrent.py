"""One study, many processes: atomic asks on SQLite and on a real PostgreSQL server, and one
driver at a time."""

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest

import lowfi
from lowfi.storage import DriverBusyError, Journal, load_trials

WORKER = textwrap.dedent("""
    import sys
    import lowfi

    storage, n = sys.argv[1], int(sys.argv[2])
    study = lowfi.Study(storage)
    for _ in range(n):
        t = study.ask()
        study.tell(t, (t.config["x"] - 0.3) ** 2 + 0.1 * (t.config["c"] == "a"))
    study.close()
""")
SPACE = {"x": (0.0, 1.0), "c": ["a", "b"]}


def _loss(c):
    return (c["x"] - 0.3) ** 2 + 0.1 * (c["c"] == "a")


def _many_processes(storage, tmp_path, n_proc=4, n_ask=50):
    lowfi.Study(storage, SPACE, "random", max_budget=1, seed=7, snapshot_every=20).close()
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    procs = [subprocess.Popen([sys.executable, str(script), storage, str(n_ask)],
                              stderr=subprocess.PIPE, text=True) for _ in range(n_proc)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    df = load_trials(storage)
    total = n_proc * n_ask
    assert len(df) == total and sorted(df["trial_id"]) == list(range(total))
    assert set(df["status"]) == {"ok"}
    configs = list(zip(df["config.x"], df["config.c"], strict=True))
    assert len(set(configs)) == total  # no configuration handed out twice
    # the same trials as one process asking 200 times with the same seed
    ref = lowfi.optimizers.get("random", SPACE, max_budget=1, seed=7)
    want = [ref.ask() for _ in range(total)]
    by_id = df.set_index("trial_id")
    assert [(t.config["x"], t.config["c"]) for t in want] == \
        list(zip(by_id.loc[range(total), "config.x"], by_id.loc[range(total), "config.c"],
                 strict=True))
    assert by_id["loss"].tolist() == [_loss(t.config) for t in want]
    # the journal reopens (snapshot and full replay agree) and continues
    again = lowfi.Study(storage)
    assert len(again.optimizer.history) == total and not again.optimizer.history.pending
    nxt = again.ask()
    assert nxt.id == total and nxt.config == ref.ask().config
    again.close()
    res = lowfi.resume(storage, lambda c, b: _loss(c), max_evaluations=total + 2,
                       progress=False, verify=True, checkpoint_dir=str(tmp_path / "ck"))
    assert len(res.trials) == total + 2


def test_four_processes_share_a_sqlite_study(tmp_path):
    _many_processes(str(tmp_path / "shared.db"), tmp_path)


def test_four_processes_share_a_postgresql_study(tmp_path, postgres_url):
    _many_processes(postgres_url, tmp_path)


DRIVER = textwrap.dedent("""
    import sys, time
    import lowfi

    def slow(config, budget):
        time.sleep(0.2)
        return config["x"]

    lowfi.minimize(slow, {"x": (0.0, 1.0)}, "random", max_evaluations=1000, storage=sys.argv[1],
                   progress=False, resume=True)
""")


def _wait_for(pred, timeout=120):
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)


def test_a_second_driver_is_refused_until_the_first_is_gone(tmp_path):
    db = str(tmp_path / "run.db")
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    proc = subprocess.Popen([sys.executable, str(script), db])
    try:
        def driving():
            if not os.path.exists(db):
                return False
            try:
                with Journal(db, create=False) as j:
                    return j.driver() is not None and len(j.events(("tell",))) >= 2
            except Exception:
                return False

        _wait_for(driving)
        msg = f"pid {proc.pid} on {socket.gethostname()}"
        with pytest.raises(DriverBusyError, match=msg):
            lowfi.minimize(lambda c, b: c["x"], {"x": (0.0, 1.0)}, "random", storage=db,
                           resume=True, max_evaluations=5, progress=False)
        study = lowfi.Study(db)
        with pytest.raises(DriverBusyError, match=msg):
            study.ask()
        study.close()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    # the dead driver's lease is taken over
    n = len(load_trials(db))
    res = lowfi.resume(db, max_evaluations=n + 3, progress=False)  # its stored objective
    assert len(res.trials) == n + 3
    with Journal(db, create=False) as j:
        assert j.driver() is None  # released at the end


WORK = textwrap.dedent("""
    import sys
    import lowfi

    def objective(config, budget):
        return (config["x"] - 0.3) ** 2 + 1.0 / budget

    study = lowfi.Study(sys.argv[1], {"x": (0.0, 1.0)}, "hyperband", min_budget=1,
                        max_budget=9, seed=2)  # every worker creates it: the first one wins
    n = study.work(objective, max_evaluations=40, poll=0.05)
    print(n)
""")


def test_workers_join_a_study_and_wait_for_each_others_results(tmp_path):
    """Workers that create and share one Hyperband study: a worker whose ask returns None
    (a rung waits for results) polls until the others' results arrive; together they hand out
    exactly 40 distinct trials, and the journal resumes."""
    db = str(tmp_path / "work.db")
    script = tmp_path / "work.py"
    script.write_text(WORK)
    procs = [subprocess.Popen([sys.executable, str(script), db], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(3)]
    counts = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        counts.append(int(out.split()[-1]))
    df = load_trials(db)
    assert sum(counts) == 40 and len(df) == 40 and set(df["status"]) == {"ok"}
    assert sorted(df["trial_id"]) == list(range(40))
    # no (configuration, budget) handed out twice; the journal replays exactly (full replay
    # checked ask by ask and against the snapshots the workers stored)
    assert not df.duplicated(["config_id", "budget"]).any()
    from lowfi.run.resume import open_run

    j, opt, _ = open_run(db, None, None, None, None, None, 3, 2, True, verify=True,
                         driver=False)
    j.close()
    assert len(opt.history) == 40 and not opt.history.pending


POISON = textwrap.dedent("""
    import os, sys
    import lowfi

    def objective(config, budget):
        if config["x"] < 0.3:
            os._exit(3)          # a configuration that kills its worker (out of memory, crash)
        if config["x"] > 0.9:
            sys.exit(1)          # an objective that exits: fails its trial, not the worker
        return config["x"]

    if __name__ == "__main__":
        study = lowfi.Study(sys.argv[1], {"x": (0.0, 1.0)}, "random", seed=0)
        print(study.work(objective, max_evaluations=12))
""")


def test_a_configuration_that_kills_its_workers_is_failed_and_the_study_goes_on(tmp_path):
    db = str(tmp_path / "poison.db")
    script = tmp_path / "poison.py"
    script.write_text(POISON)
    for _ in range(12):  # a job array that restarts workers (at most one per trial)
        p = subprocess.run([sys.executable, str(script), db], capture_output=True, text=True,
                           timeout=300)
        if p.returncode == 0:
            break
        assert p.returncode == 3, p.stderr
    else:
        pytest.fail("the study never finished")
    df = load_trials(db).set_index("trial_id")
    assert len(df) == 12 and not (df["status"] == "running").any()
    low, high = df[df["config.x"] < 0.3], df[df["config.x"] > 0.9]
    assert len(low) and (low["status"] == "failed").all()
    assert low["error"].str.contains("worker process died 2 times").all()
    assert (high["status"] == "failed").all() and high["error"].str.contains("SystemExit").all()
    assert (df.loc[(df["config.x"] >= 0.3) & (df["config.x"] <= 0.9), "status"] == "ok").all()
