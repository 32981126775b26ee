"""The run loop in parts: callbacks, logging, maximize, all-failed errors, the status enum,
trial records apart from handles, and stopping rules that respect promotions."""

import dataclasses
import logging
import pickle

import pytest

import lowfi
from lowfi.core.history import History
from lowfi.core.trial import Status, TrialRecord
from lowfi.curves import RungStopping
from lowfi.run.callbacks import Callback
from lowfi.run.loop import TrialsFailedError
from lowfi.space import Space

SPACE = {"x": (0.0, 1.0)}


def loss(config, budget):
    return (config["x"] - 0.3) ** 2 + 1.0 / budget


# ------------------------------------------------------------------ status enum, records
def test_status_enum_compares_equal_to_the_old_strings():
    assert Status.OK == "ok" and Status.FAILED == "failed" and Status.STOPPED == "stopped"
    assert Status.RUNNING == "running" and Status.CANCELLED == "cancelled"
    assert f"{Status.STOPPED}" == "stopped" and str(Status.OK) == "ok"
    r = lowfi.Result(1.0, status="stopped")
    assert r.status is Status.STOPPED
    with pytest.raises(ValueError, match="status: got 'done'"):
        lowfi.Result(1.0, status="done")
    res = lowfi.minimize(loss, SPACE, "random", max_evaluations=3, progress=False)
    assert set(res.trials["status"]) == {"ok"}


def test_ask_gives_an_immutable_record_and_objectives_get_a_handle():
    opt = lowfi.optimizers.get("random", SPACE, seed=0)
    rec = opt.ask()
    assert isinstance(rec, TrialRecord)
    with pytest.raises(dataclasses.FrozenInstanceError):
        rec.budget = 3.0
    assert opt.pending_trials() == [rec] and opt.is_pending(rec.id)
    seen = []

    def objective(trial):
        seen.append(trial)
        trial.report(1, 0.5)
        return trial.config["x"]

    lowfi.minimize(objective, SPACE, "random", max_evaluations=2, progress=False)
    t = seen[0]
    assert isinstance(t, lowfi.Trial) and isinstance(t.record, TrialRecord)
    assert (t.id, t.budget, t.config_id) == (t.record.id, t.record.budget, t.record.config_id)
    assert t.checkpoint_dir and t.curve == [(1.0, 0.5)] and t.should_stop() is False
    # a handle without transport pickles with its record (it travels to worker processes)
    h = lowfi.Trial.from_record(rec, checkpoint_dir="/tmp/x")
    assert pickle.loads(pickle.dumps(h)).record == rec


def test_report_curve_reaches_running_curves_of_pending_trials_only():
    opt = lowfi.optimizers.get("random", SPACE, seed=0)
    rec = opt.ask()
    opt.report_curve(rec.id, [(1, 0.5)])
    opt.report_curve(999, [(1, 0.5)])  # not pending: ignored
    assert opt.history.running_curves == {rec.id: [(1.0, 0.5)]}
    opt.tell(rec, 0.4)
    assert opt.history.running_curves == {} and not opt.is_pending(rec.id)


# ------------------------------------------------------------------ callbacks
def test_callbacks_are_called_after_each_finished_trial_and_can_stop_the_run():
    calls = []

    def cb(run, finished):
        calls.append((finished.trial.id, finished.result.status, run.state.n_told))
        if run.state.n_told == 4:
            run.stop("enough")

    class Hooks(Callback):
        def __init__(self):
            self.events = []

        def on_start(self, run):
            self.events.append("start")

        def on_end(self, run):
            self.events.append("end")

    hooks = Hooks()
    res = lowfi.minimize(loss, SPACE, "random", max_evaluations=20, progress=False,
                         callbacks=[cb, hooks])
    assert [c[0] for c in calls] == [0, 1, 2, 3]
    assert [c[2] for c in calls] == [1, 2, 3, 4]  # told (and journaled) before the callback
    assert res.stop_reason == "enough" and len(res.trials) == 4
    assert hooks.events == ["start", "end"]
    with pytest.raises(TypeError, match="callbacks: got"):
        lowfi.minimize(loss, SPACE, "random", max_evaluations=2, callbacks=["x"])


def test_overhead_column_still_filled_by_the_built_in_timer():
    res = lowfi.minimize(loss, SPACE, "random", max_evaluations=5, progress=False)
    assert (res.trials["overhead"] >= 0).all() and res.trials["overhead"].notna().all()


# ------------------------------------------------------------------ logging
def test_one_info_line_per_trial_and_a_warning_per_failure(caplog):
    def sometimes(config, budget):
        if config["x"] > 0.5:
            raise RuntimeError("diverged")
        return config["x"]

    with caplog.at_level(logging.INFO, logger="lowfi"):
        res = lowfi.minimize(sometimes, SPACE, "random", max_evaluations=8, progress=False)
    recs = [r for r in caplog.records if r.name == "lowfi"]
    n_failed = int((res.trials["status"] == "failed").sum())
    assert 0 < n_failed < 8
    assert sum(r.levelno == logging.WARNING for r in recs) == n_failed
    assert sum(r.levelno == logging.INFO for r in recs) == 8 - n_failed
    assert any("RuntimeError: diverged" in r.getMessage() for r in recs
               if r.levelno == logging.WARNING)


def test_lowfi_logger_is_silent_by_default(capfd):
    assert any(isinstance(h, logging.NullHandler) for h in logging.getLogger("lowfi").handlers)
    lowfi.minimize(lambda c, b: 1 / 0 if c["x"] > 0.5 else c["x"], SPACE, "random",
                   max_evaluations=6, progress=False)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


# ------------------------------------------------------------------ maximize
def test_maximize_finds_the_largest_score_and_reports_it_in_its_sign():
    def score(config, budget):
        return -((config["x"] - 0.7) ** 2)

    res = lowfi.minimize(score, SPACE, "random", max_evaluations=30, progress=False,
                         direction="maximize", seed=1)
    ok = res.trials[res.trials["status"] == "ok"]
    assert res.direction == "maximize"
    assert res.best_loss == pytest.approx(ok["score"].max())
    assert (ok["score"] == -ok["loss"]).all()
    assert abs(res.best_config["x"] - 0.7) < 0.15
    with pytest.raises(ValueError, match="direction: got 'up'"):
        lowfi.minimize(score, SPACE, "random", max_evaluations=2, direction="up")


def test_maximize_negates_reported_curves_for_the_stopping_rule(tmp_path, capsys):
    def objective(trial):
        for step in range(1, int(trial.budget) + 1):
            trial.report(step, trial.config["x"])  # a score: higher is better
            if trial.should_stop():
                break
        return trial.config["x"]

    res = lowfi.minimize(objective, SPACE, "random", min_budget=9, max_budget=9,
                         max_evaluations=12, progress=False, direction="maximize",
                         stopping=RungStopping(min_step=1, eta=3), seed=0,
                         storage=str(tmp_path / "run.db"))
    t = res.trials
    stopped, done = t[t["status"] == "stopped"], t[t["status"] == "ok"]
    assert len(stopped) and len(done)
    # the rule stops low scores, never the best one
    assert stopped["score"].max() <= done["score"].max()
    assert res.best_loss == pytest.approx(done["score"].max())
    again = lowfi.resume(str(tmp_path / "run.db"), objective, max_evaluations=14,
                         progress=False)
    assert again.direction == "maximize" and again.best_loss >= res.best_loss
    from lowfi.cli import main, run_overview

    capsys.readouterr()
    assert main(["show", str(tmp_path / "run.db")]) == 0
    out = capsys.readouterr().out
    assert "best score" in out and "maximized" in out and "stopped early" in out
    row = run_overview(str(tmp_path)).iloc[0]
    assert row["direction"] == "maximize" and row["best"] == pytest.approx(again.best_loss)


# ------------------------------------------------------------------ every trial failed
def test_all_failed_raises_with_the_first_and_last_traceback():
    calls = []

    def broken(config, budget):
        calls.append(1)
        raise ValueError(f"bad call {len(calls)}")

    with pytest.raises(TrialsFailedError) as info:
        lowfi.minimize(broken, SPACE, "random", max_evaluations=4, progress=False)
    msg = str(info.value)
    assert msg.startswith("All 4 trials failed")
    assert "bad call 1" in msg and "bad call 4" in msg and "Traceback" in msg
    assert "error_on_all_failed=False" in msg
    assert len(info.value.result.trials) == 4
    with pytest.warns(UserWarning, match="all 4 trials failed"):
        res = lowfi.minimize(broken, SPACE, "random", max_evaluations=4, progress=False,
                             error_on_all_failed=False)
    assert res.best_loss is None


# ------------------------------------------------------------------ promotions
def _history_with_promoted_config():
    """Config 5 finished at 9 epochs (promoted from rungs 1 and 3); eight other configs
    reported much better epoch-1 values."""
    h = History(Space(SPACE))
    for i in range(8):
        t = lowfi.Trial(i, {"x": 0.1}, 1.0, i)
        h.finish(t, lowfi.Result(0.1, curve=[(1.0, 0.1)]))
    t = lowfi.Trial(20, {"x": 0.9}, 9.0, 5)
    h.finish(t, lowfi.Result(0.5, curve=[(float(s), 0.9 - 0.04 * s) for s in range(1, 10)]))
    return h


def test_rung_rule_does_not_judge_rungs_a_promoted_config_passed():
    h = _history_with_promoted_config()
    assert h.reached(5) == 9.0 and h.reached(0) == 1.0 and h.reached(42) == 0.0
    rule = RungStopping(min_step=1, eta=3)
    t = lowfi.Trial(30, {"x": 0.9}, 27.0, 5, rule=rule.for_trial(
        TrialRecord(30, {"x": 0.9}, 27.0, 5), h), reached=h.reached(5))
    assert t.rule.passed == [1.0, 3.0, 9.0]
    # the checkpoint puts back epochs 1..9 (epoch 1 is far worse than the others' 0.1) ...
    t.restore_curve([(float(s), 0.9 - 0.04 * s) for s in range(1, 10)])
    t.report(10, 0.5)
    assert not t.should_stop()  # ... and epoch 10 does not re-judge rung 1
    # a fresh configuration with that epoch-1 value is stopped at rung 1
    fresh = lowfi.Trial(31, {"x": 0.9}, 27.0, 31,
                        rule=rule.for_trial(TrialRecord(31, {"x": 0.9}, 27.0, 31), h))
    fresh.report(1, 0.86)
    assert fresh.should_stop()


def test_handle_never_asks_the_rule_at_steps_an_earlier_rung_reached():
    class AlwaysStop(lowfi.StoppingRule):
        def should_stop(self, trial):
            return True

    t = lowfi.Trial(0, {}, 27.0, 0, rule=AlwaysStop(), reached=9.0)
    for s in range(1, 10):  # an objective that restarts from scratch on promotion
        t.report(s, 1.0)
        assert not t.should_stop()
    t.report(10, 1.0)
    assert t.should_stop()


def test_stopped_trial_records_budget_reached_and_is_never_the_incumbent():
    h = History(Space(SPACE))
    h.finish(lowfi.Trial(0, {"x": 0.2}, 27.0, 0), lowfi.Result(0.5))
    h.finish(lowfi.Trial(1, {"x": 0.4}, 27.0, 1),
             lowfi.Result(0.01, status="stopped", curve=[(1.0, 0.2), (10.0, 0.01)]))
    assert h.records[1].budget_reached == 10.0 and h.records[0].budget_reached == 27.0
    assert h.incumbent(27.0).trial_id == 0


def test_asha_with_rung_stopping_and_torch_checkpoint_respects_promotions(tmp_path):
    torch = pytest.importorskip("torch")
    from lowfi.integrations.torch import TorchCheckpoint

    def objective(trial):
        model = torch.nn.Linear(1, 1)
        ckpt = TorchCheckpoint(trial, model)
        for epoch in ckpt.epochs():
            # epoch-1 values spread widely; later epochs favour x near 0.5
            value = abs(trial.config["x"] - 0.5) + (1.0 - trial.config["x"]) / epoch
            if ckpt.report(epoch, value):
                break
        return ckpt.last_value

    res = lowfi.minimize(objective, SPACE, "asha", min_budget=1, max_budget=27, eta=3,
                         stopping=RungStopping(min_step=1, eta=3), max_evaluations=60,
                         progress=False, seed=3, storage=str(tmp_path / "run.db"))
    t = res.trials.sort_values("trial_id")
    assert {"status", "budget_reached"} <= set(t.columns)
    reached: dict[int, float] = {}
    promoted = 0
    for row in t.itertuples():
        before = reached.get(row.config_id, 0.0)
        promoted += before > 0
        if row.status == "stopped":
            # judged on a rung past what the configuration had reached before (before the
            # fix, configurations promoted from 3 to 9 epochs were judged at rung 3 again)
            assert row.info["rung"] > before
            assert before < row.budget_reached <= row.budget
        if row.status in ("ok", "stopped"):
            reached[row.config_id] = max(before, row.budget_reached)
    assert promoted >= 10  # the run has promotions that continue from checkpoints
    ok = t[t["status"] == "ok"]
    top = ok[ok["budget"] == ok["budget"].max()]
    assert res.best_loss == pytest.approx(top["loss"].min())
    inc_rows = t[(t["loss"] == res.best_loss) & (t["budget"] == top["budget"].iloc[0])]
    assert (inc_rows["status"] == "ok").any()


def test_progress_bar_writes_to_stderr_only(capfd):
    lowfi.minimize(loss, SPACE, "random", max_evaluations=3, progress=True)
    out, err = capfd.readouterr()
    assert out == "" and "evals 3" in err


def test_trial_timeout_reaches_the_executor():
    with pytest.raises(ValueError, match="trial_timeout: got 5"):  # inline cannot end a trial
        lowfi.minimize(loss, SPACE, "random", max_evaluations=2, progress=False,
                       trial_timeout=5, executor="inline")
    with pytest.raises(ValueError, match="trial_timeout: got -1"):
        lowfi.minimize(loss, SPACE, "random", max_evaluations=2, trial_timeout=-1)


def test_an_error_in_a_callback_ends_the_run_and_leaves_it_resumable(tmp_path):
    path = str(tmp_path / "run.db")

    def boom(run, finished):
        if finished.trial.id == 2:
            raise RuntimeError("callback broke")

    with pytest.raises(RuntimeError, match="callback broke"):
        lowfi.minimize(loss, SPACE, "random", max_evaluations=6, progress=False, storage=path,
                       callbacks=[boom])
    res = lowfi.resume(path, loss, max_evaluations=6, progress=False)
    assert sorted(res.trials["trial_id"]) == list(range(6))
    assert set(res.trials["status"]) == {"ok"}


def test_study_maximizes_with_ask_tell_and_optimize(tmp_path):
    path = str(tmp_path / "s.db")
    study = lowfi.Study(path, SPACE, "random", direction="maximize", seed=0)
    for _ in range(5):
        t = study.ask()
        study.tell(t, t.config["x"])  # a score
    xs = [study.optimizer.history.records[i].config["x"] for i in range(5)]
    assert study.best_loss == pytest.approx(max(xs))
    study.close()
    again = lowfi.Study(path)  # the stored direction
    assert again.direction == "maximize"
    res = again.optimize(lambda c, b: c["x"], max_evaluations=10, progress=False)
    assert res.direction == "maximize" and res.best_loss == pytest.approx(res.trials["score"].max())
    again.close()
    with pytest.raises(ValueError, match="direction: got 'minimize'"):
        lowfi.Study(path, direction="minimize")


def test_inline_curves_reach_the_optimizer_while_the_trial_runs(tmp_path):
    # an in-process executor gets a channel from the runner: reported points are journaled
    # and given to the optimizer (report_curve) before the trial's result comes back
    opt = lowfi.optimizers.get("random", SPACE, min_budget=1, max_budget=1, seed=0)
    seen = []

    def objective(config, budget, trial):
        trial.report(1, 0.5)
        seen.append(list(opt.history.running_curves.get(trial.id, [])))
        return 0.5

    lowfi.minimize(objective, SPACE, opt, max_evaluations=2, executor="inline",
                   storage=tmp_path / "run.db", progress=False)
    assert seen == [[(1.0, 0.5)], [(1.0, 0.5)]]
    curves = lowfi.storage.load_trials(tmp_path / "run.db")["curve"].tolist()
    assert all(list(map(tuple, c)) == [(1.0, 0.5)] for c in curves)


def test_a_callback_object_may_have_hooks_only():
    class Counter:  # no __call__: only hooks
        def __init__(self):
            self.events = []

        def on_start(self, run):
            self.events.append("start")

        def on_end(self, run):
            self.events.append("end")

    c = Counter()
    lowfi.minimize(loss, SPACE, "random", max_evaluations=2, callbacks=[c], progress=False)
    assert c.events == ["start", "end"]
    with pytest.raises(TypeError, match="callbacks: got .*objects with hooks"):
        lowfi.minimize(loss, SPACE, "random", max_evaluations=2, callbacks=[object()],
                       progress=False)


def test_a_broken_objective_stops_the_run_after_its_first_failures(tmp_path):
    calls = []

    def broken(config, budget):
        calls.append(1)
        return config["y"]  # no such hyperparameter

    db = tmp_path / "b.db"
    with pytest.raises(TrialsFailedError, match=r"first 10 trials of this session all failed"
                       r"(.|\n)*KeyError: 'y'") as info:
        lowfi.minimize(broken, SPACE, "random", storage=db, progress=False)  # no limit at all
    assert len(calls) == 10 and info.value.result.stop_reason.startswith("every trial")
    # a run with earlier successes is judged by this session's trials alone
    study = lowfi.Study(tmp_path / "c.db", SPACE, "random", max_budget=1)
    for _ in range(3):
        t = study.ask()
        study.tell(t, t.config["x"])
    study.close()
    calls.clear()
    with pytest.raises(TrialsFailedError, match="first 10 trials of this session"):
        lowfi.resume(tmp_path / "c.db", broken, max_evaluations=100, progress=False)
    assert len(calls) == 10
    # a failure among successes does not stop it, and error_on_all_failed=False never does
    flaky = lambda c, b: 1 / 0 if c["x"] < 0.5 else c["x"]  # noqa: E731
    res = lowfi.minimize(flaky, SPACE, "random", max_evaluations=30, progress=False, seed=1)
    assert len(res.trials) == 30
    with pytest.warns(UserWarning, match="all 15 trials failed"):
        lowfi.minimize(broken, SPACE, "random", max_evaluations=15, progress=False,
                       error_on_all_failed=False)
