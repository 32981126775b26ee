"""SMAC-style random forest: mean and law-of-total-variance variance."""

import numpy as np
import pytest

from lowfi.models.random_forest import RandomForest


def data(n=120, d=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, d))
    y = np.sin(6 * X[:, 0]) + X[:, 1] + 0.05 * rng.standard_normal(n)
    return X, y


def test_fit_returns_self_and_predict_shapes_and_nonnegative_variance():
    X, y = data()
    rf = RandomForest(seed=0)
    assert rf.fit(X, y) is rf
    mean, var = rf.predict(np.random.default_rng(1).random((37, 4)))
    assert mean.shape == (37,) and var.shape == (37,)
    assert np.all(var >= 0) and np.all(np.isfinite(mean))
    assert rf.predict(np.empty((0, 4)))[0].shape == (0,)


def test_forest_learns_the_function():
    X, y = data(300)
    rf = RandomForest(n_trees=20, seed=0).fit(X, y)
    Xt, yt = data(200, seed=5)
    mean, _ = rf.predict(Xt)
    assert np.corrcoef(mean, yt)[0, 1] > 0.9


def test_within_leaf_variance_adds_to_the_spread_of_tree_means():
    X, y = data()
    Xt = np.random.default_rng(2).random((50, 4))
    kw = dict(seed=3, min_samples_leaf=5)  # leaves with several points have a spread
    total = RandomForest(**kw).fit(X, y).predict(Xt)[1]
    between = RandomForest(within_leaf_variance=False, **kw).fit(X, y).predict(Xt)[1]
    assert np.all(total >= between - 1e-12) and total.mean() > between.mean()
    trees = RandomForest(within_leaf_variance=False, **kw).fit(X, y).predict_trees(Xt)
    assert np.allclose(trees.var(axis=0), np.maximum(between, 1e-10))


def test_variance_is_zero_where_trees_agree_and_positive_where_they_do_not():
    rng = np.random.default_rng(0)
    X = rng.random((100, 2))
    flat = RandomForest(seed=0).fit(X, np.full(100, 3.0))
    mean, var = flat.predict(rng.random((20, 2)))
    assert np.allclose(mean, 3.0) and np.allclose(var, 1e-10)
    noisy = RandomForest(seed=0).fit(X, rng.standard_normal(100))
    assert noisy.predict(rng.random((20, 2)))[1].min() > 1e-3


def test_nan_inputs_are_imputed():
    X, y = data()
    X[::3, 2] = np.nan
    rf = RandomForest(seed=0).fit(X, y)
    Xt = X[:10].copy()
    mean, var = rf.predict(Xt)
    assert np.all(np.isfinite(mean)) and np.all(np.isfinite(var))
    Xi = np.where(np.isnan(Xt), -1.0, Xt)
    assert np.allclose(rf.predict(Xi)[0], mean)


def test_same_seed_same_predictions():
    X, y = data()
    Xt = np.random.default_rng(9).random((20, 4))
    a = RandomForest(seed=7).fit(X, y).predict(Xt)
    b = RandomForest(seed=7).fit(X, y).predict(Xt)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_bad_input_raises():
    with pytest.raises(ValueError, match="n_trees"):
        RandomForest(n_trees=0)
    with pytest.raises(ValueError, match="max_features"):
        RandomForest(max_features=1.5)
    rf = RandomForest(seed=0)
    with pytest.raises(RuntimeError, match="fit"):
        rf.predict(np.zeros((1, 2)))
    with pytest.raises(ValueError, match="y"):
        rf.fit(np.zeros((3, 2)), np.array([0.0, np.inf, 1.0]))
    rf.fit(*data())
    with pytest.raises(ValueError, match="columns"):
        rf.predict(np.zeros((2, 3)))
