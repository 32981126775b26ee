"""Resume: a run killed with SIGKILL continues from its journal, losing and repeating nothing."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter

import pytest

import lowfi
from lowfi.storage import Journal, load_trials

SCRIPT = textwrap.dedent("""
    import sys, time
    import lowfi

    db, log = sys.argv[1], sys.argv[2]

    def objective(config, budget):
        time.sleep(0.03)
        loss = (config["x"] - 0.3) ** 2 + (config["c"] == "a") * 0.1 + 1.0 / budget
        return loss

    def logged(config, budget):
        loss = objective(config, budget)
        with open(log, "a") as fh:
            fh.write(f"{config['x']!r} {budget}\\n")
        return loss

    lowfi.minimize(logged, {"x": (0.0, 1.0), "c": ["a", "b"]}, "hyperband", min_budget=1,
                   max_budget=9, max_evaluations=60, storage=db, resume=True, seed=11,
                   progress=False)
""")


def n_told(db):
    if not os.path.exists(db):
        return 0
    try:
        j = Journal(db, create=False)
        n = len(j.events(("tell",)))
        j.close()
        return n
    except Exception:
        return 0


def test_resume_after_sigkill_loses_nothing_and_repeats_nothing(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(SCRIPT)
    db, log = str(tmp_path / "run.db"), str(tmp_path / "evals.log")
    proc = subprocess.Popen([sys.executable, str(script), db, log])
    deadline = time.time() + 60
    while n_told(db) < 15 and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    told_before = n_told(db)
    assert 15 <= told_before < 60
    before = load_trials(db)
    done_before = before[before["status"] == "ok"]

    subprocess.run([sys.executable, str(script), db, log], check=True, timeout=120)
    after = load_trials(db)
    assert len(after) == 60 and set(after["status"]) == {"ok"}
    # finished results were kept as they were
    merged = after.set_index("trial_id").loc[done_before["trial_id"]]
    assert list(merged["loss"]) == list(done_before["loss"])
    # nothing finished ran twice; at most the trials in flight at the kill ran again
    runs = Counter(open(log).read().splitlines())
    assert sum(runs.values()) <= 60 + 1
    # the resumed run is exactly the uninterrupted run
    ref_db = str(tmp_path / "ref.db")
    subprocess.run([sys.executable, str(script), ref_db, str(tmp_path / "ref.log")], check=True, timeout=120)
    ref = load_trials(ref_db)
    cols = ["trial_id", "config_id", "budget", "loss", "config.x", "config.c"]
    assert after[cols].equals(ref[cols])


def test_resume_in_process_continues_to_the_new_limit(tmp_path):
    db = str(tmp_path / "r.db")

    def f(config, budget):
        return config["x"] + 1.0 / budget

    first = lowfi.minimize(f, {"x": (0.0, 1.0)}, "asha", min_budget=1, max_budget=9,
                           max_evaluations=20, storage=db, seed=3, progress=False)
    second = lowfi.resume(db, f, max_evaluations=35, progress=False)
    assert len(second.trials) == 35
    assert list(second.trials["trial_id"]) == list(range(35))
    full = lowfi.minimize(f, {"x": (0.0, 1.0)}, "asha", min_budget=1, max_budget=9,
                          max_evaluations=35, seed=3, progress=False)
    assert list(second.trials["loss"]) == list(full.trials["loss"])
    assert first.trials["loss"].tolist() == full.trials["loss"].tolist()[:20]


def test_resume_refuses_a_nondeterministic_journal(tmp_path):
    db = str(tmp_path / "r.db")
    lowfi.minimize(lambda c, b: c["x"], {"x": (0.0, 1.0)}, "random", max_evaluations=5,
                   storage=db, seed=1, progress=False)
    j = Journal(db)
    j.conn.execute("UPDATE events SET data = replace(data, '\"config\": {\"x\": 0.', '\"config\": {\"x\": 0.9') "
                   "WHERE seq = (SELECT min(seq) FROM events WHERE kind = 'ask')")
    j.close()
    # the snapshot taken at the clean stop is not checked against earlier events...
    lowfi.resume(db, lambda c, b: c["x"], max_evaluations=6, progress=False)
    # ...a full replay is
    with pytest.raises(RuntimeError, match="not deterministic"):
        lowfi.resume(db, lambda c, b: c["x"], max_evaluations=8, progress=False, verify=True)


def test_resume_continues_to_the_stored_limit(tmp_path):
    db = str(tmp_path / "r.db")

    def f(config, budget):
        return config["x"]

    lowfi.minimize(f, {"x": (0.0, 1.0)}, "random", max_evaluations=12, storage=db, progress=False)
    j = Journal(db)  # forget the last 5 results, as if the run had been killed
    j.conn.execute("DELETE FROM events WHERE kind = 'tell' AND trial_id >= 7")
    j.close()
    res = lowfi.resume(db, f, progress=False)
    assert len(res.trials) == 12 and set(res.trials["status"]) == {"ok"}


def test_trials_cut_by_a_clean_stop_read_cancelled_until_resumed(tmp_path):
    from lowfi.core.trial import Result, Trial

    j = Journal(tmp_path / "j.db")
    t0, t1 = Trial(0, {"x": 0.1}, 1.0, 0), Trial(1, {"x": 0.2}, 1.0, 1)
    j.session(kind="start")
    j.ask(t0)
    j.ask(t1)
    j.tell(t0, Result(0.5, cost=1.0), 0.0, 1.0, "w")
    assert list(load_trials(tmp_path / "j.db")["status"]) == ["ok", "running"]  # killed run
    j.session(kind="stop", reason="walltime")
    assert list(load_trials(tmp_path / "j.db")["status"]) == ["ok", "cancelled"]
    j.session(kind="resume")
    assert list(load_trials(tmp_path / "j.db")["status"]) == ["ok", "running"]
    j.tell(t1, Result(0.4, cost=1.0), 1.0, 2.0, "w")
    j.session(kind="stop", reason="max_evaluations")
    j.close()
    assert list(load_trials(tmp_path / "j.db")["status"]) == ["ok", "ok"]
