import json
import pickle

import numpy as np
import pytest

import lowfi
from lowfi.core.history import History
from lowfi.curves.stopping import DomhanStopping, incumbent_from_history
from lowfi.space import Space

T = 60
STEPS = np.arange(1, T + 1)


def history_with_incumbent(loss=0.2):
    h = History(Space({"x": (0.0, 1.0)}))
    t = lowfi.Trial(0, {"x": 0.5}, float(T), 0)
    h.finish(t, lowfi.Result(loss))
    t2 = lowfi.Trial(1, {"x": 0.1}, float(T), 1)
    h.finish(t2, lowfi.Result(0.01, status="stopped"))  # stopped losses never count
    return h


def run(rule, curve, trial_id=5):
    trial = lowfi.Trial(trial_id, {"x": 0.3}, float(T), trial_id)
    trial._rule = rule.for_trial(trial, history_with_incumbent())
    for s, v in zip(STEPS, curve, strict=True):
        trial.report(int(s), float(v))
        if trial.should_stop():
            return trial, int(s)
    return trial, None


def test_incumbent_ignores_stopped_and_lower_budgets():
    h = history_with_incumbent(0.25)
    assert incumbent_from_history(h, T) == 0.25
    assert incumbent_from_history(h, T + 1) is None
    assert incumbent_from_history(None, T) is None


def test_stops_clearly_bad_curve_keeps_prediction():
    bad = 0.6 + 0.3 * STEPS**-0.8  # will end near 0.62, incumbent is 0.2
    rule = DomhanStopping(n_min=10, every=10, seed=0, method="mcmc", n_burn=80, n_steps=40)
    trial, stopped_at = run(rule, bad)
    assert stopped_at == 10
    info = trial._rule.describe(trial)
    assert info["rule"] == "domhan" and info["prob_better"] < 0.05
    assert abs(info["predicted_final"] - bad[-1]) < 0.1
    assert info["incumbent"] == 0.2 and info["horizon"] == T
    assert json.loads(json.dumps(info)) == info  # the journal can store it


def test_does_not_stop_clearly_good_curve():
    good = 0.05 + 0.6 * STEPS**-0.8
    rule = DomhanStopping(n_min=10, every=20, seed=0, method="mcmc", n_burn=80, n_steps=40)
    trial, stopped_at = run(rule, good)
    assert stopped_at is None
    assert trial._rule.describe(trial)["prob_better"] > 0.5


def test_never_stops_without_incumbent_and_is_picklable():
    rule = DomhanStopping(n_min=3, every=1, seed=0)
    trial = lowfi.Trial(1, {"x": 0.1}, float(T), 1)
    snap = rule.for_trial(trial, History(Space({"x": (0.0, 1.0)})))
    trial._rule = pickle.loads(pickle.dumps(snap))
    for s in range(1, 10):
        trial.report(s, 5.0)
        assert not trial.should_stop()


def test_same_seed_same_decision_point():
    bad = 0.3 + 0.3 * STEPS**-0.5
    r1 = run(DomhanStopping(n_min=5, every=5, seed=3, method="mcmc", n_burn=60, n_steps=30), bad)
    r2 = run(DomhanStopping(n_min=5, every=5, seed=3, method="mcmc", n_burn=60, n_steps=30), bad)
    assert r1[1] == r2[1]
    assert r1[0]._rule.describe(r1[0]) == r2[0]._rule.describe(r2[0])


def test_bad_arguments():
    with pytest.raises(ValueError, match="delta"):
        DomhanStopping(delta=1.5)
    with pytest.raises(ValueError, match="every"):
        DomhanStopping(every=0)
    with pytest.raises(ValueError, match="direction"):
        DomhanStopping(direction="down")


def test_shared_state_keeps_the_incumbent_current():
    from lowfi import Result, Trial
    from lowfi.core.history import History
    from lowfi.curves.stopping import DomhanStopping
    from lowfi.space import Space

    space = Space({"x": (0.0, 1.0)})
    h = History(space)
    rule = DomhanStopping(seed=0)
    t0 = Trial(0, {"x": 0.1}, 10.0, 0)
    snap = rule.for_trial(t0, h)
    assert snap.incumbent is None
    for i, (b, loss) in enumerate([(10.0, 0.5), (10.0, 0.3), (3.0, 0.01)]):
        t = Trial(i + 1, {"x": 0.2}, b, i + 1)
        h.add_pending(t)
        h.finish(t, Result(loss))
    snap.update(rule.shared(h))
    assert snap.incumbent == 0.3  # the budget-3 result does not count for a budget-10 trial
