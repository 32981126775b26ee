"""The product-kernel KDE behind BOHB and TPE."""

import numpy as np
import pytest

from lowfi.models.kde import KDE


def _integral(kde, cats=None, grid=20001):
    xs = np.linspace(0.0, 1.0, grid)
    if cats is None:
        return np.trapezoid(kde.pdf(xs[:, None]), xs)
    return sum(np.trapezoid(kde.pdf(np.c_[xs, np.full_like(xs, c)]), xs) for c in range(cats))


DATA = np.array([[0.01, 0], [0.5, 1], [0.99, 1], [0.97, 2]])


@pytest.mark.parametrize("kw", [
    {},
    {"prior_weight": 1.0},
    {"bandwidth": "neighbors", "prior_weight": 1.0, "multivariate": False},
    {"bandwidth": "neighbors", "multivariate": True},
])
def test_density_integrates_to_one_in_the_unit_cube(kw):
    kde = KDE(["float", "cat"], [0, 3], **kw).fit(DATA)
    assert kde.fit(DATA) is kde
    assert _integral(kde, cats=3) == pytest.approx(1.0, abs=1e-4)


def test_min_bandwidth_keeps_density_finite_when_all_points_agree():
    # the HpBandSter pain point: identical good points -> zero bandwidth -> l(x) = inf / NaN EI
    X = np.array([[0.5, 1.0]] * 6)
    kde = KDE(["float", "cat"], [0, 3], min_bandwidth=1e-3).fit(X)
    assert kde.bw_cont_.min() == pytest.approx(1e-3)
    assert kde.bw_disc_.min() == pytest.approx(1e-3)
    q = np.array([[0.5, 1], [0.0, 0], [1.0, 2], [0.2, 1]])
    lp = kde.logpdf(q)
    assert np.all(np.isfinite(lp))
    assert lp[0] == lp.max()


def test_integer_bandwidth_does_not_collapse_on_a_grid_value():
    X = np.full((10, 1), 4 / 9.0)  # int in 1..10 encoded at value 5
    kde = KDE(["int"], [10], min_bandwidth=1e-3).fit(X)
    assert kde.bw_cont_.min() >= 0.5 / 9 - 1e-12
    neighbour = kde.pdf(np.array([[5 / 9.0]]))[0] / kde.pdf(np.array([[4 / 9.0]]))[0]
    assert neighbour > 0.1  # adjacent integer keeps real mass


def test_categorical_only_and_unseen_categories_are_finite():
    X = np.array([[0, 0], [0, 1], [0, 0]], dtype=float)
    kde = KDE(["cat", "cat"], [4, 2]).fit(X)
    grid = np.array([[a, b] for a in range(4) for b in range(2)], dtype=float)
    p = kde.pdf(grid)
    assert np.all(np.isfinite(p)) and np.all(p > 0)
    assert p.sum() == pytest.approx(1.0)
    assert p.argmax() == 0  # (0, 0) seen twice


def test_ordinal_kernel_respects_order_and_sampling_matches_pdf():
    X = np.array([[1.0], [1.0], [2.0]])
    kde = KDE(["ord"], [5]).fit(X)
    p = kde.pdf(np.arange(5.0)[:, None])
    assert p.sum() == pytest.approx(1.0)
    assert p[0] > p[4] and p[3] > p[4]  # closer levels get more mass
    s = kde.sample(np.random.default_rng(0), 50_000, bandwidth_factor=1.0)
    freq = np.bincount(s[:, 0].astype(int), minlength=5) / len(s)
    assert np.allclose(freq, p, atol=0.01)


def test_constant_columns_are_ignored():
    X = np.array([[0.2, 0.0], [0.4, 0.0], [0.9, 0.0]])
    with_const = KDE(["float", "const"], [0, 1], bandwidth="neighbors").fit(X)
    alone = KDE(["float"], [0], bandwidth="neighbors").fit(X[:, :1])
    q = np.array([[0.3, 0.0], [0.8, 0.0]])
    assert np.allclose(with_const.logpdf(q), alone.logpdf(q[:, :1]))
    assert with_const.n_modelled == 1
    assert np.all(with_const.sample(np.random.default_rng(1), 20)[:, 1] == 0.0)


def test_inactive_entries_are_imputed_from_active_rows():
    X = np.array([[0.1, 0.3], [0.2, np.nan], [0.3, 0.7], [0.4, np.nan]])
    kde = KDE(["float", "float"], [0, 0]).fit(X, np.random.default_rng(0))
    assert not np.isnan(kde.data_).any()
    assert set(np.round(kde.data_[[1, 3], 1], 6)) <= {0.3, 0.7}
    all_missing = KDE(["float", "cat"], [0, 3]).fit(np.array([[0.1, np.nan], [0.2, np.nan]]))
    assert np.all(np.isin(all_missing.data_[:, 1], [0, 1, 2]))


def test_nan_queries_marginalize_the_dimension():
    X = np.array([[0.1, 0.3], [0.2, 0.9], [0.8, 0.5]])
    joint = KDE(["float", "float"], [0, 0], bandwidth="neighbors").fit(X)
    first = KDE(["float"], [0], bandwidth="neighbors").fit(X[:, :1])
    q = np.array([[0.15, np.nan], [0.7, np.nan]])
    assert np.allclose(joint.logpdf(q), first.logpdf(q[:, :1]))


def test_sampling_is_seeded_in_range_and_widened_by_the_factor():
    rng = np.random.default_rng(3)
    X = np.c_[rng.normal(0.5, 0.05, 40).clip(0, 1), rng.integers(0, 3, 40)]
    kde = KDE(["float", "cat"], [0, 3]).fit(X)
    a = kde.sample(np.random.default_rng(7), 500)
    b = kde.sample(np.random.default_rng(7), 500)
    assert np.array_equal(a, b)
    assert a.shape == (500, 2) and a[:, 0].min() >= 0 and a[:, 0].max() <= 1
    assert set(np.unique(a[:, 1])) <= {0.0, 1.0, 2.0}
    wide = kde.sample(np.random.default_rng(7), 500, bandwidth_factor=3.0)
    assert wide[:, 0].std() > 1.5 * a[:, 0].std()


def test_high_dimensional_density_is_finite_and_vectorized():
    rng = np.random.default_rng(0)
    kinds = ["float"] * 16 + ["cat"] * 16
    kde = KDE(kinds, [0] * 16 + [2] * 16).fit(np.c_[rng.random((300, 16)), rng.integers(0, 2, (300, 16))])
    q = kde.sample(rng, 64, 3.0)
    lp = kde.logpdf(q)
    assert lp.shape == (64,) and np.all(np.isfinite(lp))


def test_bad_arguments_name_the_argument():
    with pytest.raises(ValueError, match="kinds"):
        KDE(["float", "weird"], [0, 0])
    with pytest.raises(ValueError, match="min_bandwidth"):
        KDE(["float"], [0], min_bandwidth=0)
    with pytest.raises(ValueError, match="bandwidth"):
        KDE(["float"], [0], bandwidth="silverman")
    with pytest.raises(ValueError, match="X"):
        KDE(["float"], [0]).fit(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="fit"):
        KDE(["float"], [0]).logpdf(np.zeros((1, 1)))


def test_untruncated_kernels_lose_mass_outside_the_cube():
    X = np.array([[0.02], [0.05], [0.98]])
    assert _integral(KDE(["float"], [0]).fit(X)) == pytest.approx(1.0, abs=1e-4)
    assert _integral(KDE(["float"], [0], truncate=False).fit(X)) < 0.95
