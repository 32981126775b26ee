"""The `lowfi` command: demo, show, resume."""

import glob
import subprocess
import sys

import pytest

from lowfi.cli import main
from lowfi.storage import load_trials


def test_demo_show_resume(tmp_path, capsys):
    rc = main(["demo", "--executor", "inline", "--workers", "1", "--max-budget", "3",
               "--max-evaluations", "6", "--dir", str(tmp_path), "--optimizer", "hyperband"])
    assert rc == 0
    (db,) = glob.glob(str(tmp_path / "demo-hyperband-*.db"))
    out = capsys.readouterr().out
    assert "incumbent" in out and "best trials" in out
    assert len(load_trials(db)) == 6

    assert main(["show", db]) == 0
    out = capsys.readouterr().out
    assert "6 trials" in out and "state: stopped: max_evaluations" in out

    assert main(["resume", db, "--max-evaluations", "9", "--quiet"]) == 0
    df = load_trials(db)
    assert len(df) == 9 and set(df["status"]) == {"ok"}
    assert list(df["trial_id"]) == list(range(9))


def test_missing_run_is_a_clear_error(tmp_path, capsys):
    assert main(["show", str(tmp_path / "nope.db")]) == 2
    assert "no run journal" in capsys.readouterr().err


def test_console_script_entry_point():
    out = subprocess.run([sys.executable, "-m", "lowfi.cli", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "demo" in out.stdout and "resume" in out.stdout


def test_show_lists_the_runs_in_a_folder(tmp_path, capsys):
    import lowfi

    def f(config, budget):
        return config["x"]

    lowfi.minimize(f, {"x": (0.0, 1.0)}, "random", max_evaluations=4,
                   storage=str(tmp_path / "a.db"), progress=False)
    lowfi.minimize(f, {"x": (0.0, 1.0)}, "tpe", max_evaluations=3,
                   storage=str(tmp_path / "b.db"), progress=False)
    (tmp_path / "junk.db").write_text("not sqlite")
    from lowfi.cli import run_overview

    df = run_overview(str(tmp_path)).set_index("run")
    assert sorted(df.index) == ["a.db", "b.db"]
    assert df.loc["a.db", "optimizer"] == "random" and df.loc["a.db", "ok"] == 4
    assert df.loc["b.db", "trials"] == 3 and df.loc["b.db", "state"] == "stopped: max_evaluations"
    assert main(["show", str(tmp_path)]) == 0
    assert "a.db" in capsys.readouterr().out
    assert main(["show", str(tmp_path / "empty_dir_missing")]) == 2


def test_resume_replaces_stored_limits_and_says_when_nothing_ran(tmp_path, capsys):
    import lowfi

    db = str(tmp_path / "t.db")
    lowfi.minimize(_quad, {"x": (0.0, 1.0)}, "hyperband", min_budget=1, max_budget=9,
                   total_budget=30, storage=db, progress=False)
    n = len(load_trials(db))
    assert main(["resume", db, "--quiet"]) == 0  # stored total_budget already reached
    assert "nothing new ran" in capsys.readouterr().err and len(load_trials(db)) == n
    assert main(["resume", db, "--max-evaluations", str(n + 5), "--quiet"]) == 0
    assert len(load_trials(db)) == n + 5  # the new stop condition replaced total_budget
    assert main(["resume", db, "--total-budget", "200", "--quiet"]) == 0
    assert load_trials(db)["budget"].sum() >= 200


def _quad(config, budget):
    return (config["x"] - 0.5) ** 2 + 1.0 / budget


def test_user_errors_are_one_line_with_status_2(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("LOWFI_DEBUG", raising=False)
    assert main(["bench", "--optimizers", "random", "--benchmarks", "counting-ones-8",
                 "--seeds", "1", "--budget", "2", "--out", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert "benchmarks: got unknown ['counting-ones-8']" in err and "Traceback" not in err
    assert main(["nas", "query", "--matrix", "[[0,1],[0,0]]", "--ops", "input,output",
                 "--epochs", "5"]) == 2
    assert "epochs: got 5; this table has [4, 12, 36]" in capsys.readouterr().err
    assert main(["report", str(tmp_path)]) == 2
    assert "lowfi show DIR" in capsys.readouterr().err
    monkeypatch.setenv("LOWFI_DEBUG", "1")
    with pytest.raises(ValueError, match="epochs: got 5"):
        main(["nas", "query", "--matrix", "[[0,1],[0,0]]", "--ops", "input,output",
              "--epochs", "5"])


def test_show_tells_an_ask_tell_study_from_an_interrupted_run(tmp_path, capsys):
    import lowfi
    from lowfi.cli import run_overview

    study = lowfi.Study(tmp_path / "s.db", {"x": (0.0, 1.0)}, min_budget=1, max_budget=9)
    for i in range(3):
        study.tell(study.ask(), 0.1 * i)
    study.ask()  # handed out, not told
    study.close()
    df = run_overview(str(tmp_path)).set_index("run")
    assert df.loc["s.db", "state"] == "ask/tell study, 1 pending"
    assert main(["show", str(tmp_path / "s.db")]) == 0
    assert "budget asked" in capsys.readouterr().out


def test_dashboard_refuses_a_port_in_use(tmp_path):
    import socket

    pytest.importorskip("uvicorn")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = subprocess.run([sys.executable, "-m", "lowfi.cli", "dashboard", str(tmp_path),
                               "--port", str(port)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in proc.stderr
    assert "http://" not in proc.stdout  # no address that would not answer


def test_resume_a_study_with_an_objective_from_a_file(tmp_path, capsys):
    import lowfi

    db = str(tmp_path / "study.db")
    study = lowfi.Study(db, {"x": (0.0, 1.0)}, "random", max_budget=1, seed=0)
    t = study.ask()
    study.tell(t, 0.5)
    study.close()
    assert main(["resume", db, "--max-evaluations", "3", "--quiet"]) == 2
    assert "--objective module:function" in capsys.readouterr().err  # a study stores none
    (tmp_path / "obj.py").write_text("def f(config, budget):\n    return config['x'] ** 2\n")
    for executor in ("inline", "processes"):
        n = len(load_trials(db))
        assert main(["resume", db, "--objective", f"{tmp_path / 'obj.py'}:f", "--executor",
                     executor, "--workers", "2", "--max-evaluations", str(n + 2), "--quiet"]) == 0
        df = load_trials(db)
        assert len(df) == n + 2 and set(df["status"]) == {"ok"}
    assert main(["resume", db, "--objective", f"{tmp_path / 'obj.py'}:nope", "--quiet"]) == 2
    assert "has no function 'nope'" in capsys.readouterr().err
    assert main(["resume", db, "--objective", "no_colon", "--quiet"]) == 2
    assert "--objective: got 'no_colon'" in capsys.readouterr().err
