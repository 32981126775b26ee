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


def test_stuck_walkers_are_dropped_and_the_bulk_kept():
    from lowfi.curves.domhan import posterior_draws

    rng = np.random.default_rng(0)
    d = 10
    bulk = rng.standard_normal((400, d))
    lp = -0.5 * (bulk**2).sum(1)  # a Gaussian posterior's log density
    stuck = np.full((20, d), 40.0)  # one walker stuck far out, its draws repeated
    chain = np.vstack([bulk, stuck])
    lps = np.concatenate([lp, np.full(20, -8000.0)])
    kept = posterior_draws(chain, lps, np.zeros(d))
    assert len(kept) == 400 and np.array_equal(kept, bulk)
    lps[:5] = np.nan
    assert len(posterior_draws(chain, lps, np.zeros(d))) == 395
    fallback = posterior_draws(chain, np.full(420, -np.inf), np.ones(d))
    assert fallback.shape == (1, d) and (fallback == 1).all()


def test_a_rising_tail_does_not_send_the_mean_past_the_bounds():
    """LCDB training-set-size curve (error falls, then rises as the learner overfits): before
    stuck walkers were dropped, one of them put the predicted mean error at about 300."""
    steps = np.array([16, 23, 32, 45, 64, 91, 128, 181, 256, 362, 512, 724, 1024, 1448, 2048,
                      2896, 4096, 5793, 8192, 11585], float)
    err = np.array([0.819, 0.752, 0.668, 0.691, 0.515, 0.379, 0.317, 0.281, 0.236, 0.178, 0.153,
                    0.148, 0.139, 0.131, 0.141, 0.142, 0.154, 0.158, 0.173, 0.188])
    for seed in (61, 0, 1):
        p = DomhanExtrapolator(bounds=(0, 1), seed=seed).fit(steps, err, horizon=60000).predict(60000)
        assert -0.1 < p.mean < 0.9
        assert np.quantile(np.asarray(p.samples), 0.999) < 1.5
