import numpy as np
import pytest

from lowfi.models.bnn import DNGO, Bohamiann, make_bnn


def toy(n=40, noise=0.05, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, 1))
    return X, np.sin(6 * X[:, 0]) + noise * rng.standard_normal(n)


INSIDE = np.linspace(0.05, 0.95, 19)[:, None]
OUTSIDE = np.array([[-0.6], [1.6]])


def fast_bohamiann(seed=0):
    return Bohamiann(n_burn_in=1000, n_samples=30, keep_every=30, seed=seed)


def test_dngo_hyperparameters_maximize_the_marginal_likelihood():
    X, y = toy()
    m = DNGO(n_steps=800, seed=0).fit(X, y)
    best = m.log_marginal_likelihood()
    for fa, fb in ((2, 1), (0.5, 1), (1, 2), (1, 0.5), (3, 3)):
        assert m.log_marginal_likelihood(m.alpha * fa, m.beta * fb) <= best + 1e-6


def test_dngo_fits_interpolates_and_is_unsure_away_from_the_data():
    X, y = toy()
    m = DNGO(n_steps=800, seed=0).fit(X, y)
    mean, var = m.predict(INSIDE)
    assert np.sqrt(np.mean((mean - np.sin(6 * INSIDE[:, 0])) ** 2)) < 0.15
    _, var_out = m.predict(OUTSIDE)
    assert var_out.min() > var.max()
    # closed form: covariances agree with the variances
    _, cov = m.predict(INSIDE, full_cov=True)
    np.testing.assert_allclose(np.diag(cov), var, rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(m.posterior_cov(INSIDE, INSIDE, pairwise=True), var, rtol=1e-6, atol=1e-10)
    assert m.sample(INSIDE, 3, rng=0).shape == (3, len(INSIDE))


def test_dngo_conditions_on_fantasies_without_retraining():
    X, y = toy()
    m = DNGO(n_steps=500, seed=0).fit(X, y)
    x_new = np.array([[1.3]])
    mu, v0 = m.predict(x_new)
    theta = m.theta.copy()
    m.fit(np.vstack([X, x_new]), np.concatenate([y, mu]), optimize=False)
    mu1, v1 = m.predict(x_new)
    np.testing.assert_array_equal(m.theta, theta)
    assert v1[0] < 0.7 * v0[0]
    assert abs(mu1[0] - mu[0]) < 1e-6 * max(1.0, abs(mu[0])) + 1e-6


def test_bohamiann_samples_fit_the_data_and_the_noise():
    X, y = toy(n=60, noise=0.1)
    m = fast_bohamiann().fit(X, y)
    assert m.samples.shape[0] == 30
    mean, var = m.predict(INSIDE)
    assert np.sqrt(np.mean((mean - np.sin(6 * INSIDE[:, 0])) ** 2)) < 0.2
    # the sampled noise variance is near the true 0.01 (a factor-8 margin: a short chain)
    assert 0.00125 < m.noise_var < 0.08
    # epistemic uncertainty grows away from the data
    _, var_out = m.predict(OUTSIDE)
    assert var_out.min() > np.median(var)
    _, cov = m.predict(INSIDE, full_cov=True)
    np.testing.assert_allclose(np.diag(cov), var, rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(m.posterior_cov(INSIDE, OUTSIDE), m.posterior_cov(OUTSIDE, INSIDE).T)


def test_bohamiann_same_seed_same_samples():
    X, y = toy(n=20)
    a = Bohamiann(n_burn_in=100, n_samples=5, keep_every=10, seed=3).fit(X, y)
    b = Bohamiann(n_burn_in=100, n_samples=5, keep_every=10, seed=3).fit(X, y)
    np.testing.assert_array_equal(a.samples, b.samples)


def test_bad_inputs_rejected():
    with pytest.raises(ValueError, match="hidden"):
        DNGO(hidden=())
    with pytest.raises(ValueError, match="n_samples"):
        Bohamiann(n_samples=1)
    with pytest.raises(ValueError, match="lr"):
        Bohamiann(lr=2.0)
    with pytest.raises(ValueError, match="weight_decay"):
        DNGO(weight_decay=-1)
    with pytest.raises(ValueError, match="model"):
        make_bnn("gp")
    with pytest.raises(RuntimeError, match="fit"):
        DNGO().predict([[0.1]])
    with pytest.raises(ValueError, match="y"):
        DNGO(n_steps=5).fit([[0.1], [0.2]], [1.0, np.nan])
    m = DNGO(n_steps=5).fit([[0.1], [0.2], [0.3]], [1.0, 2.0, 0.5])
    with pytest.raises(ValueError, match="columns"):
        m.predict([[0.1, 0.2]])


def test_scale_adapted_sghmc_samples_a_gaussian_across_scales():
    """BOHAMIANN's sampler (also LC-Net's): with exact gradients of a Gaussian potential whose
    two scales differ 50x, the kept states have the target's mean and standard deviations
    (the preconditioner adapts each parameter's scale)."""
    from lowfi.models.bnn import ScaleAdaptedSGHMC

    mu, sd = np.array([1.0, -3.0]), np.array([0.1, 5.0])
    sampler = ScaleAdaptedSGHMC(2, lr=1e-2, friction=0.05, rng=0)
    theta, kept = np.zeros(2), []
    for t in range(60000):
        theta = sampler.step(theta, (theta - mu) / sd ** 2, adapt=t < 5000)
        if t >= 5000:
            kept.append(theta)
    kept = np.array(kept)
    assert np.all(np.abs(kept.mean(0) - mu) < 0.5 * sd)
    ratio = kept.std(0) / sd
    assert np.all((ratio > 0.6) & (ratio < 1.5)), ratio
