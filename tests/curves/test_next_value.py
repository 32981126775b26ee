import numpy as np
import pytest

from lowfi.curves.next_value import LSTMNextValue, WindowForest, window_pairs


def curves(n=30, T=40, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(1, T + 1)
    fin = rng.uniform(0.05, 0.4, n)
    rate = rng.uniform(0.05, 0.3, n)
    return (
        fin[:, None] + 0.6 * np.exp(-rate[:, None] * t[None]) + 0.002 * rng.standard_normal((n, T))
    )


def test_window_pairs():
    W, d = window_pairs([np.arange(6.0)], 3)
    assert W.shape == (3, 3) and np.allclose(d, 1.0)
    with pytest.raises(ValueError, match="window"):
        window_pairs([np.arange(3.0)], 3)


def test_window_forest_extrapolates_better_than_last_value():
    C = curves()
    test = curves(10, seed=1)
    m = WindowForest(window=5, seed=0).fit(C)
    errs, base = [], []
    for c in test:
        p = m.predict(c[:15], horizon=25)
        assert p.samples.shape == (50, 25)
        errs.append(abs(p.mean[-1] - c[-1]))
        base.append(abs(c[14] - c[-1]))
    assert np.mean(errs) < 0.6 * np.mean(base)
    again = WindowForest(window=5, seed=0).fit(C).predict(test[0][:15], 25).mean
    np.testing.assert_array_equal(again, m.predict(test[0][:15], 25).mean)


def test_lstm_mc_dropout_runs_and_is_deterministic():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    C = curves(12, T=30)
    kw = dict(window=4, hidden=8, epochs=15, batch_size=32, lr=1e-2, n_mc=20, seed=0)
    m = LSTMNextValue(**kw).fit(C)
    p = m.predict(C[0][:10], horizon=20)
    assert p.samples.shape == (20, 20) and np.all(np.isfinite(p.f))
    assert np.std(p.f[:, -1]) > 0  # dropout masks give different paths
    p2 = LSTMNextValue(**kw).fit(C).predict(C[0][:10], horizon=20)
    np.testing.assert_allclose(p.mean, p2.mean)
    # trained: the next-step prediction is closer than a constant continuation on average
    assert abs(p.mean[-1] - C[0][-1]) < abs(C[0][9] - C[0][-1])
