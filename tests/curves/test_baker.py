import numpy as np
import pytest

import lowfi
from lowfi.core.history import History
from lowfi.curves import BakerRegressor, BakerStopping, baker_features
from lowfi.space import Space

T = 50
STEPS = np.arange(1, T + 1)


def synthetic(n, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, 2))
    final = 0.05 + 0.5 * X[:, 0] ** 2
    speed = 0.3 + 1.5 * X[:, 1]  # slow curves are far from their final value early on
    curves = final[:, None] + 0.8 * STEPS[None] ** -speed[:, None]
    curves += 0.003 * rng.standard_normal(curves.shape)
    return X, curves


def test_features_layout():
    F = baker_features(np.array([[0.1, np.nan]]), np.array([[1.0, 0.5, 0.4, 0.35]]))
    np.testing.assert_allclose(F[0], [0.1, -1, 1.0, 0.5, 0.4, 0.35, -0.5, -0.1, -0.05, 0.4, 0.05])
    with pytest.raises(ValueError, match="X"):
        baker_features(np.zeros((2, 1)), np.zeros((3, 4)))


def test_regressor_beats_last_value():
    X, C = synthetic(120)
    Xt, Ct = synthetic(60, seed=1)
    tau = 5
    m = BakerRegressor(seed=0).fit(X, C[:, :tau], C[:, -1])
    mean, std = m.predict(Xt, Ct[:, :tau])
    mae = np.mean(np.abs(mean - Ct[:, -1]))
    mae_last = np.mean(np.abs(Ct[:, tau - 1] - Ct[:, -1]))
    assert mae < 0.5 * mae_last
    assert np.all(std > 0) and abs(std[0] - m.cv_std_) < 1e-12
    with pytest.raises(ValueError, match="tau"):
        m.predict(Xt, Ct[:, :4])


def test_regressor_deterministic():
    X, C = synthetic(40)
    a = BakerRegressor(seed=3).fit(X, C[:, :6], C[:, -1]).predict(X[:5], C[:5, :6])[0]
    b = BakerRegressor(seed=3).fit(X, C[:, :6], C[:, -1]).predict(X[:5], C[:5, :6])[0]
    np.testing.assert_array_equal(a, b)


def _run(rule, history, config, curve):
    trial = lowfi.Trial(99, config, float(T), 99)
    trial._rule = rule.for_trial(trial, history)
    for s, v in zip(STEPS, curve, strict=True):
        trial.report(int(s), float(v))
        if trial.should_stop():
            return trial, int(s)
    return trial, None


def test_stopping_rule_stops_bad_not_good():
    space = Space({"a": (0.0, 1.0), "b": (0.0, 1.0)})
    X, C = synthetic(40)
    h = History(space)
    rule = BakerStopping(n_min=5, every=5, min_train=20, seed=0)
    for i, (x, c) in enumerate(zip(X, C, strict=True)):
        cfg = {"a": float(x[0]), "b": float(x[1])}
        rule.add_curve(cfg, c)
        h.finish(lowfi.Trial(i, cfg, float(T), i), lowfi.Result(float(c[-1])))
    best = min(r.loss for r in h.records)
    Xn, Cn = synthetic(200, seed=5)
    bad = int(np.argmax(Cn[:, -1]))
    good = int(np.argmin(Cn[:, -1]))
    assert Cn[good, -1] < best + 0.01
    tb, sb = _run(rule, h, {"a": float(Xn[bad, 0]), "b": float(Xn[bad, 1])}, Cn[bad])
    tg, sg = _run(rule, h, {"a": float(Xn[good, 0]), "b": float(Xn[good, 1])}, Cn[good])
    assert sb == 5
    info = tb._rule.describe(tb)
    assert info["rule"] == "baker" and abs(info["predicted_final"] - Cn[bad, -1]) < 0.1
    assert sg is None


def test_stopping_rule_waits_for_training_curves():
    rule = BakerStopping(n_min=2, every=1, min_train=10)
    h = History(Space({"a": (0.0, 1.0)}))
    h.finish(lowfi.Trial(0, {"a": 0.5}, float(T), 0), lowfi.Result(0.01))
    _, stopped = _run(rule, h, {"a": 0.3}, np.full(T, 5.0))
    assert stopped is None
    with pytest.raises(ValueError, match="min_train"):
        BakerStopping(min_train=0)
