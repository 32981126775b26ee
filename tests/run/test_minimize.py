"""The run loop: stop conditions, failures as values, bad input, trial API, journal."""

import math
import os

import numpy as np
import pytest

import lowfi
from lowfi import Result, StoppingRule
from lowfi.storage import load_trials

SPACE = {"x": (0.0, 1.0), "c": ["a", "b"]}


def loss(config, budget):
    return (config["x"] - 0.3) ** 2 + 0.1 * (config["c"] == "a") + 1.0 / budget


def test_minimize_returns_best_and_trials_frame():
    res = lowfi.minimize(loss, SPACE, "hyperband", min_budget=1, max_budget=9, max_evaluations=40,
                         progress=False, seed=0)
    df = res.trials
    assert len(df) == 40 and set(df["status"]) == {"ok"}
    assert {"trial_id", "config_id", "budget", "loss", "cost", "start", "end", "config.x"} <= set(df.columns)
    top = df[df["budget"] == df["budget"].max()]
    assert res.best_loss == pytest.approx(top["loss"].min())
    assert res.best_config == lowfi.Space(SPACE).validate(res.best_config)


def test_total_budget_and_walltime_stop_the_run():
    res = lowfi.minimize(loss, SPACE, "hyperband", min_budget=1, max_budget=9, total_budget=100,
                         progress=False)
    assert 100 <= res.trials["budget"].sum() < 100 + 9
    assert res.stop_reason == "total_budget"

    def slow(config, budget):
        import time

        time.sleep(0.05)
        return loss(config, budget)

    res = lowfi.minimize(slow, SPACE, "random", walltime=0.4, progress=False)
    assert res.stop_reason == "walltime"
    assert 2 <= (res.trials["status"] == "ok").sum() <= 12


@pytest.mark.parametrize("bad, reason", [
    (lambda c, b: float("nan"), "not finite"),
    (lambda c, b: math.inf, "not finite"),
    (lambda c, b: "0.3", "objective must return"),
    (lambda c, b: None, "objective must return"),
])
@pytest.mark.filterwarnings("ignore:minimize. all")
def test_bad_returns_become_failed_trials(bad, reason):
    res = lowfi.minimize(bad, SPACE, "random", max_evaluations=3, progress=False,
                         error_on_all_failed=False)
    assert list(res.trials["status"]) == ["failed"] * 3
    assert all(reason in e for e in res.trials["error"])
    assert res.best_loss is None


def test_crash_keeps_traceback_and_run_goes_on():
    def sometimes(config, budget):
        if config["c"] == "a":
            raise RuntimeError("diverged")
        return config["x"]

    res = lowfi.minimize(sometimes, SPACE, "random", max_evaluations=20, progress=False, seed=0)
    failed = res.trials[res.trials["status"] == "failed"]
    assert len(failed) > 0 and len(failed) < 20
    assert all("RuntimeError: diverged" in e and "Traceback" in e for e in failed["error"])
    assert res.best_config["c"] == "b"


@pytest.mark.filterwarnings("ignore:minimize. all")
def test_max_failures_stops():
    res = lowfi.minimize(lambda c, b: 1 / 0, SPACE, "random", max_evaluations=50, max_failures=5,
                         progress=False, error_on_all_failed=False)
    assert res.stop_reason == "max_failures" and len(res.trials) == 5


@pytest.mark.parametrize("kwargs, arg", [
    (dict(optimizer="nope"), "optimizer"),
    (dict(optimizer="hyperband", min_budget=0, max_budget=9), "min_budget"),
    (dict(optimizer="hyperband", min_budget=10, max_budget=9), "min_budget"),
    (dict(optimizer="hyperband", min_budget=1, max_budget=9, eta=1), "eta"),
    (dict(optimizer="hyperband"), "min_budget"),
    (dict(optimizer="random", executor="gpu-cloud"), "executor"),
    (dict(optimizer="random", n_workers=0), "n_workers"),
    (dict(optimizer="random", max_evaluations=-3), "max_evaluations"),
    (dict(optimizer="random", total_budget=0), "total_budget"),
])
def test_bad_arguments_name_themselves(kwargs, arg):
    kwargs.setdefault("max_evaluations", 3)
    with pytest.raises(ValueError, match=arg):
        lowfi.minimize(loss, SPACE, progress=False, **kwargs)


def test_empty_space_and_bad_objective():
    from ConfigSpace import ConfigurationSpace

    with pytest.raises(ValueError, match="space"):
        lowfi.minimize(loss, ConfigurationSpace(), "random", max_evaluations=2, progress=False)
    with pytest.raises(TypeError, match="objective"):
        lowfi.minimize(42, SPACE, "random", max_evaluations=2, progress=False)


def test_trial_objective_report_and_checkpoints_across_rungs(tmp_path):
    seen = {}

    def objective(trial):
        path = os.path.join(trial.checkpoint_dir, "epochs.txt")
        start = int(open(path).read()) if os.path.exists(path) else 0
        for step in range(start + 1, int(trial.budget) + 1):
            trial.report(step, 1.0 / step)
        with open(path, "w") as fh:
            fh.write(str(int(trial.budget)))
        seen.setdefault(trial.config_id, []).append((start, trial.budget))
        return trial.config["x"] + 1.0 / trial.budget

    res = lowfi.minimize(objective, SPACE, "sh", min_budget=1, max_budget=9, max_evaluations=13,
                         storage=str(tmp_path / "run.db"), progress=False)
    promoted = [v for v in seen.values() if len(v) > 1]
    assert promoted and all(v[1][0] == v[0][1] for v in promoted)  # continued from checkpoint
    curves = res.trials["curve"].dropna()
    assert len(curves) == 13 and all(len(c) >= 1 for c in curves)


def test_objective_with_config_budget_and_trial():
    def objective(config, budget, trial):
        assert trial.config == config and trial.budget == budget
        trial.report(1, 0.5)
        return config["x"] + 1.0 / budget

    res = lowfi.minimize(objective, SPACE, "hyperband", min_budget=1, max_budget=9,
                         max_evaluations=10, progress=False, seed=0)
    assert set(res.trials["status"]) == {"ok"}
    assert all(c == [(1.0, 0.5)] for c in res.trials["curve"])
    for bad, match in ((lambda: 0, "takes no positional"),
                       (lambda a, b, c, d: 0, "takes 4 required positional")):
        with pytest.raises(TypeError, match=match):
            lowfi.minimize(bad, SPACE, "random", max_evaluations=1, progress=False)


class StopAfter(StoppingRule):
    def __init__(self, n):
        self.n = n

    def should_stop(self, trial):
        return len(trial.curve) >= self.n

    def describe(self, trial):
        return {"predicted": 0.0}


def test_stopping_rule_stops_trials_and_is_recorded():
    def objective(trial):
        for step in range(1, 20):
            trial.report(step, 1.0 / step)
            if trial.should_stop():
                break
        return trial.curve[-1][1]

    res = lowfi.minimize(objective, SPACE, "random", max_evaluations=4, progress=False, stopping=StopAfter(3))
    assert set(res.trials["status"]) == {"stopped"}
    assert all(len(c) == 3 for c in res.trials["curve"])
    assert all(i["predicted"] == 0.0 for i in res.trials["info"])


def test_storage_refuses_to_overwrite_and_records_everything(tmp_path):
    db = str(tmp_path / "r.db")
    lowfi.minimize(loss, SPACE, "random", max_evaluations=5, storage=db, progress=False)
    assert len(load_trials(db)) == 5
    with pytest.raises(ValueError, match="resume=True"):
        lowfi.minimize(loss, SPACE, "random", max_evaluations=5, storage=db, progress=False)


def test_benchmark_objects_bring_their_space_and_budgets():
    from lowfi.benchmarks.base import Benchmark

    class Toy(Benchmark):
        space = {"x": (0.0, 1.0)}
        min_budget, max_budget = 1.0, 9.0

        def evaluate(self, config, budget, seed=None):
            return Result(config["x"], cost=budget)

    res = lowfi.minimize(Toy(), optimizer="hyperband", max_evaluations=20, progress=False,
                         executor="simulated", n_workers=3)
    assert res.trials["budget"].max() <= 9 and res.stats["virtual_time"] > 0


def test_same_seed_same_run():
    a = lowfi.minimize(loss, SPACE, "hyperband", min_budget=1, max_budget=9, max_evaluations=30,
                       progress=False, seed=5).trials
    b = lowfi.minimize(loss, SPACE, "hyperband", min_budget=1, max_budget=9, max_evaluations=30,
                       progress=False, seed=5).trials
    assert np.allclose(a["loss"], b["loss"]) and list(a["config.c"]) == list(b["config.c"])


def test_runs_that_cannot_give_an_incumbent_say_why():
    with pytest.warns(UserWarning, match="all 3 trials failed.*receives the lowfi.Trial"):
        res = lowfi.minimize(lambda c: c["x"], SPACE, "random", max_evaluations=3,
                             progress=False, error_on_all_failed=False)
    assert res.best_loss is None
    with pytest.raises(lowfi.run.loop.TrialsFailedError, match="All 3 trials failed.*receives"):
        lowfi.minimize(lambda c: c["x"], SPACE, "random", max_evaluations=3, progress=False)
    with pytest.warns(UserWarning, match="returns tuples .* Return a float"):
        lowfi.minimize(lambda c, b: (c["x"], 1.0), SPACE, "random", max_evaluations=3,
                       progress=False)
    with pytest.warns(UserWarning, match="stopping= has no effect"):
        lowfi.minimize(loss, SPACE, "random", max_evaluations=2, stopping=StopAfter(1),
                       progress=False)


def _epochs(trial):
    for step in range(1, int(trial.budget) + 1):
        trial.report(step, trial.config["x"] + 1.0 / step)
        if trial.should_stop():
            break
    return trial.curve[-1][1]


def test_total_budget_gives_back_what_stopped_trials_did_not_use(tmp_path):
    kw = dict(min_budget=9, max_budget=9, progress=False, stopping=StopAfter(3))
    res = lowfi.minimize(_epochs, SPACE, "random", total_budget=27, **kw)
    # each trial is asked 9 and stopped after 3 steps: 27 buys 9 trials, not 3
    assert len(res.trials) == 9 and set(res.trials["status"]) == {"stopped"}
    assert res.stats["budget_spent"] == 27
    db = str(tmp_path / "r.db")
    lowfi.minimize(_epochs, SPACE, "random", total_budget=18, storage=db, **kw)
    resumed = lowfi.minimize(_epochs, SPACE, "random", total_budget=27, storage=db,
                             resume=True, **kw)
    assert len(resumed.trials) == 9 and resumed.stats["budget_spent"] == 27  # counted on resume
    no_rule = lowfi.minimize(_epochs, SPACE, "random", total_budget=27, min_budget=9,
                             max_budget=9, progress=False)
    assert len(no_rule.trials) == 3  # trials that ran to their budget use all of it
