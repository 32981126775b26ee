"""Journals are data: nothing executable is loaded from a journal this user's key did not sign,
unless the caller says trust=True."""

import os
import pickle
import subprocess
import sys

import pytest

import lowfi
from lowfi.storage import Journal, UntrustedJournalError
from lowfi.storage.journal import sign, verify

SPACE = {"x": (0.0, 1.0), "c": ["a", "b"]}


def f(config, budget):
    return (config["x"] - 0.3) ** 2 + 0.1 * (config["c"] == "a") + 1.0 / budget


class _Bomb:
    """Unpickling it creates the marker file: what a crafted journal would do."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _craft(db, marker, tmp_path):
    """Replace every pickled blob of a real journal by a bomb, and point objective_ref at a
    module whose import creates the marker too."""
    (tmp_path / "evil_mod.py").write_text(f"open({str(marker)!r}, 'w').close()\ndef f(c, b):\n"
                                          "    return 0.0\n")
    bomb = pickle.dumps(_Bomb(marker))
    j = Journal(db)
    for key in ("optimizer", "objective", "stopping"):
        j.conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, bomb))
    j.conn.execute("UPDATE snapshots SET value = ?", (bomb,))
    j.set_meta("objective_ref", "evil_mod:f")
    j.set_meta("objective_ref_sig", "lowfi-hmac-sha256:" + "0" * 64 + ":evil_mod:f")
    j.close()


def test_a_crafted_journal_runs_nothing(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    marker = tmp_path / "PWNED"
    db = str(tmp_path / "run.db")
    lowfi.minimize(f, SPACE, "random", max_evaluations=6, storage=db, seed=5, progress=False)
    _craft(db, marker, tmp_path)

    with pytest.raises(UntrustedJournalError, match="not written by this user"):
        lowfi.resume(db, max_evaluations=10, progress=False)  # objective only from the journal
    # the CLI: one line, exit status 2
    out = subprocess.run([sys.executable, "-m", "lowfi.cli", "resume", db, "--quiet",
                          "--max-evaluations", "10"], capture_output=True, text=True,
                         cwd=tmp_path, timeout=120)
    assert out.returncode == 2 and "trust" in out.stderr and "Traceback" not in out.stderr
    # with the objective given, the optimizer is rebuilt from the stored settings (JSON)
    res = lowfi.resume(db, f, max_evaluations=10, progress=False)
    study = lowfi.Study(db)
    assert len(study.trials) == 10
    study.close()
    assert not marker.exists() and "evil_mod" not in sys.modules
    ref = lowfi.minimize(f, SPACE, "random", max_evaluations=10, seed=5, progress=False)
    assert res.trials["loss"].tolist() == ref.trials["loss"].tolist()

    # trust=True is the caller saying the file is theirs: then it is unpickled
    with pytest.raises(Exception):  # noqa: B017 - the bomb is not an optimizer
        lowfi.resume(db, f, max_evaluations=12, progress=False, trust=True)
    assert marker.exists()


def test_another_users_journal_is_rebuilt_or_refused(tmp_path, monkeypatch):
    db, db2 = str(tmp_path / "a.db"), str(tmp_path / "b.db")
    lowfi.minimize(f, SPACE, "random", max_evaluations=5, storage=db, seed=1, progress=False)
    opt = lowfi.optimizers.get("random", SPACE, seed=1)
    lowfi.minimize(f, optimizer=opt, max_evaluations=5, storage=db2, progress=False)
    monkeypatch.setenv("LOWFI_JOURNAL_KEY_FILE", str(tmp_path / "other-user.key"))
    with pytest.warns(UserWarning, match="not written by this user"):
        res = lowfi.resume(db, f, max_evaluations=7, progress=False)  # name + seed: rebuilt
    assert len(res.trials) == 7
    with pytest.raises(UntrustedJournalError, match="trust=True"):  # an optimizer instance
        lowfi.resume(db2, f, max_evaluations=7, progress=False)
    with pytest.raises(UntrustedJournalError):
        lowfi.Study(db2)
    res = lowfi.minimize(f, SPACE, storage=db2, resume=True, trust=True, max_evaluations=7,
                         progress=False)
    assert len(res.trials) == 7


def test_key_is_private_and_signatures_bind_the_payload(tmp_path, journal_key):
    blob = sign(b"payload")
    assert verify(blob) == (b"payload", True)
    assert verify(blob.replace(b"payload", b"paylOad"))[1] is False
    assert verify(pickle.dumps(1))[1] is False  # unsigned
    assert os.stat(journal_key).st_mode & 0o777 == 0o600


def test_stored_limits_cannot_set_options(tmp_path, monkeypatch):
    """A journal's ``limits`` entry sets stop conditions only: a crafted ``trust`` (or
    ``executor``) there is ignored with a warning, so the crafted optimizer is never unpickled."""
    from lowfi.run.loop import record_limits

    monkeypatch.syspath_prepend(str(tmp_path))
    marker = tmp_path / "PWNED"
    db = str(tmp_path / "run.db")
    lowfi.minimize(f, SPACE, "random", max_evaluations=4, storage=db, seed=5, progress=False)
    _craft(db, marker, tmp_path)
    j = Journal(db)
    j.set_meta("limits", {"max_evaluations": 6, "trust": True, "executor": "tcp://127.0.0.1:9"})
    j.close()
    with pytest.warns(UserWarning, match="ignored the stored limits 'executor', 'trust'"):
        res = lowfi.resume(db, f, progress=False)
    assert not marker.exists()
    assert len(res.trials) == 6  # the stored stop condition still applies
    j = Journal(db)
    j.set_meta("limits", {"max_evaluations": "6"})
    j.close()
    with pytest.raises(ValueError, match="stores the limit max_evaluations='6'"):
        lowfi.resume(db, f, progress=False)
    with pytest.raises(ValueError, match="trust: got True; the stored limits are"):
        record_limits(db, trust=True)


def test_a_damaged_result_event_names_the_file_and_is_never_read_as_a_result(tmp_path):
    import json
    import sqlite3

    from lowfi.storage import JournalError, load_trials

    cases = (("loss", "oops", "loss 'oops'"), ("status", "bogus", "status 'bogus'"),
             ("loss", [], "loss \\[\\]"), ("loss", True, "loss True"))
    for k, (field, value, msg) in enumerate(cases):
        db = str(tmp_path / f"run{k}.db")
        lowfi.minimize(f, SPACE, "random", max_evaluations=3, storage=db, seed=0, progress=False)
        con = sqlite3.connect(db)
        con.execute("DELETE FROM meta WHERE key='trials_table'")
        con.execute("DELETE FROM snapshots")
        seq, data = con.execute("SELECT seq, data FROM events WHERE kind='tell' ORDER BY seq "
                                "LIMIT 1").fetchone()
        con.execute("UPDATE events SET data=? WHERE seq=?",
                    (json.dumps({**json.loads(data), field: value}), seq))
        con.commit()
        con.close()
        pattern = f"event {seq} of the journal {db} is damaged: its result has {msg}"
        with pytest.raises(JournalError, match=pattern):
            load_trials(db)
        with pytest.raises(JournalError, match=pattern):
            lowfi.resume(db, f, max_evaluations=4, progress=False)
    # unreadable JSON names the file too
    con = sqlite3.connect(db)
    con.execute("UPDATE events SET data='{\"loss\": ' WHERE seq=?", (seq,))
    con.commit()
    con.close()
    with pytest.raises(JournalError, match=f"event {seq} of the journal {db} is damaged"):
        load_trials(db)
