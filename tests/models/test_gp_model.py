import math

import numpy as np
import pytest
from scipy.optimize import approx_fprime

from lowfi.models.gp import GP, FreezeThawGP, GPFeatures
from lowfi.models.kernels import Constant, ExpDecay, FidelityBasis, Matern52, Product, Sum
from lowfi.space import Space


def toy(n=25, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, d))
    return X, np.sin(6 * X[:, 0]) + 0.5 * X[:, 1] ** 2 + 0.01 * rng.standard_normal(n)


def test_posterior_matches_closed_form():
    X = np.array([[0.1, 0.2], [0.7, 0.4], [0.4, 0.9]])
    y = np.array([1.0, -0.5, 0.3])
    k = Matern52(2)
    k.theta = np.log([0.4, 0.8])
    gp = GP(k, noise=0.01, normalize_y=False)
    gp.log_signal = math.log(1.5)
    gp.fit(X, y, optimize=False)
    Xs = np.array([[0.3, 0.3], [0.9, 0.9]])

    def matern(A, B):
        r = np.sqrt((((A[:, None, :] - B[None, :, :]) / np.array([0.4, 0.8])) ** 2).sum(-1))
        return 1.5 * (1 + math.sqrt(5) * r + 5 / 3 * r ** 2) * np.exp(-math.sqrt(5) * r)

    K = matern(X, X) + 0.01 * np.eye(3)
    ks = matern(X, Xs)
    mean = ks.T @ np.linalg.solve(K, y)
    cov = matern(Xs, Xs) - ks.T @ np.linalg.solve(K, ks)
    m, v = gp.predict(Xs)
    np.testing.assert_allclose(m, mean, rtol=1e-8)
    np.testing.assert_allclose(v, np.diag(cov), rtol=1e-7)
    m2, c2 = gp.predict(Xs, full_cov=True)
    np.testing.assert_allclose(c2, cov, rtol=1e-7, atol=1e-12)
    nll = 0.5 * y @ np.linalg.solve(K, y) + 0.5 * np.linalg.slogdet(K)[1] + 1.5 * math.log(2 * math.pi)
    lp, _ = k.log_prior()
    assert gp.log_marginal_likelihood() == pytest.approx(-nll, rel=1e-8)
    assert lp != 0.0


@pytest.mark.parametrize("kernel", [
    lambda: Matern52(3),
    lambda: Product(Matern52(2, cols=[0, 1]), FidelityBasis(2, "fabolas")),
    lambda: Product(Matern52(2, cols=[0, 1]), Sum(Constant(), ExpDecay(2))),
])
def test_analytic_gradient_matches_finite_differences(kernel):
    X, y = toy()
    gp = GP(kernel(), seed=0).fit(X, y, optimize=False)
    rng = np.random.default_rng(1)
    theta = gp._get() + 0.1 * rng.standard_normal(len(gp._get()))
    z = (y - y.mean()) / y.std()
    _, g = gp.neg_log_marginal_likelihood(theta, X, z)
    num = approx_fprime(theta, lambda t: gp.neg_log_marginal_likelihood(t, X, z)[0], 1e-6)
    np.testing.assert_allclose(g, num, rtol=1e-3, atol=1e-4)


def test_fit_returns_self_variance_nonnegative_and_interpolates():
    X, y = toy()
    gp = GP(seed=0)
    assert gp.fit(X, y) is gp
    m, v = gp.predict(X)
    assert np.all(v >= 0)
    assert np.abs(m - y).max() < 0.05
    Xs = np.random.default_rng(3).random((40, 3))
    _, cov = gp.predict(Xs, full_cov=True)
    assert np.linalg.eigvalsh(cov).min() > -1e-8
    np.testing.assert_allclose(np.diag(cov), gp.predict(Xs)[1], rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(gp.posterior_cov(Xs, Xs, pairwise=True), gp.predict(Xs)[1],
                               rtol=1e-6, atol=1e-10)


def test_marginal_likelihood_finds_irrelevant_dimension():
    X, y = toy(n=40)
    gp = GP(seed=0).fit(X, y)
    ls = np.exp(gp.kernel.theta)
    assert ls[2] > 3 * ls[0]  # y does not depend on x2


def test_sparse_posterior_above_max_exact_is_close_to_exact():
    X, y = toy(n=120, d=2)
    exact = GP(seed=0).fit(X, y)
    sparse = GP(seed=0, max_exact=50, n_inducing=100, n_hyper=120).fit(X, y)
    assert sparse.sparse and not exact.sparse
    Xs = np.random.default_rng(5).random((30, 2))
    me, ve = exact.predict(Xs)
    ms, vs = sparse.predict(Xs)
    assert np.abs(me - ms).max() < 0.05
    assert np.all(vs >= 0)
    _, cov = sparse.predict(Xs, full_cov=True)
    np.testing.assert_allclose(np.diag(cov), vs, rtol=1e-5, atol=1e-9)


def test_same_seed_same_fit():
    X, y = toy()
    a, b = GP(seed=4).fit(X, y), GP(seed=4).fit(X, y)
    np.testing.assert_array_equal(a._get(), b._get())


def test_bad_inputs_rejected():
    X, y = toy()
    with pytest.raises(ValueError, match="X"):
        GP().fit(np.where(X > 0.9, np.nan, X), y)
    with pytest.raises(ValueError, match="y"):
        GP().fit(X, y[:-1])
    with pytest.raises(ValueError, match="y"):
        GP().fit(X, np.full(len(y), np.inf))
    with pytest.raises(RuntimeError, match="fit"):
        GP().predict(X)
    gp = GP(seed=0).fit(X, y)
    with pytest.raises(ValueError, match="columns"):
        gp.predict(X[:, :2])
    with pytest.raises(ValueError, match="noise"):
        GP(noise=-1.0)
    with pytest.raises(TypeError, match="kernel"):
        GP(kernel="matern")
    with pytest.raises(ValueError, match="basis"):
        FidelityBasis(0, "cubic")


def test_features_one_hot_and_inactive_imputation():
    from ConfigSpace import Categorical, ConfigurationSpace, EqualsCondition, Float
    cs = ConfigurationSpace()
    c = Categorical("c", ["a", "b", "z"])
    x = Float("x", (0.0, 1.0))
    cs.add([c, x, EqualsCondition(x, c, "a")])
    space = Space(cs)
    f = GPFeatures(space)
    F = f.transform(space.encode([{"c": "b"}, {"c": "a", "x": 0.25}]))
    assert F.shape == (2, 4)
    ci = space.names.index("c")
    assert F[0].tolist().count(1.0) == 1 and F[1].tolist().count(1.0) == 1
    xi = [b for b in f.blocks if b[0] != ci][0][2]
    assert F[0, xi] == GPFeatures.inactive and F[1, xi] == pytest.approx(0.25)


def test_freeze_thaw_gp_matches_brute_force_joint_gp():
    rng = np.random.default_rng(0)
    N = 6
    X = rng.random((N, 2))
    curves = []
    for n in range(N):
        t = np.arange(1, rng.integers(2, 6) + 1, dtype=float)
        curves.append((t, 0.5 + X[n, 0] + np.exp(-0.5 * t) + 0.01 * rng.standard_normal(len(t))))
    m = FreezeThawGP(seed=0).fit(X, curves)
    th, d = m.theta, 2
    a, b, s2t, nv = (math.exp(v) for v in th[d + 2:])
    ts = [c[0] / m._tscale for c in curves]
    ys = [(c[1] - m._mean) / m._std for c in curves]
    kx = Matern52(d, prior=False)._with(th[1:d + 1])
    Kx = math.exp(th[0]) * kx.K(X)
    idx = np.concatenate([[n] * len(t) for n, t in enumerate(ts)])
    tt, r = np.concatenate(ts), np.concatenate(ys) - th[d + 1]
    Kt = s2t * np.exp(a * (math.log(b) - np.log(tt[:, None] + tt[None, :] + b))) * (idx[:, None] == idx[None, :])
    S = Kx[idx][:, idx] + Kt + nv * np.eye(len(tt))
    zp = (th[1:d + 1] - math.log(0.5)) / 1.5
    nll = 0.5 * (r @ np.linalg.solve(S, r) + np.linalg.slogdet(S)[1] + len(r) * math.log(2 * math.pi))
    assert m._nll(th) == pytest.approx(nll + 0.5 * (zp @ zp), rel=1e-8)
    xs = np.vstack([X[:1], rng.random((1, 2))])
    C = (math.exp(th[0]) * kx.K(X, xs))[idx]
    mu = th[d + 1] + C.T @ np.linalg.solve(S, r)
    var = math.exp(th[0]) - np.einsum("ij,ij->j", C, np.linalg.solve(S, C))
    pm, pv = m.predict_asymptote(xs)
    np.testing.assert_allclose(pm, mu * m._std + m._mean, rtol=1e-7)
    np.testing.assert_allclose(pv, var * m._std ** 2, rtol=1e-6)
    # a future point on curve 0
    tq = 10.0 / m._tscale
    cq = Kx[idx][:, 0] + s2t * np.exp(a * (math.log(b) - np.log(tt + tq + b))) * (idx == 0)
    kqq = Kx[0, 0] + s2t * np.exp(a * (math.log(b) - np.log(2 * tq + b)))
    cm, cv = m.predict_curve(0, [10.0])
    assert cm[0] == pytest.approx((th[d + 1] + cq @ np.linalg.solve(S, r)) * m._std + m._mean, rel=1e-7)
    assert cv[0] == pytest.approx((kqq - cq @ np.linalg.solve(S, cq)) * m._std ** 2, rel=1e-6)
    with pytest.raises(ValueError, match="curves"):
        FreezeThawGP().fit(X, curves[:-1])
