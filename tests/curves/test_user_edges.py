"""Curve models and stopping rules at the edges a user meets: units, offsets, 0-based
epochs, values outside the stated bounds, bad settings, a rule that fails."""

import numpy as np
import pytest

import lowfi
from lowfi.curves import (
    BakerStopping,
    DomhanExtrapolator,
    DomhanStopping,
    FastExtrapolator,
    PredictiveRungStopping,
)

STEPS = np.arange(1, 11)
CURVE = 0.1 + 0.5 * STEPS**-0.7


def test_predictions_do_not_depend_on_the_metrics_unit_or_offset():
    ref = FastExtrapolator().fit(STEPS, CURVE).predict(50)
    for scale, offset in ((1e-6, 0.0), (1e3, 0.0), (1.0, 1e6)):
        p = FastExtrapolator().fit(STEPS, scale * CURVE + offset).predict(50)
        assert (p.mean - offset) / scale == pytest.approx(ref.mean, rel=1e-6)
        lo, hi = p.interval(0.9)
        assert ((lo - offset) / scale, (hi - offset) / scale) == pytest.approx(
            ref.interval(0.9), rel=1e-5, abs=1e-6)
    mc = DomhanExtrapolator(seed=0).fit(STEPS, CURVE).predict(50).mean
    small = DomhanExtrapolator(seed=0).fit(STEPS, 1e-6 * CURVE).predict(50).mean / 1e-6
    # the sampler sees the same internal curve; a margin for rounding that flips a move
    assert small == pytest.approx(mc, rel=0.1) and small > 0.1  # (it was -0.27)


def test_values_outside_the_bounds_and_steps_before_the_curve_are_refused():
    for ext in (FastExtrapolator(bounds=(0, 1)), DomhanExtrapolator(bounds=(0, 1))):
        with pytest.raises(ValueError, match=r"values: got 2\.\d+ outside bounds \(0, 1\)"):
            ext.fit(STEPS, 2 + CURVE)
    with pytest.raises(ValueError, match=r"curves\[1\]: values: got -0.5 outside bounds"):
        FastExtrapolator(bounds=(0, 1)).predict_many(
            [(STEPS, CURVE), (STEPS, np.r_[-0.5, CURVE[1:]])], 20)
    for late in (FastExtrapolator().fit(STEPS + 4, CURVE),
                 DomhanExtrapolator(seed=0).fit(STEPS + 4, CURVE)):
        with pytest.raises(ValueError, match="T: got 1, before the first observed step 5"):
            late.predict(1.0)
        assert np.isfinite(late.predict(5.0).mean)


def test_lcnet_names_a_curve_with_nan():
    pytest.importorskip("torch")
    from lowfi.curves import LCNet

    X = np.random.default_rng(0).uniform(size=(2, 2))
    s = np.arange(1, 6)
    with pytest.raises(ValueError, match=r"curves\[0\]: got non-finite"):
        LCNet(method="ensemble", n_members=1, epochs=5).fit(
            X, [(s, np.array([.5, .4, .35, .3, np.nan])), (s, np.array([.6, .5, .45, .4, .38]))])


def test_bad_rule_settings_are_refused_when_the_rule_is_made():
    with pytest.raises(ValueError, match="bounds"):
        DomhanStopping(bounds=(1, 0))
    with pytest.raises(ValueError, match="families: got 'foo'"):
        DomhanStopping(families=["foo"])
    with pytest.raises(ValueError, match="bogus"):
        DomhanStopping(method="mcmc", bogus=1)
    with pytest.raises(ValueError, match="bogus"):
        BakerStopping(bogus=1)
    with pytest.raises(ValueError, match=r"min_train: got 3; .* cv \+ 1 = 4"):
        BakerStopping(min_train=3)


def zero_based(trial):
    """Epochs counted from 0, as `for epoch in range(n)` does."""
    x = trial.config["x"]
    err = None
    for epoch in range(int(trial.budget)):
        err = 0.05 + 0.4 * x + 0.5 * (epoch + 1) ** -0.7
        trial.report(epoch, err)
        if trial.should_stop():
            break
    return err


@pytest.mark.parametrize("rule", [DomhanStopping(n_min=6, every=3, bounds=(0, 1)),
                                  PredictiveRungStopping(min_step=1, eta=3, bounds=(0, 1))],
                         ids=["domhan", "predictive-rung"])
def test_model_rules_take_epochs_counted_from_zero(rule):
    opt = lowfi.optimizers.RandomSearch({"x": (0.0, 1.0)}, max_budget=30, seed=0)
    for x in (0.01, 0.9, 0.8, 0.95):
        opt.enqueue({"x": x})
    res = lowfi.minimize(zero_based, optimizer=opt, max_evaluations=4, progress=False,
                         stopping=rule)
    status = list(res.trials["status"])
    assert "failed" not in status and status[0] == "ok" and status.count("stopped") >= 2


class Broken(DomhanStopping):
    def should_stop(self, trial):
        raise RuntimeError("model blew up")


def test_a_failing_rule_warns_and_never_fails_the_trial():
    from lowfi.core.trial import Trial

    t = Trial(0, {"x": 0.1}, 10.0, 0, rule=Broken())
    with pytest.warns(RuntimeWarning, match="stopping rule Broken failed .*model blew up"):
        t.report(1, 0.5)
        assert t.should_stop() is False
    t.report(2, 0.4)
    assert t.should_stop() is False  # the rule is off for this trial: one warning


def test_steps_past_the_budget_are_warned_about_once():
    from lowfi.core.trial import Trial

    t = Trial(0, {"x": 0.1}, 30.0, 0, rule=DomhanStopping())
    with pytest.warns(RuntimeWarning, match="reported step 1000 is past its budget 30"):
        t.report(1000, 0.5)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t.report(2000, 0.4)  # once per trial
        Trial(1, {"x": 0.1}, 30.0, 1).report(1000, 0.5)  # no rule reads it: no warning
