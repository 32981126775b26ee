"""The fast default extrapolator: calibration on curves from the model, batching, monotonicity,
the decision info of the rules built on it, and the shipped real curves."""

import json

import numpy as np
import pytest

import lowfi
from lowfi.core.history import History
from lowfi.curves import (
    CurvePrediction,
    DomhanStopping,
    FastExtrapolator,
    PredictiveRungStopping,
    default_extrapolator,
    load_epoch_curves,
    load_lcdb_curves,
)
from lowfi.curves.families import FAMILIES
from lowfi.space import Space

T = 60
STEPS = np.arange(1.0, T + 1)


def model_curves(n, seed, noise=0.01):
    """Error-rate curves drawn from the model: a random Domhan family with parameters from its
    prior box (kept if the curve is a plausible error curve), mirrored, plus Gaussian noise."""
    rng = np.random.default_rng(seed)
    out = []
    names = ["pow3", "pow4", "exp4", "janoschek", "weibull", "mmf", "ilog2", "hill3"]
    while len(out) < n:
        fam = FAMILIES[names[rng.integers(len(names))]]
        theta = fam.sample_prior(rng, 1)
        acc = fam(STEPS, theta)[0]
        rise = acc[-1] - acc[0]
        if not np.all(np.isfinite(acc)) or rise < 0.05:
            continue
        # map to an error curve from e0 down to e_final
        e0, e1 = rng.uniform(0.3, 0.9), rng.uniform(0.02, 0.25)
        err = e0 - (acc - acc[0]) / rise * (e0 - e1)
        out.append((err + noise * rng.standard_normal(T), err))
    return out


def test_coverage_on_curves_from_the_model():
    curves = model_curves(240, seed=1)
    ext = FastExtrapolator(bounds=(0, 1))
    cover, n = 0, 0
    for cut in (12, 24):
        preds = ext.predict_many([(STEPS[:cut], y[:cut]) for y, _ in curves], T)
        for p, (y, _) in zip(preds, curves, strict=True):
            lo, hi = p.interval(0.9)
            cover += lo <= y[-1] <= hi
            n += 1
    # 90% intervals: 480 checks, binomial sd 1.4 points; calibrated on real curves, the
    # intervals must neither miss nor overcover by a wide margin on curves from the model
    assert 0.80 <= cover / n <= 0.985, cover / n


def test_beats_last_value_on_curves_from_the_model():
    curves = model_curves(120, seed=2, noise=0.005)
    ext = FastExtrapolator(bounds=(0, 1))
    preds = ext.predict_many([(STEPS[:12], y[:12]) for y, _ in curves], T)
    mae = np.mean([abs(p.mean - y[-1]) for p, (y, _) in zip(preds, curves, strict=True)])
    last = np.mean([abs(y[11] - y[-1]) for y, _ in curves])
    assert mae < 0.8 * last


def test_batched_equals_one_by_one():
    curves = model_curves(9, seed=3)
    ext = FastExtrapolator(bounds=(0, 1))
    pairs = [(STEPS[:c], y[:c]) for (y, _), c in zip(curves, [5, 8, 12, 20, 30, 40, 6, 9, 59],
                                                       strict=True)]
    horizons = [60, 60, 80, 60, 100, 60, 60, 70, 60]
    batch = ext.predict_many(pairs, horizons)
    for (s, v), t, b in zip(pairs, horizons, batch, strict=True):
        one = FastExtrapolator(bounds=(0, 1)).fit(s, v).predict(float(t))
        assert isinstance(b, CurvePrediction)
        assert b.mean == pytest.approx(one.mean, rel=1e-9, abs=1e-12)
        assert b.std == pytest.approx(one.std, rel=1e-9, abs=1e-12)
        assert np.allclose(b.interval(0.9), one.interval(0.9), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("direction", ["minimize", "maximize"])
def test_every_family_and_the_prediction_are_monotone(direction):
    y, _ = model_curves(1, seed=4)[0]
    if direction == "maximize":
        y = 1.0 - y
    ext = FastExtrapolator(direction=direction).fit(STEPS[:15], y[:15])
    grid = np.linspace(15, 200, 40)
    sign = 1 if direction == "maximize" else -1
    for name, vals in ext.family_predictions(grid).items():
        assert np.all(np.diff(sign * vals) >= -1e-9), name
    mean = ext.predict(grid).mean
    assert np.all(np.diff(sign * mean) >= -1e-9)


def test_maximize_mirrors_minimize():
    y, _ = model_curves(1, seed=5)[0]
    a = FastExtrapolator().fit(STEPS[:20], y[:20]).predict(60.0)
    b = FastExtrapolator(direction="maximize").fit(STEPS[:20], -y[:20]).predict(60.0)
    assert a.mean == pytest.approx(-b.mean) and a.std == pytest.approx(b.std)
    assert a.prob_better(0.1) == pytest.approx(b.prob_better(-0.1))


def test_flat_and_constant_curves_give_finite_predictions():
    ext = FastExtrapolator(bounds=(0, 1))
    for v in (np.full(10, 0.9), np.r_[np.full(9, 0.5), 0.49]):
        p = ext.fit(STEPS[:10], v).predict(60.0)
        assert np.isfinite(p.mean) and p.std > 0 and np.isfinite(p.log_likelihood(v[-1]))


def test_bad_arguments_name_the_argument():
    with pytest.raises(ValueError, match="families"):
        FastExtrapolator(families=["pow5"])
    with pytest.raises(ValueError, match="calibration"):
        FastExtrapolator(calibration={"shrinkage": 1.0})
    with pytest.raises(ValueError, match="bounds"):
        FastExtrapolator(bounds=(1, 0))
    with pytest.raises(ValueError, match="T"):
        default_extrapolator().predict_many([(STEPS[:5], STEPS[:5])], [10, 20])
    with pytest.raises(RuntimeError, match="fit"):
        FastExtrapolator().predict(10.0)
    with pytest.raises(ValueError, match="n_burn"):
        DomhanStopping(n_burn=10)  # an MCMC setting without method="mcmc"
    with pytest.raises(ValueError, match="method"):
        DomhanStopping(method="pfn")


def history_with_incumbent(loss=0.2):
    h = History(Space({"x": (0.0, 1.0)}))
    t = lowfi.Trial(0, {"x": 0.5}, float(T), 0)
    h.finish(t, lowfi.Result(loss))
    return h


def test_domhan_stopping_says_why():
    bad = 0.6 + 0.3 * STEPS**-0.8 + 0.003 * np.sin(STEPS)
    rule = DomhanStopping(n_min=6, every=3, bounds=(0, 1))
    trial = lowfi.Trial(5, {"x": 0.3}, float(T), 5)
    trial._rule = rule.for_trial(trial, history_with_incumbent())
    stopped_at = None
    for s, v in zip(STEPS, bad, strict=True):
        trial.report(int(s), float(v))
        if trial.should_stop():
            stopped_at = int(s)
            break
    assert stopped_at is not None and stopped_at <= 12  # a check at 6, 9 or 12
    info = trial._rule.describe(trial)
    for key in ("rule", "method", "predicted_final", "prob_better", "threshold", "decision",
                "incumbent", "points", "reason", "predicted_q05", "predicted_q95"):
        assert key in info, key
    assert info["rule"] == "domhan" and info["method"] == "fast" and info["decision"] == "stop"
    assert info["prob_better"] < info["threshold"] == 0.05 and info["points"] == stopped_at
    assert info["predicted_q05"] <= info["predicted_final"] <= info["predicted_q95"]
    assert json.loads(json.dumps(info)) == info


def test_domhan_stopping_keeps_a_good_curve_and_says_continue():
    good = 0.05 + 0.6 * STEPS**-0.8
    rule = DomhanStopping(n_min=6, every=6, bounds=(0, 1))
    trial = lowfi.Trial(5, {"x": 0.3}, float(T), 5)
    trial._rule = rule.for_trial(trial, history_with_incumbent())
    for s, v in zip(STEPS, good, strict=True):
        trial.report(int(s), float(v))
        assert not trial.should_stop()
    info = trial._rule.describe(trial)
    assert info["decision"] == "continue" and info["prob_better"] >= 0.05


def test_predictive_rung_promotes_on_the_predicted_final_value():
    """A slow starter still improving fast passes a rung that a flattened curve with a better
    current value fails; the decision and its reason are kept."""
    h = History(Space({"x": (0.0, 1.0)}))
    flat = 0.30 + 0.05 * STEPS**-2.0  # good now (0.30 at step 9), ends at 0.30
    others = [0.35 + 0.3 * STEPS**-0.3 * (1 + 0.1 * k) for k in range(4)]  # end ~ 0.45-0.5
    slow = 0.02 + 0.9 * STEPS**-0.6  # 0.30 at step 9 too, heading to ~0.08
    for k, c in enumerate([*others, flat]):
        t = lowfi.Trial(k, {"x": 0.5}, float(T), k)
        h.add_pending(t)
        h.finish(t, lowfi.Result(float(c[-1]), curve=[(float(s), float(v))
                                                      for s, v in zip(STEPS, c, strict=True)]))
    rule = PredictiveRungStopping(min_step=9, eta=3, bounds=(0, 1))

    def run(curve, tid):
        trial = lowfi.Trial(tid, {"x": 0.1}, float(T), tid)
        trial._rule = rule.for_trial(trial, h)
        for s, v in zip(STEPS, curve, strict=True):
            trial.report(int(s), float(v))
            if trial.should_stop():
                return trial, int(s)
        return trial, None

    trial, at = run(slow, 10)
    assert at is None
    worse = 0.5 + 0.1 * STEPS**-0.5  # worse now and heading nowhere
    trial, at = run(worse, 11)
    assert at == 9
    info = trial._rule.describe(trial)
    assert info["rule"] == "predictive-rung" and info["decision"] == "stop"
    assert info["predicted_final"] > info["threshold"] and info["reference_trials"] == 5
    assert json.loads(json.dumps(info)) == info
    shared = rule.shared(h)
    assert shared and json.loads(json.dumps(shared)) == shared


def test_shipped_epoch_curves():
    d = load_epoch_curves()
    assert d["curves"].shape[0] >= 300 and d["curves"].shape[1] >= 50
    kinds = set(d["kinds"])
    assert {"torch-mlp-digits", "torch-cnn-digits"} <= kinds and len(kinds) >= 5
    assert np.all((d["curves"] >= 0) & (d["curves"] <= 1))
    assert len(d["hyperparameters"]) == len(d["curves"])
    # some runs diverge (end near chance), several learning-rate schedules
    assert np.any(d["curves"][:, -1] > 0.8)
    assert len({h.get("schedule") for h in d["hyperparameters"]}) >= 4
    one = load_epoch_curves("sklearn-mlp-wine")
    assert set(one["kinds"]) == {"sklearn-mlp-wine"}
    with pytest.raises(ValueError, match="kinds"):
        load_epoch_curves("imagenet")


def test_lcdb_needs_a_path(tmp_path, monkeypatch):
    monkeypatch.delenv("LOWFI_LCDB", raising=False)
    monkeypatch.delenv("LOWFI_LCDB_DATA", raising=False)
    with pytest.raises(FileNotFoundError, match="LOWFI_LCDB"):
        load_lcdb_curves()
    with pytest.raises(FileNotFoundError, match="database-accuracy"):
        load_lcdb_curves(tmp_path)


def test_lcdb_reads_a_table(tmp_path):
    rows = ["openmlid,learner,size_train,size_test,outer_seed,inner_seed,traintime,"
            "score_train,score_valid,score_test"]
    for oid in (3, 6):
        for learner in ("SVC_rbf", "KNN"):
            for i, size in enumerate([16, 23, 32, 45, 64, 91, 128, 181, 256, 362, 512, 724]):
                for outer in (0, 1):
                    rows.append(f"{oid},{learner},{size},100,{outer},0,0.1,1.0,"
                                f"{0.5 + 0.03 * i},0.5")
    (tmp_path / "database-accuracy.csv").write_text("\n".join(rows) + "\n")
    d = load_lcdb_curves(tmp_path, n=3, min_points=12, cache_dir=tmp_path / "cache")
    assert len(d["keys"]) == 3 and all(len(s) == 12 for s in d["steps"])
    assert np.allclose(d["values"][0][:2], [0.5, 0.47])  # error = 1 - score_valid
    again = load_lcdb_curves(tmp_path, n=3, min_points=12, cache_dir=tmp_path / "cache")
    assert again["keys"] == d["keys"] and all(
        np.array_equal(a, b) for a, b in zip(again["values"], d["values"], strict=True))


def test_bounds_hold_for_intervals_quantiles_and_probabilities():
    """The metric cannot leave ``bounds``: a flat error of 1.0 with bounds (0, 1) has no
    quantile above 1 and no probability of ending above it."""
    from lowfi.curves import default_extrapolator

    steps = np.arange(1, 13)
    p = default_extrapolator(bounds=(0, 1)).fit(steps, np.full(12, 1.0)).predict(60)
    lo, hi = p.interval(0.9)
    assert 0.0 <= lo < hi <= 1.0
    assert p.quantile(0.999) <= 1.0 and p.samples.max() <= 1.0
    assert p.cdf(1.0) == 1.0 and p.cdf(-0.01) == 0.0
    assert p.prob_better(1.5) == 1.0 and p.prob_better(0.0) == 0.0
    assert 0.0 < p.prob_better(0.9) < 1.0
    free = default_extrapolator().fit(steps, np.full(12, 1.0)).predict(60)
    assert free.interval(0.9)[1] > 1.0  # without bounds the interval is not cut


def test_curve_errors_name_the_curve_and_the_shape():
    from lowfi.curves import default_extrapolator

    ext = default_extrapolator(bounds=(0, 1))
    s = np.arange(1, 13)
    with pytest.raises(ValueError, match=r"curves\[2\]: steps: got 2 points"):
        ext.predict_many([(s, 0.5 / s)] * 2 + [([1, 2], [0.5, 0.4])], T=60)
    with pytest.raises(ValueError, match=r"values: got an array of shape \(12, 2\)"):
        ext.fit(s, np.ones((12, 2)))
