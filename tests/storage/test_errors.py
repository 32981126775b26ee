"""Storage targets and bad input: URLs, folders, damaged files, full disks, read-only files,
and resuming with settings that differ from the stored ones."""

import hashlib
import os
import sqlite3
import stat

import pytest

import lowfi
from lowfi.storage import Journal, JournalError, load_trials, parse_storage

SPACE = {"x": (0.0, 1.0)}


def f(config, budget):
    return config["x"]


def g(config, budget):
    return 1 - config["x"]


def test_storage_urls_and_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert parse_storage("sqlite:///runs/x.db").location == "runs/x.db"
    assert parse_storage("sqlite:////abs/x.db").location == "/abs/x.db"
    pg = parse_storage("postgresql://user:secret@localhost/db")
    assert pg.kind == "postgresql" and "secret" not in pg.display
    with pytest.raises(ValueError, match="unknown scheme 'mysql'"):
        lowfi.minimize(f, SPACE, "random", max_evaluations=2, storage="mysql://u:pw@h/db",
                       progress=False)
    with pytest.raises(ValueError, match="storage: got an empty string"):
        lowfi.minimize(f, SPACE, "random", max_evaluations=2, storage="", progress=False)
    (tmp_path / "adir").mkdir()
    with pytest.raises(JournalError, match="'adir' is a folder"):
        lowfi.minimize(f, SPACE, "random", max_evaluations=2, storage="adir", progress=False)
    res = lowfi.minimize(f, SPACE, "random", max_evaluations=3, storage="sqlite:///runs/x.db",
                         progress=False)
    assert len(load_trials(tmp_path / "runs" / "x.db")) == 3 and res.best_loss is not None
    lowfi.minimize(f, SPACE, "random", max_evaluations=3, storage=":memory:", progress=False)
    lowfi.minimize(f, SPACE, "random", max_evaluations=3, progress=False)
    # no folder named after a URL or ":memory:", no leftovers in the working directory
    assert sorted(os.listdir(tmp_path)) == ["adir", "runs"]
    assert sorted(os.listdir(tmp_path / "runs")) == ["x.db"]  # checkpoint folders only when used


def test_damaged_and_foreign_files_give_one_line_errors(tmp_path):
    bad = tmp_path / "garbage.db"
    bad.write_bytes(b"this is not a database" * 100)
    for call in (lambda: load_trials(bad),
                 lambda: lowfi.resume(bad, f, max_evaluations=3, progress=False),
                 lambda: lowfi.minimize(f, SPACE, "random", storage=bad, resume=True,
                                        max_evaluations=3, progress=False)):
        with pytest.raises(JournalError, match="garbage.db") as info:
            call()
        assert "\n" not in str(info.value)
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (a)").connection.close()
    with pytest.raises(JournalError, match="other.db' is not a lowfi run journal"):
        load_trials(other)
    with pytest.raises(ValueError, match="warm_start: cannot read .*garbage.db"):
        lowfi.minimize(f, SPACE, "random", max_evaluations=2, warm_start=str(bad),
                       progress=False)
    with pytest.raises(FileNotFoundError, match="no run journal"):
        load_trials(tmp_path / "missing.db")


def test_a_full_disk_names_the_file(tmp_path):
    db = str(tmp_path / "full.db")
    j = Journal(db)
    page = j.conn.execute("PRAGMA page_count").fetchone()[0]
    j.conn.execute(f"PRAGMA max_page_count = {page + 1}")  # the disk is now full
    from lowfi.core.trial import Trial

    with pytest.raises(JournalError, match=r"full.db.*full; free space"):
        for i in range(1000):
            j.ask(Trial(i, {"x": 0.5, "pad": "x" * 2000}, 1.0, i))
    j.close()


def test_read_only_commands_write_nothing(tmp_path, capsys):
    folder = tmp_path / "ro"
    folder.mkdir()
    db = folder / "run.db"
    lowfi.minimize(f, SPACE, "random", max_evaluations=4, storage=str(db), progress=False)
    digest = hashlib.sha256(db.read_bytes()).hexdigest()
    listing = sorted(os.listdir(folder))
    os.chmod(db, 0o444)
    os.chmod(folder, 0o555)
    try:
        from lowfi.cli import main

        assert len(load_trials(db)) == 4
        assert main(["show", str(db)]) == 0
        assert main(["show", str(folder)]) == 0
        assert "run.db" in capsys.readouterr().out
        warm = lowfi.minimize(f, SPACE, "random", max_evaluations=2, warm_start=str(db),
                              progress=False)
        assert len(warm.trials) == 2
        with Journal(db, create=False) as j:
            assert len(j.events(("ask",))) == 4
    finally:
        os.chmod(folder, 0o755)
        os.chmod(db, stat.S_IRUSR | stat.S_IWUSR)
    assert hashlib.sha256(db.read_bytes()).hexdigest() == digest
    assert sorted(os.listdir(folder)) == listing  # no -wal/-shm files, nothing new


def test_resume_checks_what_it_resumes(tmp_path):
    db = str(tmp_path / "r.db")
    lowfi.minimize(f, SPACE, "random", max_evaluations=3, storage=db, seed=4, eta=2,
                   progress=False)
    kw = dict(storage=db, resume=True, max_evaluations=5, progress=False)
    with pytest.raises(ValueError, match="space: differs"):
        lowfi.minimize(f, {"y": (0.0, 1.0)}, "random", seed=4, **kw)
    with pytest.raises(ValueError, match=r"objective: got .*:g, but .* created with .*:f"):
        lowfi.minimize(g, SPACE, "random", seed=4, **kw)
    with pytest.raises(ValueError, match=r"seed: got 9, but the run was created with 4.*stored"):
        lowfi.minimize(f, SPACE, "random", seed=9, **kw)
    with pytest.raises(ValueError, match=r"optimizer: got 'tpe', but the run was created with "
                                         r"'random'"):
        lowfi.minimize(f, SPACE, "tpe", seed=4, **kw)
    with pytest.raises(ValueError, match="eta: got 4"):
        lowfi.Study(db, eta=4)
    res = lowfi.resume(db, max_evaluations=6, progress=False)  # stored objective and settings
    assert len(res.trials) == 6


def scaled(config, budget, factor=1.0):
    return factor * config["x"]


def test_a_partial_objective_is_named_by_its_function(tmp_path):
    import functools

    db = str(tmp_path / "p.db")
    lowfi.minimize(functools.partial(scaled, factor=2.0), SPACE, "random", max_evaluations=2,
                   storage=db, seed=1, progress=False)
    with Journal(db, create=False) as j:
        assert j.get_meta("objective_name").endswith(":scaled")
    kw = dict(storage=db, resume=True, max_evaluations=3, seed=1, progress=False)
    res = lowfi.minimize(functools.partial(scaled, factor=2.0), SPACE, "random", **kw)
    assert len(res.trials) == 3
    with pytest.raises(ValueError, match=r"objective: got .*:f, but .* created with .*:scaled"):
        lowfi.minimize(functools.partial(f), SPACE, "random", **{**kw, "max_evaluations": 4})


def test_a_run_that_never_starts_leaves_no_folder(tmp_path):
    target = tmp_path / "new" / "deeper" / "run.db"
    with pytest.raises(ValueError, match="min_budget"):
        lowfi.minimize(f, SPACE, "hyperband", min_budget=5, max_budget=1, storage=str(target),
                       max_evaluations=2, progress=False)
    assert not (tmp_path / "new").exists()
    (tmp_path / "kept").mkdir()
    (tmp_path / "kept" / "other.txt").write_text("x")
    with pytest.raises(ValueError, match="min_budget"):
        lowfi.minimize(f, SPACE, "hyperband", min_budget=5, max_budget=1,
                       storage=str(tmp_path / "kept" / "run.db"), max_evaluations=2,
                       progress=False)
    assert sorted(os.listdir(tmp_path / "kept")) == ["other.txt"]
