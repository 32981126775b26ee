"""lowfi.Study: journaled ask/tell and optimize on one durable run."""

import pytest

import lowfi

SPACE = {"x": (0.0, 1.0), "c": ["a", "b"]}


def loss(config, budget):
    return (config["x"] - 0.3) ** 2 + 0.1 * (config["c"] == "a") + 1.0 / budget


def test_ask_tell_survives_reopening_exactly(tmp_path):
    db = tmp_path / "s.db"
    kw = dict(space=SPACE, optimizer="hyperband", min_budget=1, max_budget=9, seed=4)
    study = lowfi.Study(db, **kw)
    asked = [study.ask() for _ in range(6)]
    for t in asked[:4]:
        study.tell(t, loss(t.config, t.budget))
    study.close()
    # a reference optimizer that was never interrupted
    ref = lowfi.optimizers.get("hyperband", SPACE, min_budget=1, max_budget=9, eta=3, seed=4)
    ref_trials = [ref.ask() for _ in range(6)]
    for t in ref_trials[:4]:
        ref.tell(t, loss(t.config, t.budget))

    again = lowfi.Study(db)  # settings come from the journal
    assert len(again.optimizer.history) == 4 and sorted(again.optimizer.history.pending) == [4, 5]
    for t in asked[4:]:
        again.tell(t.id, loss(t.config, t.budget))
        ref.tell(ref_trials[t.id], loss(t.config, t.budget))
    nxt, want = again.ask(), ref.ask()
    assert (nxt.id, nxt.config, nxt.budget) == (want.id, want.config, want.budget)
    df = again.trials
    assert list(df["status"]) == ["ok"] * 6 + ["running"]
    import os
    import socket

    # each tell names the process that made it, as the run loop's workers do
    assert set(df["worker"].dropna()) == {f"{socket.gethostname()}:{os.getpid()}"}
    with pytest.raises(ValueError, match="pending trials"):
        again.tell(99, 0.1)
    again.close()


def test_optimize_evaluates_pending_trials_and_continues(tmp_path):
    with lowfi.Study(tmp_path / "s.db", SPACE, "random", max_budget=1, seed=0) as study:
        t = study.ask()
        res = study.optimize(loss, max_evaluations=5, progress=False)
        assert len(res.trials) == 5 and set(res.trials["status"]) == {"ok"}
        assert res.trials.iloc[0]["config.x"] == t.config["x"]  # the asked trial ran first
        res = study.optimize(loss, max_evaluations=8, progress=False)  # counts the first 5
        assert len(res.trials) == 8
        assert study.best_loss == pytest.approx(res.trials["loss"].min())
        assert len(study.trials) == 8
        with pytest.raises(TypeError, match="storage: set by the study"):
            study.optimize(loss, storage="x.db")
    # `lowfi resume` finds the objective the study stored on its first optimize
    res = lowfi.resume(tmp_path / "s.db", max_evaluations=10, progress=False)
    assert len(res.trials) == 10


def test_study_needs_a_file():
    with pytest.raises(ValueError, match="storage: got ':memory:'"):
        lowfi.Study(":memory:", SPACE)


def test_reopening_with_other_settings_is_an_error(tmp_path):
    db = tmp_path / "s.db"
    lowfi.Study(db, SPACE, "bohb", min_budget=1, max_budget=27).close()
    with pytest.raises(ValueError, match="optimizer: got 'random', but the run was created "
                                         "with 'bohb'"):
        lowfi.Study(db, SPACE, "random")
    with pytest.raises(ValueError, match="max_budget: got 81"):
        lowfi.Study(db, max_budget=81)
    with pytest.raises(ValueError, match="space: differs"):
        lowfi.Study(db, {"z": ["a", "b"]})
    with lowfi.Study(db, SPACE, "bohb", min_budget=1, max_budget=27) as same:
        assert same.ask().budget == 1
    t = lowfi.Study(db)
    with pytest.raises(TypeError, match="result: got 'nan'"):
        t.tell(0, "nan")
    t.close()


def test_a_start_that_failed_before_its_first_trial_can_be_retried(tmp_path):
    import os

    from lowfi.execution import InlineExecutor

    class Broken(InlineExecutor):
        def start(self, objective):
            raise RuntimeError("cluster unreachable")

    db = str(tmp_path / "r.db")
    with pytest.raises(ValueError, match="executor"):  # a bad name: refused before any file
        lowfi.minimize(loss, SPACE, "random", executor="proceses", storage=db,
                       max_evaluations=3, progress=False)
    assert not os.path.exists(db)
    with pytest.raises(RuntimeError, match="unreachable"):  # fails after the run was stored
        lowfi.minimize(loss, SPACE, "random", executor=Broken(), storage=db,
                       max_evaluations=3, progress=False)
    # a new call starts afresh in the same file (here with another optimizer) ...
    res = lowfi.minimize(loss, SPACE, "tpe", storage=db, max_evaluations=3, progress=False)
    assert len(res.trials) == 3
    assert lowfi.Study(db).optimizer.__class__.__name__ == "TPE"
    # ... and resuming one that failed before its first trial works too
    db2 = str(tmp_path / "r2.db")
    with pytest.raises(RuntimeError, match="unreachable"):
        lowfi.minimize(loss, SPACE, "random", executor=Broken(), storage=db2,
                       max_evaluations=3, progress=False)
    res = lowfi.minimize(loss, SPACE, storage=db2, resume=True, max_evaluations=3,
                         progress=False)
    assert len(res.trials) == 3 and set(res.trials["status"]) == {"ok"}


def test_resume_with_different_settings_is_an_error(tmp_path):
    db = str(tmp_path / "w.db")
    lowfi.minimize(loss, SPACE, "random", storage=db, max_evaluations=2, progress=False)
    with pytest.raises(ValueError, match="optimizer: got 'bohb', but the run was created"):
        lowfi.minimize(loss, SPACE, "bohb", min_budget=1, max_budget=9, storage=db,
                       resume=True, max_evaluations=4, progress=False)
    res = lowfi.minimize(loss, SPACE, storage=db, resume=True, max_evaluations=4, progress=False)
    assert res.optimizer.__class__.__name__ == "RandomSearch" and len(res.trials) == 4


DYING_WORKER = """
import os, sys
import lowfi

def objective(config, budget):
    os._exit(3)  # killed mid-trial: no result is ever told

lowfi.Study(sys.argv[1]).work(objective, max_evaluations=10)
"""


def test_work_retries_the_trial_of_a_killed_worker_first(tmp_path):
    import subprocess
    import sys

    from lowfi.storage import Journal, load_trials

    storage = str(tmp_path / "s.db")
    study = lowfi.Study(storage, {"x": (0.0, 1.0)}, "random", max_budget=1, seed=3)
    manual = study.ask()  # taken by hand: never claimed, never run again by a worker
    script = tmp_path / "worker.py"
    script.write_text(DYING_WORKER)
    proc = subprocess.run([sys.executable, str(script), storage], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 3, proc.stderr
    study.refresh()
    orphan = max(study.optimizer.history.pending)
    assert orphan == manual.id + 1
    seen = []

    def objective(config, budget, trial):
        seen.append(trial.id)
        return (config["x"] - 0.3) ** 2

    assert study.work(objective, max_evaluations=4) == 3
    assert seen == [orphan, orphan + 1, orphan + 2]  # the orphan first, then new trials
    assert list(study.optimizer.history.pending) == [manual.id]
    study.tell(manual, 0.5)
    study.close()
    df = load_trials(storage)
    assert set(df["status"]) == {"ok"}, df["error"].tolist()
    assert sorted(df["trial_id"]) == [0, 1, 2, 3]
    j = Journal(storage, create=False)
    tells = [e.trial_id for e in j.events(("tell",))]
    j.close()
    assert sorted(tells) == [0, 1, 2, 3]  # each told exactly once


def test_claims_of_other_hosts_expire_with_their_heartbeat():
    import time

    from lowfi.run.study import _claim, _claim_alive

    mine = _claim()
    assert _claim_alive(mine, grace=1.0)
    assert not _claim_alive({**mine, "pid": 2**22 + 12345}, grace=1.0)  # no such process
    other = {"host": "elsewhere.invalid", "pid": 1, "beat": time.time() - 100.0}
    assert not _claim_alive(other, grace=60.0) and _claim_alive(other, grace=1000.0)


def test_a_running_trial_keeps_its_claim_fresh(tmp_path):
    import time

    from lowfi.storage import Journal

    storage = str(tmp_path / "s.db")
    study = lowfi.Study(storage, {"x": (0.0, 1.0)}, "random", max_budget=1, seed=0)
    beats = []

    def objective(config, budget, trial):
        reader = Journal(storage, create=False)
        try:
            first = reader.get_meta(f"claim:{trial.id}")["beat"]
            deadline = time.monotonic() + 60.0  # only a bound: it ends on the first new beat
            while time.monotonic() < deadline:
                beat = reader.get_meta(f"claim:{trial.id}")["beat"]
                if beat > first:
                    beats.append(beat - first)
                    break
                time.sleep(0.02)
        finally:
            reader.close()
        return 0.0

    study.work(objective, max_evaluations=1, heartbeat=0.05)
    study.close()
    assert len(beats) == 1 and beats[0] > 0


def test_a_maximizing_study_reports_scores_everywhere(tmp_path):
    """trials has a score column, incumbent() and best_loss are scores, and plots label it."""
    import lowfi.plot as lp

    study = lowfi.Study(str(tmp_path / "s.db"), {"x": (0.0, 1.0)}, "random", direction="maximize")
    for _ in range(5):
        t = study.ask()
        study.tell(t, 0.5 + t.config["x"] / 2)
    best = study.trials["score"].max()
    assert study.best_loss == pytest.approx(best) and study.incumbent()[1] == pytest.approx(best)
    ax = lp.plot_incumbent(study).axes[0]
    assert ax.get_ylabel().startswith("score")
    study.close()


def test_tell_refuses_another_studys_trial_and_bad_ids(tmp_path):
    a = lowfi.Study(str(tmp_path / "a.db"), {"x": (0.0, 1.0)}, "random", seed=1)
    b = lowfi.Study(str(tmp_path / "b.db"), {"x": (0.0, 1.0)}, "random", seed=2)
    ta, _ = a.ask(), b.ask()
    with pytest.raises(ValueError, match="a trial another study asked"):
        b.tell(ta, 0.5)
    for bad in ("abc", 0.0, None):
        with pytest.raises(TypeError, match=f"trial: got {bad!r} of type"):
            b.tell(bad, 0.5)
    a.tell(ta, 0.5)  # its own study takes it
    assert len(a.trials) == 1 and a.trials["status"].tolist() == ["ok"]
    a.close(), b.close()


def test_bad_study_settings_fail_before_a_journal_is_written(tmp_path):
    import os

    for kw, name in (({"snapshot_every": "10"}, "snapshot_every"), ({"snapshot_every": 0}, "snapshot_every"),
                     ({"direction": "max"}, "direction")):
        path = str(tmp_path / f"{name}.db")
        with pytest.raises(ValueError, match=f"{name}: got"):
            lowfi.Study(path, {"x": (0.0, 1.0)}, "random", **kw)
        assert not os.path.exists(path)
