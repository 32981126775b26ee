import json

import numpy as np
import pandas as pd
import pytest

from lowfi.analysis.bench import bench, load_bench, run_one
from lowfi.analysis.report import bench_summary, report


def test_run_one_records_are_complete_and_deterministic():
    a = run_one("hyperband", "counting-ones-8-8", seed=3, budget=3, n_workers=2)
    b = run_one("hyperband", "counting-ones-8-8", seed=3, budget=3, n_workers=2)
    keys = {"optimizer", "benchmark", "seed", "trial_id", "config", "budget", "loss", "test_loss",
            "regret", "cost", "cum_budget", "wallclock", "overhead", "start", "end", "bracket"}
    assert keys <= set(a[0])
    assert [r["loss"] for r in a] == [r["loss"] for r in b]
    assert [r["end"] for r in a] == [r["end"] for r in b]
    budgets = np.array([r["budget"] for r in a])
    # every evaluation is charged its budget; submission stops once 3 x max_budget is charged
    np.testing.assert_allclose([r["cum_budget"] for r in a], np.cumsum(budgets))
    assert budgets[:-1].sum() < 3 * 729 <= budgets.sum() + 729 * 2
    # records come in finish order of the simulated clock
    ends = [r["end"] for r in a]
    assert ends == sorted(ends)
    json.dumps(a)  # JSON-serializable


def test_bench_folder_and_report_files(tmp_path):
    out = bench(["random", "hyperband"], ["counting-ones-8-8", "lcdb-999999"], seeds=2,
                budget=2, workers=2, out=tmp_path / "b", verbose=False)
    meta, df = load_bench(out)
    assert "lcdb-999999" in meta["skipped"]
    assert set(df["optimizer"]) == {"random", "hyperband"} and set(df["seed"]) == {0, 1}
    assert len(list((out / "runs").glob("*.jsonl"))) == 4
    tables = bench_summary(meta, df, at=(1, 2))
    tab = tables["counting-ones-8-8"]
    assert list(tab["optimizer"]) and {"@1x", "@2x", "overhead ms (median / mean)"} <= set(tab)
    md = report(out, img_prefix="bench_")
    rep = out / "report"
    for f in ("report.md", "report.html", "bench_counting-ones-8-8.png",
              "bench_counting-ones-8-8_figset.png", "bench_counting-ones-8-8_allocation.png"):
        assert (rep / f).stat().st_size > 500, f
    text = md.read_text()
    assert "counting-ones-8-8" in text and "Skipped benchmark lcdb-999999" in text
    assert (rep / "report.png").exists() is False
    assert "<img" in (rep / "report.html").read_text()


def test_report_of_a_stored_run(tmp_path):
    import lowfi
    from lowfi.benchmarks import get

    b = get("counting-ones-8-8")
    db = tmp_path / "run.db"
    lowfi.minimize(lambda c, budget: b.evaluate(c, budget, seed=0), b.space,
                   optimizer="hyperband", min_budget=9, max_budget=729, eta=3, n_workers=1,
                   executor="inline", storage=str(db), max_evaluations=40, seed=0,
                   progress=False)
    md = report(db)
    folder = md.parent
    for f in ("report.md", "report.html", "incumbent.png", "curves.png", "slice.png",
              "allocation.png"):
        assert (folder / f).stat().st_size > 500, f
    text = md.read_text()
    assert "40 trials: 40 completed, 0 stopped early" in text and "Budget per rung" in text
    # a report (and a plot) of a finished run reads it without leaving files beside it
    from lowfi.plot import plot_incumbent

    plot_incumbent(str(db))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.db", "run_report"]


def test_report_rejects_a_folder_without_meta(tmp_path):
    with pytest.raises(FileNotFoundError, match="meta.json"):
        report(tmp_path)


def test_cli_registers_bench_and_report(tmp_path, capsys):
    from lowfi.cli import main

    assert main(["bench", "--optimizers", "random", "--benchmarks", "counting-ones-8-8",
                 "--seeds", "1", "--budget", "1", "--out", str(tmp_path / "c")]) == 0
    assert (tmp_path / "c" / "report" / "report.html").exists()
    assert main(["report", str(tmp_path / "c"), "--out", str(tmp_path / "r")]) == 0
    assert (tmp_path / "r" / "report.md").exists()
    assert "report:" in capsys.readouterr().out


def test_trials_frame_columns_are_enough_for_the_run_report(tmp_path):
    # the journal's DataFrame layout: trial_id, config_id, budget, loss, status, cost, start,
    # end, worker, bracket, rung, error, config.<name>
    rng = np.random.default_rng(0)
    n = 30
    df = pd.DataFrame({"trial_id": range(n), "config_id": range(n),
                       "budget": rng.choice([1.0, 3.0, 9.0], n), "loss": rng.random(n),
                       "status": ["ok"] * n, "cost": 1.0, "start": np.arange(n),
                       "end": np.arange(n) + 1.0, "worker": "w", "bracket": 0, "rung": 0,
                       "error": None, "config.x": rng.random(n), "config.c": ["a", "b"] * 15})
    path = tmp_path / "trials.csv"
    df.to_csv(path, index=False)
    md = report(path)
    text = md.read_text()
    assert (md.parent / "slice.png").exists() and (md.parent / "importance.png").exists()
    assert "| x |" in text and "| c |" in text  # importance table names both parameters
    assert "30 trials: 30 completed" in text


def test_fallback_event_loop_matches_the_simulated_executor():
    own = run_one("asha", "counting-ones-8-8", seed=1, budget=2, n_workers=4, engine="own")
    sim = run_one("asha", "counting-ones-8-8", seed=1, budget=2, n_workers=4, engine="minimize")
    cols = ("trial_id", "budget", "loss", "start", "end", "cum_budget")
    assert [[r[c] for c in cols] for r in own] == [[r[c] for c in cols] for r in sim]
    # four simulated workers overlap: the wall clock is below the summed cost
    assert own[-1]["wallclock"] < sum(r["cost"] for r in own)


def test_bench_checks_its_settings_and_keeps_a_folder_consistent(tmp_path, capsys):
    from lowfi.cli import main

    with pytest.raises(ValueError, match="budget: got 0"):
        bench(["random"], ["counting-ones-8-8"], seeds=1, budget=0, out=tmp_path / "x")
    with pytest.raises(ValueError, match="workers: got 0"):
        bench(["random"], ["counting-ones-8-8"], seeds=1, workers=0, out=tmp_path / "x")
    with pytest.raises(ValueError, match="optimizers: got none"):
        bench([], ["counting-ones-8-8"], seeds=1, out=tmp_path / "x")
    assert not (tmp_path / "x").exists()  # refused before anything was written
    out = tmp_path / "b"
    bench(["random"], ["counting-ones-8-8"], seeds=1, budget=2, out=out, verbose=False)
    bench(["hyperband"], ["counting-ones-8-8"], seeds=2, budget=2, out=out, verbose=False)
    meta, df = load_bench(out)  # the folder's runs, all described by its meta
    assert meta["optimizers"] == ["random", "hyperband"] and meta["seeds"] == [0, 1]
    assert set(df["optimizer"]) == {"random", "hyperband"}
    with pytest.raises(ValueError, match="holds runs made with budget 2 and 1 workers"):
        bench(["random"], ["counting-ones-8-8"], seeds=1, budget=5, out=out, verbose=False)
    bench(["random"], ["counting-ones-8-8"], seeds=1, budget=3, out=out, verbose=False,
          resume=False)  # afresh: only the new runs
    meta, df = load_bench(out)
    assert meta["optimizers"] == ["random"] and set(df["optimizer"]) == {"random"}
    assert len(list((out / "runs").glob("*.jsonl"))) == 1
    # the command's exit status says when nothing or not everything ran
    assert main(["bench", "--benchmarks", "lcdb-999999", "--optimizers", "random", "--seeds",
                 "1", "--out", str(tmp_path / "none"), "--no-report"]) == 2
    assert "nothing ran" in capsys.readouterr().err
    assert main(["bench", "--benchmarks", "counting-ones-8-8,lcdb-999999", "--optimizers",
                 "random", "--seeds", "1", "--budget", "2", "--out", str(tmp_path / "some"),
                 "--no-report"]) == 1  # one ran, one is missing: the status says so
    assert "skipped 1 of 2 benchmarks that could not be built here (lcdb-999999" \
        in capsys.readouterr().err


def test_a_parameter_named_like_a_column_keeps_both(tmp_path):
    import lowfi
    from lowfi.analysis.report import trials_table

    def f(config, budget):  # SGDClassifier's own "loss" hyperparameter
        return (0.1 if config["loss"] == "hinge" else 0.2) + config["alpha"]

    db = tmp_path / "sgd.db"
    lowfi.minimize(f, {"loss": ["hinge", "log_loss"], "alpha": (1e-5, 1e-1)}, "random",
                   max_evaluations=6, storage=db, progress=False, seed=0)
    tab = trials_table(db)
    assert set(tab["config.loss"]) <= {"hinge", "log_loss"} and "alpha" in tab
    assert pd.to_numeric(tab["loss"]).between(0.1, 0.31).all()


def test_bench_refuses_a_network_optimizer_and_names_what_trials_raised(tmp_path, capsys):
    from lowfi.analysis.bench import _job
    from lowfi.analysis.cli import cmd_bench  # noqa: F401 - 'all' leaves network optimizers out

    with pytest.raises(ValueError, match="'lemonade', which evolves network descriptions"):
        bench(["lemonade"], ["counting-ones-8-8"], seeds=1, out=tmp_path / "x")

    def failing(config, budget):
        raise KeyError("no such column")

    import lowfi.analysis.bench as B

    real = B.run_one

    def run_one(*a, **k):
        import lowfi

        lowfi.minimize(failing, {"x": (0.0, 1.0)}, "random", max_evaluations=2, progress=False)

    B.run_one = run_one
    try:
        *_, err = _job(("random", "counting-ones-8-8", 0, 1, 1, str(tmp_path), "auto"))
    finally:
        B.run_one = real
    assert err.strip().splitlines()[-1].endswith("KeyError: 'no such column'")


def test_a_saved_trials_table_of_a_maximized_run_is_reported_in_scores(tmp_path):
    import lowfi
    from lowfi.analysis.report import trials_table

    res = lowfi.minimize(lambda c, b: 1.0 - c["x"], {"x": (0.0, 1.0)}, "random",
                         max_evaluations=5, direction="maximize", progress=False, seed=0)
    res.trials.to_csv(tmp_path / "max.csv", index=False)
    res.trials.to_json(tmp_path / "max.jsonl", orient="records", lines=True)
    for f in ("max.csv", "max.jsonl"):
        tab = trials_table(tmp_path / f)
        assert "score" in tab and sorted(tab["score"]) == pytest.approx(sorted(res.trials["score"]))
    assert report(tmp_path / "max.csv").parent.name == "max_csv_report"
    with pytest.raises(ValueError, match="out: .* is not a folder"):
        report(tmp_path / "max.csv", out=tmp_path / "max.jsonl")


def test_budget_used_is_one_figure_everywhere(tmp_path, capsys):
    """A trial that stopped itself (info budget_reached) and one continued from a checkpoint
    (info resumed_from) count what they trained in show, the report, the plots and the
    dashboard, as total_budget does."""
    import lowfi
    import lowfi.plot as lp
    from lowfi.analysis.rundata import load_run_data
    from lowfi.cli import main

    def f(trial):
        x = trial.config["x"]
        if x < 0.5:  # gives up by itself after 3 of 9 epochs
            return lowfi.Result(1.0, status="stopped", info={"budget_reached": 3})
        return x

    db = tmp_path / "u.db"
    res = lowfi.minimize(f, {"x": (0.0, 1.0)}, "random", min_budget=9, max_budget=9,
                         total_budget=90, storage=db, progress=False, seed=0)
    assert res.stop_reason == "total_budget"
    spent = sum(3 if s == "stopped" else 9 for s in res.trials["status"])
    data = load_run_data(db)
    assert lp.incumbent_curve(data)["x"].iloc[-1] == pytest.approx(spent)
    assert lp.budget_allocation(data)["budget_used"].sum() == pytest.approx(spent)
    assert main(["show", str(db)]) == 0
    assert f"(used {spent:g})" in capsys.readouterr().out
    assert f"budget used {spent:g} " in report(db).read_text()


def test_a_report_before_any_trial_reached_max_budget_names_the_best_so_far(tmp_path):
    import lowfi

    db = tmp_path / "early.db"
    res = lowfi.minimize(lambda c, b: c["x"] / b, {"x": (0.0, 1.0)}, "hyperband", min_budget=1,
                         max_budget=27, max_evaluations=5, storage=db, progress=False, seed=0)
    text = report(db).read_text()
    top = res.trials[res.trials["budget"] == res.trials["budget"].max()]
    tid = int(top.loc[top["loss"].idxmin(), "trial_id"])
    assert f"Incumbent: trial {tid}, " in text and "(no trial reached max_budget 27 yet)" in text


def test_a_multi_objective_table_saved_as_csv_is_reported(tmp_path):
    import lowfi

    res = lowfi.minimize(lambda c, b: (c["x"], 1 - c["x"] ** 2), {"x": (0.0, 1.0)},
                         "random", max_evaluations=5, progress=False, seed=0)
    res.trials.to_csv(tmp_path / "multi.csv", index=False)
    text = report(tmp_path / "multi.csv").read_text()
    assert "5 trials" in text and "Incumbent: trial" in text and "objectives (" in text
    with pytest.raises(ValueError, match="is not a folder"):
        report(tmp_path / "multi.csv", out=tmp_path / "multi.csv" / "sub")
