import numpy as np
import pytest

from lowfi.curves import CurvePrediction, DomhanExtrapolator

STEPS = np.arange(1.0, 101.0)


def loss_curve(noise=0.005, seed=0):
    truth = 0.1 + 0.9 * STEPS**-0.7  # pow3-like loss, final 0.1354
    rng = np.random.default_rng(seed)
    return truth, truth + noise * rng.standard_normal(STEPS.size)


@pytest.fixture(scope="module")
def fitted():
    truth, y = loss_curve()
    ext = DomhanExtrapolator(seed=0).fit(STEPS[:40], y[:40], horizon=100)
    return truth, ext, ext.predict(100)


def test_predictive_mean_close_to_truth(fitted):
    truth, ext, pred = fitted
    assert isinstance(pred, CurvePrediction)
    assert abs(pred.mean - truth[-1]) < 0.02
    lo, hi = pred.quantile([0.05, 0.95])
    assert lo <= truth[-1] + 0.01 and hi >= truth[-1] - 0.01
    assert pred.samples.shape == (pred.n_samples,)
    assert pred.std > 0


def test_prob_better_monotone_in_y_best(fitted):
    _, _, pred = fitted
    grid = np.linspace(0.0, 0.4, 41)
    p = pred.prob_better(grid)
    assert p.shape == grid.shape
    assert np.all(np.diff(p) >= -1e-12)  # minimize: a worse incumbent is easier to beat
    assert p[0] < 0.05 and p[-1] > 0.95


def test_curve_prediction_many_steps(fitted):
    truth, ext, _ = fitted
    pred = ext.predict(STEPS)
    assert pred.mean.shape == STEPS.shape and pred.samples.shape[1] == STEPS.size
    q = pred.quantile([0.05, 0.5, 0.95])
    assert q.shape == (3, STEPS.size) and np.all(q[0] <= q[2])
    assert np.max(np.abs(pred.mean[:40] - truth[:40])) < 0.03


def test_maximize_is_mirror_of_minimize():
    truth, y = loss_curve(seed=3)
    acc = 1.0 - y
    a = DomhanExtrapolator(direction="maximize", seed=1, n_burn=60, n_steps=30)
    p = a.fit(STEPS[:30], acc[:30], horizon=100).predict(100.0)
    assert abs(p.mean - (1 - truth[-1])) < 0.03
    # maximize: P(better than y) falls as y rises
    assert p.prob_better(0.5) > p.prob_better(0.86) > p.prob_better(0.95)


def test_same_seed_same_prediction():
    _, y = loss_curve(seed=4)
    kw = dict(n_burn=40, n_steps=20)
    p1 = DomhanExtrapolator(seed=7, **kw).fit(STEPS[:20], y[:20]).predict(100)
    p2 = DomhanExtrapolator(seed=7, **kw).fit(STEPS[:20], y[:20]).predict(100)
    p3 = DomhanExtrapolator(seed=8, **kw).fit(STEPS[:20], y[:20]).predict(100)
    assert p1.mean == p2.mean and np.array_equal(p1.samples, p2.samples)
    assert p1.mean != p3.mean


def test_bounds_keep_prediction_inside():
    _, y = loss_curve(seed=5)
    p = (
        DomhanExtrapolator(bounds=(0.0, 1.0), seed=0, n_burn=60, n_steps=30)
        .fit(STEPS[:15], y[:15], horizon=100)
        .predict(100)
    )
    assert np.all(p.f >= -1e-9)


def test_bad_input():
    with pytest.raises(ValueError, match="direction"):
        DomhanExtrapolator(direction="up")
    with pytest.raises(ValueError, match="steps"):
        DomhanExtrapolator().fit([1, 2], [0.5, 0.4])
    with pytest.raises(ValueError, match="increasing"):
        DomhanExtrapolator().fit([1, 3, 2], [0.5, 0.4, 0.3])
    with pytest.raises(ValueError, match="lengths"):
        DomhanExtrapolator().fit([1, 2, 3], [0.5, 0.4])
    with pytest.raises(ValueError, match="bounds"):
        DomhanExtrapolator(bounds=(1, 0))
    with pytest.raises(RuntimeError, match="fit"):
        DomhanExtrapolator().predict(10)
    with pytest.raises(ValueError, match="horizon"):
        DomhanExtrapolator().fit([1, 2, 3], [0.5, 0.4, 0.3], horizon=2)
