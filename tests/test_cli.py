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


def test_show_prints_run_text_as_it_is(tmp_path, capsys):
    """Values from a journal are text, never rich markup: '[/data]' does not break the table
    and '[b]adam' is not shown as 'adam'."""
    import lowfi

    def f(config, budget):
        return 0.1 if config["path"] == "[/data]" else 0.5

    db = str(tmp_path / "run.db")
    lowfi.minimize(f, {"path": ["[/data]", "[b]adam"]}, "random", storage=db,
                   max_evaluations=6, progress=False, seed=0)
    assert main(["show", db]) == 0
    out = capsys.readouterr().out
    assert "path=[/data]" in out and "path=[b]adam" in out


def test_demo_checkpoints_are_signed_and_foreign_ones_not_loaded(tmp_path):
    """The demo objective continues from its own (signed) checkpoint and never unpickles one
    it did not write: a planted pickle runs nothing and the rung trains from scratch."""
    import os
    import pickle

    from lowfi.benchmarks.mlp_digits import demo_objective
    from lowfi.core.trial import Trial

    config = {"learning_rate_init": 0.01, "alpha": 1e-4, "hidden": 16, "n_layers": 1,
              "batch_size": 64, "activation": "relu"}
    t1 = Trial(0, config, 1, config_id=3, checkpoint_dir=str(tmp_path))
    r1 = demo_objective(t1)
    assert r1.info["epochs_trained_now"] == 1
    t2 = Trial(1, config, 3, config_id=3, checkpoint_dir=str(tmp_path))
    assert demo_objective(t2).info["epochs_trained_now"] == 2  # continued from its checkpoint

    marker = tmp_path / "PWNED"

    class Bomb:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    with open(os.path.join(tmp_path, "model.pkl"), "wb") as fh:
        pickle.dump((1, Bomb()), fh)
    t3 = Trial(2, config, 3, config_id=3, checkpoint_dir=str(tmp_path))
    with pytest.warns(UserWarning, match="not signed with this user's key"):
        r3 = demo_objective(t3)
    assert not marker.exists() and r3.info["epochs_trained_now"] == 3


def test_resume_finds_an_objective_module_in_the_working_folder(tmp_path):
    """A run whose script did `from obj import objective` stores `obj:objective`: `lowfi resume`
    run from that folder imports it (as `python -m` would); from elsewhere the error is one line."""
    (tmp_path / "obj.py").write_text("def objective(config, budget):\n"
                                     "    return (config['x'] - 0.3) ** 2 + 1 / budget\n")
    (tmp_path / "run.py").write_text(
        "import lowfi\nfrom obj import objective\n"
        "lowfi.minimize(objective, {'x': (0.0, 1.0)}, 'hyperband', min_budget=1, max_budget=9,\n"
        "               max_evaluations=5, storage='x.db', progress=False, seed=0)\n")
    subprocess.run([sys.executable, "run.py"], cwd=tmp_path, check=True, timeout=120)
    lowfi_cli = [sys.executable, "-c", "import sys; from lowfi.cli import main; "
                 "sys.exit(main(sys.argv[1:]))"]
    out = subprocess.run(lowfi_cli + ["resume", "x.db", "--max-evaluations", "8", "--quiet"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert len(load_trials(str(tmp_path / "x.db"))) == 8
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = subprocess.run(lowfi_cli + ["resume", str(tmp_path / "x.db"), "--max-evaluations", "9",
                                      "--quiet"], cwd=elsewhere, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "stored its objective as 'obj:objective'" in out.stderr and "--objective" in out.stderr


def test_an_objective_file_given_to_resume_is_the_module_the_run_imported(tmp_path, monkeypatch):
    """`--objective train.py:objective` and `from train import objective` name the same
    objective, in both orders."""
    (tmp_path / "train.py").write_text("def objective(config, budget):\n"
                                       "    return (config['x'] - 0.3) ** 2 + 1 / budget\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    import lowfi

    train = __import__("train")
    lowfi.minimize(train.objective, {"x": (0.0, 1.0)}, "hyperband", min_budget=1, max_budget=9,
                   max_evaluations=4, storage="a.db", progress=False, seed=0)
    assert main(["resume", "a.db", "--objective", "train.py:objective", "--max-evaluations", "6",
                 "--quiet"]) == 0
    assert len(load_trials("a.db")) == 6


def test_show_and_report_summarize_a_multi_objective_run(tmp_path, capsys):
    """Tuple losses: `lowfi show` lists the Pareto-optimal trials, a folder listing shows the
    run beside the others, and `lowfi report` writes its pages."""
    import lowfi

    db = str(tmp_path / "mo.db")
    lowfi.minimize(lambda c, b: (c["x"], 1 - c["x"]), {"x": (0.0, 1.0)}, "random",
                   max_evaluations=6, storage=db, progress=False, seed=0)
    lowfi.minimize(lambda c, b: c["x"], {"x": (0.0, 1.0)}, "random", max_evaluations=3,
                   storage=str(tmp_path / "single.db"), progress=False, seed=0)
    assert main(["show", db]) == 0
    out = capsys.readouterr().out
    assert "Pareto-optimal trials" in out and "losses" in out
    assert main(["show", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "mo.db" in out and "single.db" in out
    assert main(["report", db, "--out", str(tmp_path / "rep")]) == 0
    assert (tmp_path / "rep").is_dir() and any((tmp_path / "rep").iterdir())


def test_ctrl_c_ends_with_a_message_and_status_130(tmp_path, monkeypatch, capsys):
    import lowfi

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(lowfi, "minimize", interrupted)
    monkeypatch.delenv("LOWFI_DEBUG", raising=False)
    assert main(["demo", "--dir", str(tmp_path / "runs")]) == 130
    err = capsys.readouterr().err
    assert "lowfi demo: interrupted" in err and "lowfi resume" in err
    assert "Traceback" not in err


def test_demo_with_bad_arguments_leaves_no_folder(tmp_path, capsys):
    assert main(["demo", "--max-budget", "0", "--dir", str(tmp_path / "runs")]) == 2
    assert "min_budget" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_a_missing_executor_extra_is_one_line_and_writes_nothing(tmp_path, monkeypatch, capsys):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "ray" else real(name, *a))
    assert main(["demo", "--executor", "ray", "--dir", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert "lowfi demo: executor='ray' needs Ray: pip install 'lowfi[ray]'" in err
    assert "Traceback" not in err and not (tmp_path / "runs").exists()
