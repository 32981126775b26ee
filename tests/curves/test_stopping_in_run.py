"""Predictive termination wired into the run loop: trial.report / trial.should_stop."""

import numpy as np

import lowfi
from lowfi.curves import DomhanStopping


def curve_objective(trial):
    x = trial.config["x"]
    final = 0.05 + 0.8 * x  # small x: good configurations
    for step in range(1, int(trial.budget) + 1):
        value = final + 0.5 * step**-0.7
        trial.report(step, value)
        if trial.should_stop():
            break
    return trial.curve[-1][1]


def test_domhan_stops_bad_runs_and_keeps_their_prediction():
    opt = lowfi.optimizers.RandomSearch({"x": (0.0, 1.0)}, max_budget=40, seed=0)
    opt.enqueue({"x": 0.01})  # a good run first: the incumbent
    for x in (0.9, 0.8, 0.95):
        opt.enqueue({"x": x})
    res = lowfi.minimize(curve_objective, optimizer=opt, max_evaluations=4, progress=False,
                         stopping=DomhanStopping(n_min=10, every=10, seed=0))
    df = res.trials.set_index("trial_id")
    assert df.loc[0, "status"] == "ok" and len(df.loc[0, "curve"]) == 40
    stopped = df[df["status"] == "stopped"]
    assert len(stopped) >= 2
    for _, row in stopped.iterrows():
        assert len(row["curve"]) < 40
        pred = row["info"]
        assert "incumbent" in pred and np.isfinite(pred["incumbent"])
    epochs = sum(len(c) for c in df["curve"])
    assert epochs < 4 * 40


def test_report_names_the_rule_of_stopped_trials(tmp_path):
    opt = lowfi.optimizers.RandomSearch({"x": (0.0, 1.0)}, max_budget=40, seed=0)
    for x in (0.01, 0.9, 0.95):
        opt.enqueue({"x": x})
    db = str(tmp_path / "run.db")
    lowfi.minimize(curve_objective, optimizer=opt, max_evaluations=3, progress=False, storage=db,
                   stopping=DomhanStopping(n_min=10, every=10, seed=0))
    from lowfi.cli import main

    assert main(["report", db, "--out", str(tmp_path / "rep")]) == 0
    text = (tmp_path / "rep" / "report.md").read_text()
    assert "domhan" in text  # the report names the rule that stopped the trials
