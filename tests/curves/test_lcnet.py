import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lowfi.curves.lcnet import LCNet  # noqa: E402

T = 30
STEPS = np.arange(1, T + 1, dtype=float)


def synthetic(n, seed):
    rng = np.random.default_rng(seed)
    X = rng.random((n, 2))
    final = 0.1 + 0.5 * X[:, 0]
    C = final[:, None] + 0.5 * STEPS[None] ** -(0.5 + X[:, 1:2])
    return X, C + 0.003 * rng.standard_normal(C.shape)


def test_lcnet_predicts_unseen_configurations():
    torch.set_num_threads(1)
    X, C = synthetic(24, 0)
    # half the training curves are partial (first 8 steps): LC-Net learns from them too
    curves = [(STEPS, c) if i % 2 else (STEPS[:8], c[:8]) for i, c in enumerate(C)]
    m = LCNet(method="ensemble", n_members=2, epochs=60, hidden=16, seed=0).fit(X, curves)
    Xt, Ct = synthetic(20, 1)
    mean, std = m.predict_final(Xt, T)
    mae = np.mean(np.abs(mean - Ct[:, -1]))
    baseline = np.mean(np.abs(C[1::2, -1].mean() - Ct[:, -1]))  # mean of seen finals
    assert mae < 0.6 * baseline
    assert np.all(std > 0)
    p = m.predict(Xt[0], STEPS)
    assert p.f.shape == (2, T) and np.allclose(p.mean[-1], mean[0], atol=1e-5)
    m2 = LCNet(method="ensemble", n_members=2, epochs=60, hidden=16, seed=0).fit(X, curves)
    np.testing.assert_allclose(m2.predict_final(Xt, T)[0], mean, atol=1e-6)


def test_lcnet_sghmc_samples_predict_unseen_configurations():
    """LC-Net with BOHAMIANN's SGHMC sampler: the kept networks predict the final values of
    configurations never run (the same task as the ensemble's test), their spread is > 0 and
    widens where the curve was not observed, and a seed fixes the samples."""
    torch.set_num_threads(1)
    X, C = synthetic(24, 0)
    curves = [(STEPS, c) if i % 2 else (STEPS[:8], c[:8]) for i, c in enumerate(C)]
    kw = dict(method="sghmc", n_burn_in=1500, n_samples=10, keep_every=20, hidden=16, seed=0)
    m = LCNet(**kw).fit(X, curves)
    assert len(m.members_) == 10
    Xt, Ct = synthetic(20, 1)
    mean, std = m.predict_final(Xt, T)
    mae = np.mean(np.abs(mean - Ct[:, -1]))
    baseline = np.mean(np.abs(C[1::2, -1].mean() - Ct[:, -1]))
    assert mae < 0.6 * baseline
    assert np.all(std > 0)
    p = m.predict(Xt[0], STEPS)
    assert p.f.shape == (10, T)
    spread = p.f.std(0)
    assert spread[-1] > 0
    np.testing.assert_allclose(LCNet(**kw).fit(X, curves).predict_final(Xt, T)[0], mean, atol=1e-6)


def test_lcnet_bad_input():
    with pytest.raises(ValueError, match="n_members"):
        LCNet(n_members=0)
    with pytest.raises(ValueError, match="curves"):
        LCNet().fit(np.zeros((2, 1)), [(STEPS, STEPS)])
    with pytest.raises(ValueError, match="method"):
        LCNet(method="mcmc")
    with pytest.raises(ValueError, match="n_burn_in"):
        LCNet(n_burn_in=-1)
    with pytest.raises(ValueError, match="sghmc_lr"):
        LCNet(sghmc_lr=2.0)


@pytest.mark.slow
def test_lcnet_proposer_inside_hyperband_ask_tell():
    torch.set_num_threads(1)
    from lowfi.optimizers.hyperband import Hyperband
    from lowfi.optimizers.lcnet import LCNetProposer

    def loss(cfg, budget):  # a learning curve whose final value depends on a
        return 0.1 + (cfg["a"] - 0.7) ** 2 + 0.5 * budget ** -(0.5 + cfg["b"])

    space = {"a": (0.0, 1.0), "b": (0.0, 1.0)}

    def run():
        prop = LCNetProposer(
            max_budget=9, min_points=8, refit_every=10, n_members=2, epochs=100, hidden=16
        )
        opt = Hyperband(space, min_budget=1, max_budget=9, eta=3, proposer=prop, seed=0)
        for _ in range(40):
            t = opt.ask()
            opt.tell(t, loss(t.config, t.budget))
        return prop, opt

    prop, opt = run()
    assert prop.model_ is not None and prop._fitted_on >= 20
    # the model ranks unseen configurations by their loss at the full budget
    rng = np.random.default_rng(1)
    X = rng.random((40, 2))
    pred, _ = prop.model_.predict_final(X, 9)
    true = np.array([loss({"a": a, "b": b}, 9) for a, b in X])
    rank = lambda v: np.argsort(np.argsort(v))  # noqa: E731
    assert np.corrcoef(rank(pred), rank(true))[0, 1] > 0.4  # random ranking: 0 +- 0.16
    cfg = prop.propose(opt.history, 9)
    assert set(cfg) == {"a", "b"} and all(0 <= v <= 1 for v in cfg.values())
    prop2, opt2 = run()
    assert [t.config for t in opt2.history.records] == [t.config for t in opt.history.records]
