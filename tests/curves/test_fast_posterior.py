"""Properties of the fast extrapolator's method: grid posteriors of the Domhan families, the
robust current level, the shrinkage of the predicted gain, and the best-value prior."""

import numpy as np
import pytest

from lowfi.curves import FastExtrapolator
from lowfi.curves.families import FAMILIES

T = 60.0
STEPS = np.arange(1.0, 61.0)


def family_curve(name, seed):
    """A noiseless error curve from one Domhan family (parameters from its prior box)."""
    rng = np.random.default_rng(seed)
    fam = FAMILIES[name]
    while True:
        acc = fam(STEPS, fam.sample_prior(rng, 1))[0]
        rise = acc[-1] - acc[0]
        # an error curve from 0.8 down to 0.1 that still improves after the first 12 steps
        if np.all(np.isfinite(acc)) and rise > 0.05 and (acc[-1] - acc[11]) > 0.2 * rise:
            return 0.8 - (acc - acc[0]) / rise * 0.7


@pytest.mark.parametrize("name", ["pow3", "exp4", "mmf", "hill3"])
def test_full_gain_recovers_noiseless_family_curves(name):
    """With ``shrink=1`` the centre is the posterior-mean extrapolation: on noiseless curves of
    the model it lands far closer to the truth than the last value."""
    ext = FastExtrapolator(bounds=(0, 1), calibration={"shrink": 1.0})
    errs, lasts = [], []
    for seed in range(6):
        y = family_curve(name, seed)
        p = ext.fit(STEPS[:20], y[:20]).predict(T)
        errs.append(abs(p.mean - y[-1]))
        lasts.append(abs(y[19] - y[-1]))
    assert np.mean(errs) < 0.5 * np.mean(lasts), (np.mean(errs), np.mean(lasts))


def test_zero_shrink_predicts_the_current_level():
    y = family_curve("pow3", 1)
    p = FastExtrapolator(bounds=(0, 1), calibration={"shrink": 0.0}).fit(STEPS[:15], y[:15])
    assert p.predict(T).mean == pytest.approx(y[14], abs=2e-3)


def test_prediction_moves_monotonically_with_shrink():
    """The centre is the current level plus shrink x the predicted gain: for an improving
    error curve it decreases as shrink grows, from the current level towards the full
    extrapolation."""
    rng = np.random.default_rng(3)
    y = family_curve("exp4", 2) + 0.005 * rng.standard_normal(60)
    means = [FastExtrapolator(bounds=(0, 1), calibration={"shrink": s}).fit(STEPS[:12], y[:12])
             .predict(T).mean for s in (0.0, 0.25, 0.5, 0.75, 1.0)]
    assert np.all(np.diff(means) < 0), means
    # and linearly so (the gain does not depend on shrink), up to the bound clip
    steps = np.diff(means)
    assert np.allclose(steps, steps[0], rtol=1e-6, atol=1e-9)


def test_single_outlier_at_the_last_point_moves_the_prediction_little():
    """Huber's clipping of the last residual: a spike of 0.2 at the last observed point of a
    smooth noisy curve moves the predicted final value by much less than 0.2 (anchoring on the
    raw last value would move it by the whole spike)."""
    rng = np.random.default_rng(4)
    moved = []
    ext = FastExtrapolator(bounds=(0, 1))
    for seed in range(5):
        y = family_curve("pow4" if seed % 2 else "mmf", 10 + seed)
        y = y[:15] + 0.01 * rng.standard_normal(15)
        spiked = y.copy()
        spiked[-1] += 0.2
        moved.append(ext.fit(STEPS[:15], spiked).predict(T).mean
                     - ext.fit(STEPS[:15], y).predict(T).mean)
    assert max(abs(m) for m in moved) < 0.6 * 0.2, moved


def test_a_genuine_level_shift_is_followed():
    """...but a curve whose last five points all moved is at a new level, and the prediction
    follows it (the clip scale comes from the last residuals)."""
    y = family_curve("pow3", 5)[:20].copy()
    shifted = y.copy()
    shifted[-5:] += 0.1
    ext = FastExtrapolator(bounds=(0, 1))
    a = ext.fit(STEPS[:20], y).predict(T).mean
    b = ext.fit(STEPS[:20], shifted).predict(T).mean
    assert b - a > 0.03


@pytest.mark.parametrize("direction", ["minimize", "maximize"])
def test_predictions_respect_the_bounds(direction):
    """Domhan's prior: no weight on extrapolations past the best possible value; the centre
    never passes it, even for steep curves close to it."""
    rng = np.random.default_rng(6)
    ext = FastExtrapolator(direction=direction, bounds=(0, 1), calibration={"shrink": 1.0})
    curves = []
    for _ in range(30):
        e = 0.02 + 0.6 * STEPS[:10] ** -rng.uniform(0.2, 2.0) + 0.003 * rng.standard_normal(10)
        curves.append((STEPS[:10], e if direction == "minimize" else 1 - e))
    for p in ext.predict_many(curves, 500.0):
        assert 0.0 <= p.mean <= 1.0


def test_family_weights_prefer_the_generating_family_shape():
    """The grid marginal likelihood puts most weight on the shape that generated a clean
    curve (here the exp4/Janoschek/Weibull shape for an exponential curve)."""
    x = STEPS[:25]
    y = 0.1 + 0.7 * np.exp(-((x / 6.0) ** 1.3))
    ext = FastExtrapolator(bounds=(0, 1))
    ext.fit(x, y).predict(T)
    w = ext.weights_
    assert w["exp4"] + w["janoschek"] + w["weibull"] > 0.5, w


def test_higher_temperature_widens_the_prediction():
    """A tempered posterior with a higher temperature spreads over more of each family's
    parameters, so the predictive distribution of a short noisy curve gets wider."""
    rng = np.random.default_rng(7)
    stds = {t: [] for t in (1.0, 10.0)}
    for seed in range(8):
        y = family_curve("pow4", 20 + seed)[:10] + 0.01 * rng.standard_normal(10)
        for t in stds:
            p = FastExtrapolator(bounds=(0, 1), calibration={"temperature": t}).fit(
                STEPS[:10], y).predict(T)
            stds[t].append(p.interval(0.9)[1] - p.interval(0.9)[0])
    assert np.median(stds[10.0]) > np.median(stds[1.0])
