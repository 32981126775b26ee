"""Model-free stopping rules: Vizier's median rule and ASHA's stopping variant."""

import pickle

import numpy as np
import pytest

import lowfi
from lowfi.core.history import History
from lowfi.curves import MedianStopping, RungStopping
from lowfi.space import Space


def history(curves, budget=27.0, status="ok"):
    h = History(Space({"x": (0.0, 1.0)}))
    for i, c in enumerate(curves):
        t = lowfi.Trial(i, {"x": 0.5}, budget, i)
        h.finish(t, lowfi.Result(c[-1][1], status=status, curve=list(c)))
    return h


def trial_with(rule, h, tid=100, budget=27.0):
    t = lowfi.Trial(tid, {"x": 0.3}, budget, tid)
    t._rule = rule.for_trial(t, h)
    return t


def const(value, n=27):
    return [(s, value) for s in range(1, n + 1)]


def test_median_rule_compares_best_so_far_with_median_of_running_averages():
    h = history([const(1.0), const(2.0), const(3.0)])
    t = trial_with(MedianStopping(min_trials=3), h)
    t.report(1, 2.5)  # best so far 2.5 > median 2.0 of the running averages
    assert t.should_stop()
    assert t._rule.describe(t) == {"rule": "median", "step": 1.0, "best_so_far": 2.5,
                                   "median": 2.0, "threshold": 2.0, "reference_trials": 3,
                                   "decision": "stop", "reason": "best so far 2.5 worse than "
                                   "the median 2 of 3 trials at step 1"}
    t = trial_with(MedianStopping(min_trials=3), h)
    t.report(1, 1.5)
    assert not t.should_stop()
    # running averages, not last values: a curve 4, 0, 0 has average 4/3 at step 3
    h = history([[(1, 4.0), (2, 0.0), (3, 0.0)], const(1.0, 3), const(2.0, 3)])
    t = trial_with(MedianStopping(min_trials=3), h)
    for s, v in ((1, 1.45), (2, 1.45), (3, 1.45)):
        t.report(s, v)
        stop = t.should_stop()
    assert stop and t._rule.last["median"] == pytest.approx(4 / 3)  # median(4/3, 1, 2)


def test_median_rule_needs_min_trials_that_reached_the_step_and_respects_grace():
    h = history([const(1.0), const(2.0), const(3.0, 2)])  # the third stopped at step 2
    rule = MedianStopping(min_trials=3)
    t = trial_with(rule, h)
    for s in range(1, 6):
        t.report(s, 10.0)
        if t.should_stop():
            break
    assert s == 1  # at steps 1-2 three trials count
    t = trial_with(rule, h)
    t.report(5, 10.0)  # only two trials reached step 5
    assert not t.should_stop()
    t = trial_with(MedianStopping(grace=3, min_trials=1), h)
    t.report(2, 10.0)
    assert not t.should_stop()
    t.report(3, 10.0)
    assert t.should_stop()
    t = trial_with(MedianStopping(direction="maximize", min_trials=3), h)
    t.report(1, 10.0)  # best accuracy so far, above the median
    assert not t.should_stop()
    with pytest.raises(ValueError, match="min_trials: got 0"):
        MedianStopping(min_trials=0)


def test_rung_rule_keeps_the_best_third_at_each_rung():
    rule = RungStopping(min_step=1, eta=3)
    assert rule.rungs(27) == [1, 3, 9]
    others = [[(1, v), (3, v / 2)] for v in np.linspace(0.1, 0.9, 9)]
    h = history(others)
    cutoff = float(np.quantile(np.linspace(0.1, 0.9, 9), 1 / 3))
    t = trial_with(rule, h)
    t.report(1, cutoff - 0.01)
    assert not t.should_stop()  # in the best third at rung 1
    t.report(2, 5.0)  # between rungs: nothing to decide
    assert not t.should_stop()
    t.report(3, 5.0)  # rung 3: far worse than everyone's value there
    assert t.should_stop()
    assert t._rule.describe(t)["rung"] == 3
    t = trial_with(rule, h)
    t.report(1, cutoff + 0.01)
    assert t.should_stop()
    # maximize: the top third means the largest values
    t = trial_with(RungStopping(min_step=1, eta=3, direction="maximize"), h)
    t.report(1, 0.85)
    assert not t.should_stop()


def test_rung_rule_sees_running_curves_but_not_its_own_and_waits_for_min_trials():
    h = history([])
    h.running_curves[7] = [(1, 0.1)]
    h.running_curves[100] = [(1, 0.0)]  # the trial itself
    t = trial_with(RungStopping(min_step=1, eta=3), h, tid=100)
    t.report(1, 0.5)
    assert t.should_stop()  # one other trial (running) had 0.1 at rung 1
    t = trial_with(RungStopping(min_step=1, eta=3, min_trials=2), h, tid=100)
    t.report(1, 0.5)
    assert not t.should_stop()
    # the published state reaches a rule already on a worker
    rule = trial_with(RungStopping(min_step=1, eta=3), history([]), tid=100)._rule
    state = RungStopping(min_step=1, eta=3).shared(h)
    rule = pickle.loads(pickle.dumps(rule))
    rule.update(state)
    t = lowfi.Trial(100, {"x": 0.3}, 27.0, 100)
    t._rule = rule
    t.report(1, 0.5)
    assert t.should_stop()
    with pytest.raises(ValueError, match="eta: got 1"):
        RungStopping(eta=1)


@pytest.mark.parametrize("rule", [RungStopping(min_step=1, eta=3), MedianStopping(min_trials=3)])
def test_rules_save_steps_in_a_run_and_keep_good_trials(rule):
    def objective(trial):
        a = trial.config["x"]
        for step in range(1, int(trial.budget) + 1):
            trial.report(step, a + 1.0 / step)
            if trial.should_stop():
                break
        return trial.curve[-1][1]

    res = lowfi.minimize(objective, {"x": (0.0, 1.0)}, "random", max_budget=27,
                         max_evaluations=40, stopping=rule, progress=False, seed=1)
    df = res.trials
    steps = df["curve"].map(len)
    stopped = df[df["status"] == "stopped"]
    assert len(stopped) >= 15 and steps.sum() < 0.6 * 40 * 27
    done = df[df["status"] == "ok"]
    # the configurations that ran to the end are better than the stopped ones on average
    assert done["config.x"].mean() < stopped["config.x"].mean()
    assert res.best_config["x"] == df["config.x"].min()  # the best sampled config ran to the end


def slow_curve(trial):
    import time

    for step in range(1, 10):
        trial.report(step, trial.config["x"] + 1.0 / step)
        if trial.should_stop():
            break
        time.sleep(0.1)
    return trial.curve[-1][1]


def test_rung_rule_stops_trials_run_in_worker_processes():
    """The rule decides for trials running in worker processes and says why in their info
    (how many it stops depends on which curves had reached the driver when each checked)."""
    res = lowfi.minimize(slow_curve, {"x": (0.0, 1.0)}, "random", max_budget=9,
                         max_evaluations=8, n_workers=2, executor="processes",
                         stopping=RungStopping(min_step=1, eta=3), seed=3, progress=False)
    df = res.trials
    stopped = df[df["status"] == "stopped"]
    assert len(stopped) >= 1  # how many depends on which curves had streamed when each checked
    assert all(i["rule"] == "rung" and i["reference_trials"] >= 1 for i in stopped["info"])
    assert res.best_config["x"] == df["config.x"].min()


def test_a_trial_at_its_final_step_is_not_stopped():
    h = history([const(1.0), const(2.0), const(3.0)])
    t = trial_with(MedianStopping(min_trials=3), h, budget=3.0)
    t.report(1, 1.5)
    t.report(2, 1.5)
    assert not t.should_stop()
    t.report(3, 10.0)  # bad, but the trial is done: stopping it would save nothing
    assert not t.should_stop() and not t.stopped
    early = trial_with(MedianStopping(min_trials=3), h, budget=3.0)
    early.report(2, 10.0)
    assert early.should_stop()  # before the last step the rule decides as before


def test_median_rule_continues_on_ties_and_does_not_judge_steps_no_trial_reached():
    acc = 26 / 450
    h = history([const(acc, 9), const(acc, 9), const(acc, 9)], budget=9.0)
    t = trial_with(MedianStopping(min_trials=3), h, budget=27.0)
    t.report(1, acc + 4e-17)  # the same accuracy, computed another way: not worse
    assert not t.should_stop()
    worse = trial_with(MedianStopping(min_trials=3), h, budget=27.0)
    worse.report(1, acc + 0.01)  # clearly worse than the median: stopped
    assert worse.should_stop()
    late = trial_with(MedianStopping(min_trials=3), h, budget=27.0)
    for s in range(1, 10):
        late.report(s, acc)
        assert not late.should_stop()
    late.report(10, 1.0)  # no completed trial reached step 10: no median to compare with
    assert not late.should_stop()
