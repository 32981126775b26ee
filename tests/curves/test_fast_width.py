"""The calibrated spread of the fast extrapolator: the split conformal width
(``lowfi.curves.fast.WIDTH``), what it multiplies and the coverage of the central 90% interval
on the shipped real curves; and the resolution floor of discrete metrics (``quantum``)."""

import numpy as np
import pytest

from lowfi.curves import FastExtrapolator
from lowfi.curves.data import load_epoch_curves
from lowfi.curves.fast import WIDTH

STEPS = np.arange(1.0, 61.0)
CURVE = 0.1 + 0.6 * STEPS**-0.6 + 0.01 * np.sin(STEPS)
OFF = {1.0: 1.0}


@pytest.mark.parametrize("n_obs", [4, 6, 9, 12, 24, 42, 54])
def test_width_multiplies_the_spread_at_the_fraction_observed(n_obs):
    """Same centre; the spread is multiplied by WIDTH interpolated in log(fraction observed),
    constant past the calibrated fractions."""
    on = FastExtrapolator(bounds=(0, 1)).fit(STEPS[:n_obs], CURVE[:n_obs]).predict(60.0)
    off = FastExtrapolator(bounds=(0, 1), width=OFF).fit(STEPS[:n_obs], CURVE[:n_obs]).predict(60.0)
    assert on.mean == pytest.approx(off.mean, abs=1e-12)
    fr = sorted(WIDTH)
    want = np.interp(np.log(n_obs / 60.0), np.log(fr), [WIDTH[f] for f in fr])
    assert np.max(on.sigma) / np.max(off.sigma) == pytest.approx(want, rel=1e-9)
    lo, hi = on.interval(0.9)
    lo0, hi0 = off.interval(0.9)
    # the upper half of the symmetric interval (the lower end may be censored at the bound 0)
    assert (hi - on.mean) == pytest.approx(want * (hi0 - off.mean), rel=1e-6)
    assert lo >= 0.0 and (lo == 0.0 or (on.mean - lo) == pytest.approx(want * (off.mean - lo0),
                                                                       rel=1e-6))


def test_width_leaves_the_observed_step_alone():
    ext = FastExtrapolator(bounds=(0, 1), width={0.1: 3.0, 1.0: 3.0})
    p = ext.fit(STEPS[:12], CURVE[:12]).predict([12.0, 60.0])
    q = FastExtrapolator(bounds=(0, 1), width=OFF).fit(STEPS[:12], CURVE[:12]).predict([12.0, 60.0])
    assert np.allclose(p.sigma[:, 0], q.sigma[:, 0])
    assert np.allclose(p.sigma[:, 1], 3.0 * q.sigma[:, 1])


def test_bad_width_names_the_argument():
    for bad in ({}, {0.0: 1.0}, {1.5: 1.0}, {0.2: 0.0}, {0.2: float("nan")}, [0.2, 1.0]):
        with pytest.raises(ValueError, match="width"):
            FastExtrapolator(width=bad)


def _coverage(curves, cut, width=None):
    """Per-kind coverage of the central 90% interval of the final value, from ``cut``."""
    ext = FastExtrapolator(bounds=(0, 1), width=width)
    out = {}
    for kind, cs in curves.items():
        k = int(round(cut * 60))
        preds = ext.predict_many([(STEPS[:k], c[:k]) for c in cs], 60.0)
        finals = np.array([c[-1] for c in cs])
        lo, hi = np.array([p.interval(0.9) for p in preds]).T
        out[kind] = float(np.mean((finals >= lo) & (finals <= hi)))
    return out


def _halves():
    """The calibration and held-out halves of every epoch kind, split as the benchmark does
    (``benchmarks/curves_bench.py``, seed 0)."""
    d = load_epoch_curves()
    rng = np.random.default_rng(0)
    cal, test = {}, {}
    for kind in sorted(set(d["kinds"])):
        C = d["curves"][d["kinds"] == kind]
        perm = rng.permutation(len(C))
        half = len(C) // 2
        cal[kind], test[kind] = C[perm[:half]], C[perm[half:]]
    return cal, test


@pytest.mark.parametrize("cut", [0.1, 0.2, 0.4, 0.7])
def test_conformal_width_calibrates_the_90_interval_on_real_curves(cut):
    """WIDTH was fitted on the calibration halves so that the 90% interval covers 90% of their
    final values (kinds weighing equally): it does, within a curve or two of rounding, where
    the uncalibrated spread covers less from 10%; and on the held-out halves (180 curves pooled,
    kinds weighing equally; a binomial standard deviation of about 0.022) the coverage lies
    within 0.85-0.96."""
    cal, test = _halves()
    on = np.mean(list(_coverage(cal, cut).values()))
    assert 0.88 <= on <= 0.95, on
    if cut == 0.1:
        off = np.mean(list(_coverage(cal, cut, OFF).values()))
        assert off < on - 0.02, (off, on)
    held = np.mean(list(_coverage(test, cut).values()))
    assert 0.85 <= held <= 0.96, held


def test_discrete_metric_keeps_a_quantum_of_room():
    """An error rate on 72 validation samples moves in steps of 1/72: a converged curve at 2/72
    can end at 1/72 or 3/72, and the 90% interval says so; without the resolution floor it is
    narrower than one step on either side."""
    steps = np.arange(1.0, 25.0)
    v = np.array([10, 6, 4, 3, 3, 2, 3, 2, 2, 2, 3, 2, 2, 2, 2, 2, 3, 2, 2, 2, 2, 2, 2, 2]) / 72
    lo, hi = FastExtrapolator(bounds=(0, 1)).fit(steps, v).predict(60.0).interval(0.9)
    assert lo < 1 / 72 and hi > 3 / 72, (lo * 72, hi * 72)
    off = FastExtrapolator(bounds=(0, 1), calibration={"quantum": 0.0})
    lo0, hi0 = off.fit(steps, v).predict(60.0).interval(0.9)
    assert lo0 > 1 / 72 and hi0 < 3 / 72, (lo0 * 72, hi0 * 72)


def test_continuous_metric_is_not_widened_by_the_resolution_floor():
    lo, hi = FastExtrapolator(bounds=(0, 1)).fit(STEPS[:24], CURVE[:24]).predict(60.0).interval(0.9)
    off = FastExtrapolator(bounds=(0, 1), calibration={"quantum": 0.0})
    lo0, hi0 = off.fit(STEPS[:24], CURVE[:24]).predict(60.0).interval(0.9)
    assert (hi - lo) == pytest.approx(hi0 - lo0, rel=0.02)
