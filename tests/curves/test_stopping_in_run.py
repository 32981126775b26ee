"""Predictive termination wired into the run loop: trial.report / trial.should_stop."""

import numpy as np
import pytest

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


def accuracy_objective(trial):
    """Accuracies in [0, 1], maximized: small x are the good configurations."""
    x = trial.config["x"]
    acc = None
    for step in range(1, int(trial.budget) + 1):
        acc = 1.0 - (0.05 + 0.4 * x + 0.5 * step**-0.7)
        trial.report(step, acc)
        if trial.should_stop():
            break
    return acc


def _maximized_run(rule):
    opt = lowfi.optimizers.RandomSearch({"x": (0.0, 1.0)}, max_budget=40, seed=0)
    for x in (0.6, 0.9, 0.01, 0.8, 0.95):  # the best configuration comes third
        opt.enqueue({"x": x})
    return lowfi.minimize(accuracy_objective, optimizer=opt, max_evaluations=5, progress=False,
                          direction="maximize", stopping=rule)


def test_a_maximizing_run_takes_bounds_and_direction_in_the_objectives_scale():
    from lowfi.curves import MedianStopping

    for rule in (DomhanStopping(n_min=6, every=3, bounds=(0, 1)),
                 DomhanStopping(n_min=6, every=3, bounds=(0, 1), direction="maximize")):
        res = _maximized_run(rule)
        df = res.trials.set_index("trial_id")
        assert df.loc[2, "status"] == "ok"  # the best configuration is never stopped
        assert res.best_config == {"x": 0.01} and res.best_loss > 0.9
        stopped = df[df["status"] == "stopped"]
        assert len(stopped) >= 2  # the worse ones after it are
        assert set(stopped.index) >= {3, 4}
        for tid, info in stopped["info"].items():  # the info speaks in accuracies
            assert 0 <= info["predicted_q05"] <= info["predicted_final"] <= info["predicted_q95"] <= 1
            assert 0 < info["incumbent"] <= 1 and "P(final > incumbent " in info["reason"]
            assert info["predicted_final"] < info["incumbent"]
            if tid > 2:
                assert info["incumbent"] > 0.9
    # a schedule rule given the run's direction behaves like one left at its default
    default, explicit = (_maximized_run(MedianStopping(grace=3, min_trials=1, direction=d))
                         for d in ("minimize", "maximize"))
    assert list(default.trials["status"]) == list(explicit.trials["status"])
    assert default.best_config == {"x": 0.01}


def test_predictive_rungs_judge_every_bracket_at_one_horizon():
    from lowfi.curves import PredictiveRungStopping

    def same_curve(trial):  # every configuration learns alike: none is worse than another
        value = None
        for step in range(1, int(trial.budget) + 1):
            value = 0.1 + 0.5 * step**-0.5
            trial.report(step, value)
            if trial.should_stop():
                break
        return value

    res = lowfi.minimize(same_curve, {"x": (0.0, 1.0)}, "hyperband", min_budget=3,
                         max_budget=81, max_evaluations=62, progress=False, seed=0,
                         stopping=PredictiveRungStopping(min_step=1, eta=3))
    assert set(res.trials["budget"]) >= {27.0, 81.0}  # brackets of several budgets ran
    assert (res.trials["status"] == "ok").all()


def test_learning_curve_plot_draws_a_maximized_runs_predictions_in_scores(tmp_path):
    import lowfi.plot as lp

    opt = lowfi.optimizers.RandomSearch({"x": (0.0, 1.0)}, max_budget=40, seed=0)
    for x in (0.01, 0.8, 0.95):
        opt.enqueue({"x": x})
    db = tmp_path / "max.db"
    lowfi.minimize(accuracy_objective, optimizer=opt, max_evaluations=3, progress=False,
                   direction="maximize", storage=db,
                   stopping=DomhanStopping(n_min=6, every=3, bounds=(0, 1)))
    fig = lp.plot_learning_curves(db)
    bars = [c for c in fig.axes[0].containers if getattr(c, "get_gid", lambda: None)() ==
            "domhan-prediction"] or [ln for ln in fig.axes[0].lines
                                     if ln.get_gid() == "domhan-prediction"]
    ys = []
    for b in bars:
        line = b.lines[0] if hasattr(b, "lines") else b
        ys.extend(np.asarray(line.get_ydata(), float))
    assert ys and all(0 <= y <= 1 for y in ys)  # accuracies, not negated ones


def test_a_maximizing_rule_in_a_minimizing_run_is_refused():
    with pytest.raises(ValueError, match="rule has direction='maximize' but the run minimizes"):
        lowfi.minimize(curve_objective, {"x": (0.0, 1.0)}, "random", max_budget=10,
                       min_budget=10, max_evaluations=2, progress=False,
                       stopping=DomhanStopping(direction="maximize"))


@pytest.mark.parametrize("rule", [lowfi.curves.RungStopping(min_step=9),
                                  DomhanStopping(n_min=6, every=3, seed=0),
                                  lowfi.curves.PredictiveRungStopping(min_step=9)])
def test_a_diverged_trial_is_stopped_by_any_rule(rule, tmp_path):
    def objective(trial):
        for step in range(1, int(trial.budget) + 1):
            diverged = trial.config["x"] > 0.5 and step > 3
            trial.report(step, float("nan") if diverged else 1.0 / step + trial.config["x"])
            if trial.should_stop():
                break
        last = trial.curve[-1][1]
        return last if np.isfinite(last) else 10.0

    res = lowfi.minimize(objective, {"x": (0.0, 1.0)}, "random", max_budget=27,
                         max_evaluations=8, seed=0, progress=False, stopping=rule,
                         storage=tmp_path / "r.db")
    df = res.trials
    bad = df[df["config.x"] > 0.5]
    assert len(bad) and (bad["status"] == "stopped").all()
    assert (bad["budget_reached"] == 4).all()  # at the first non-finite value
    info = bad["info"].iloc[0]
    assert "diverged" in info["reason"] and info["rule"] == type(rule).__name__
    points = [v for curve in bad["curve"] for _, v in curve]
    assert all(isinstance(v, float) for v in points) and np.isnan(points[-1])
    assert (df.loc[df["config.x"] <= 0.5, "status"] != "stopped").any()


def test_a_trial_that_trains_to_its_budget_despite_the_rule_is_ok_and_steps_must_increase(
        monkeypatch):
    def stubborn(trial):
        for step in range(1, int(trial.budget) + 1):
            trial.report(step, 1.0 / step + trial.config["x"])
            trial.should_stop()  # asked, and ignored
        return trial.curve[-1][1]

    res = lowfi.minimize(stubborn, {"x": (0.0, 1.0)}, "random", max_budget=9,
                         max_evaluations=6, seed=0, progress=False,
                         stopping=lowfi.curves.RungStopping(min_step=1))
    assert (res.trials["status"] == "ok").all()  # every one reached its budget

    def backwards(trial):
        trial.report(2, 0.5)
        trial.report(1, 0.4)
        return 0.4

    from lowfi.core import trial as trial_module

    monkeypatch.setattr(trial_module, "_WARNED_ORDER", False)  # once per process
    with pytest.warns(RuntimeWarning, match="reported step 1 after step 2; steps must increase"):
        lowfi.minimize(backwards, {"x": (0.0, 1.0)}, "random", max_evaluations=1,
                       progress=False, stopping=lowfi.curves.MedianStopping())
