import numpy as np
import pytest

from lowfi.curves import FAMILIES, FAMILY_NAMES, get_families
from lowfi.curves.domhan import fit_family

X = np.arange(1.0, 201.0)


def test_eleven_families_of_the_paper():
    assert len(FAMILY_NAMES) == 11
    assert set(FAMILY_NAMES) == {
        "vap",
        "pow3",
        "loglog_linear",
        "hill3",
        "log_power",
        "pow4",
        "mmf",
        "exp4",
        "janoschek",
        "weibull",
        "ilog2",
    }


@pytest.mark.parametrize("name", FAMILY_NAMES)
def test_vectorized_shape_and_increasing_under_prior(name):
    fam = FAMILIES[name]
    rng = np.random.default_rng(0)
    theta = fam.sample_prior(rng, 300)
    assert fam.valid(theta).all()
    F = fam(X, theta)
    assert F.shape == (300, X.size)
    assert np.all(np.isfinite(F))
    # every prior draw is a non-decreasing (accuracy-like) curve
    assert np.all(np.diff(F, axis=1) >= -1e-9 * (1 + np.abs(F[:, 1:])))


@pytest.mark.parametrize("name", FAMILY_NAMES)
def test_constraints_reject_outside_box(name):
    fam = FAMILIES[name]
    bad = np.array(fam.upper, dtype=float) + 1.0
    assert not fam.valid(bad[None])[0]
    with pytest.raises(ValueError, match="theta"):
        fam(X, np.zeros((2, fam.n_params + 1)))


def test_saturating_families_are_bounded():
    rng = np.random.default_rng(1)
    for name in ("pow3", "hill3", "log_power", "pow4", "mmf", "exp4", "janoschek", "weibull"):
        fam = FAMILIES[name]
        theta = fam.sample_prior(rng, 200)
        far = fam(np.array([1e8]), theta)[:, 0]
        near = fam(np.array([1e4]), theta)[:, 0]
        assert np.all(np.isfinite(far)) and np.all(far >= near - 1e-9)


@pytest.mark.parametrize(
    "name,theta",
    [
        ("pow3", [0.9, 0.7, 0.6]),
        ("exp4", [0.95, 0.3, 0.5, 0.2]),
        ("ilog2", [1.0, 0.4]),
        ("vap", [-0.1, -0.8, 0.05]),
        ("loglog_linear", [0.3, 1.2]),
        ("hill3", [0.9, 1.5, 2.0]),
        ("mmf", [0.9, 0.1, -2.0, 1.3]),
        ("weibull", [0.9, 0.1, -2.5, 1.0]),
    ],
)
def test_least_squares_recovers_noiseless_curve(name, theta):
    fam = FAMILIES[name]
    x = np.arange(1.0, 51.0)
    y = fam(x, np.array(theta))[0]
    est, sse = fit_family(fam, x, y, np.random.default_rng(0))
    assert sse < 1e-8
    # the curve is recovered everywhere, also beyond the data
    xf = np.arange(1.0, 201.0)
    np.testing.assert_allclose(fam(xf, est)[0], fam(xf, np.array(theta))[0], atol=2e-3)
    if name in ("pow3", "exp4", "ilog2", "loglog_linear"):
        np.testing.assert_allclose(est, theta, rtol=2e-2, atol=2e-3)


def test_get_families_rejects_unknown():
    with pytest.raises(ValueError, match="nope"):
        get_families(["pow3", "nope"])
    assert [f.name for f in get_families(["pow3"])] == ["pow3"]
