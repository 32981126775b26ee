"""lowfi.nas.Network: building, counting, training from inherited weights."""

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lowfi.nas.network import Network  # noqa: E402

torch.set_num_threads(1)


def test_random_is_deterministic_and_rebuildable():
    a = Network.random(kind="cnn", seed=7, skip_prob=0.5)
    b = Network.random(kind="cnn", seed=7, skip_prob=0.5)
    assert a.description == b.description
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert ka == kb and torch.equal(va, vb)
    c = Network(json.loads(json.dumps(a.description)))
    assert c.n_params == a.n_params and c.flops() == a.flops()
    assert a.input_shape == (1, 8, 8)
    assert Network.random(kind="mlp", seed=0).input_shape == (64,)


def test_forward_shapes_and_flops():
    net = Network({"input_shape": [3, 8, 8], "n_classes": 5, "layers": [
        {"op": "conv", "out": 4, "kernel": 3},
        {"op": "conv", "out": 6, "skips": [{"src": 0, "mode": "cat"}]},
        {"op": "pool"}, {"op": "gap"},
        {"op": "linear", "out": 5, "act": "none"}]}, seed=0)
    assert net(torch.zeros(2, 3, 8, 8)).shape == (2, 5)
    assert net.flops() == 3 * 4 * 9 * 64 + (4 + 3) * 6 * 9 * 64 + 6 * 5
    assert net.flops(batch=3) == 3 * net.flops()


def test_bad_arguments():
    with pytest.raises(ValueError, match="kind"):
        Network.random(kind="rnn")
    with pytest.raises(ValueError, match="op"):
        Network({"input_shape": [4], "n_classes": 2, "layers": [{"op": "lstm"}]})
    with pytest.raises(ValueError, match="vector"):
        Network({"input_shape": [4], "n_classes": 2, "layers": [
            {"op": "conv", "out": 2}, {"op": "linear", "out": 2, "act": "none"}]})


def test_short_training_resumes_from_inherited_weights():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    Xtr, ytr, Xva, yva = X[:1000], y[:1000], X[1000:], y[1000:]
    parent = Network.random(kind="mlp", seed=0, depth=(1, 1), widths=(16,), bn=False)
    parent.fit(Xtr, ytr, epochs=5, lr=1e-2, seed=0)
    err_parent = parent.error(Xva, yva)
    child = parent.morph("wider", rng=0, noise=0.01)
    assert child.error(Xva, yva) == pytest.approx(err_parent, abs=1e-9)
    scratch = Network(child.description, seed=0)
    child.fit(Xtr, ytr, epochs=0.5, lr=1e-2, seed=1)
    scratch.fit(Xtr, ytr, epochs=0.5, lr=1e-2, seed=1)
    # half an epoch from inherited weights beats half an epoch from scratch by far
    assert child.error(Xva, yva) < scratch.error(Xva, yva) - 0.1
    assert child.error(Xva, yva) < 0.25


def test_fit_and_error_name_bad_data():
    net = Network({"input_shape": [64], "n_classes": 10,
                   "layers": [{"op": "linear", "out": 16}, {"op": "linear", "out": 10, "act": "none"}]},
                  seed=0)
    X, y = np.random.default_rng(0).random((10, 64)), np.zeros(10, dtype=int)
    with pytest.raises(ValueError, match=r"X: got shape \(10, 30\); this network takes samples of shape \(64,\)"):
        net.fit(np.zeros((10, 30)), y)
    with pytest.raises(ValueError, match=r"X: got shape \(10, 30\)"):
        net.error(np.zeros((10, 30)), y)
    with pytest.raises(ValueError, match=r"y: got shape \(7,\); need one class index per sample of X \(10\)"):
        net.fit(X, y[:7])
    with pytest.raises(ValueError, match="batch_size: got 0"):
        net.fit(X, y, batch_size=0)
    with pytest.raises(ValueError, match=r"y: got labels from 12 to 12; allowed are class indices 0..9"):
        net.fit(X, y + 12)
    with pytest.raises(ValueError, match=r"not whole numbers"):
        net.fit(X, y + 0.5)
    assert 0.0 <= net.fit(X, y).error(X, y) <= 1.0
    assert net.error(X, y.astype(float)) == net.error(X, y)  # whole-number float labels work
