"""Network morphisms: exact ones keep the function, approximate ones report their distortion."""

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lowfi.nas import morphisms as M  # noqa: E402
from lowfi.nas.network import Network  # noqa: E402

torch.set_num_threads(1)

NETS = [(kind, seed, bn) for kind in ("mlp", "cnn") for seed in range(3) for bn in (False, True)]


def _net(kind, seed, bn):
    net = Network.random(kind=kind, seed=seed, bn=bn, skip_prob=0.6)
    if bn:  # non-trivial running statistics
        net.train()
        with torch.no_grad():
            for _ in range(3):
                net(torch.randn(16, *net.input_shape) * 2 + 0.5)
    net.eval()
    return net


def _out(net, x, train):
    net.train(train)
    with torch.no_grad():
        y = net(x)
    net.eval()
    return y


def _assert_same(parent, child, train, seed):
    x = torch.randn((32, *parent.input_shape), generator=torch.Generator().manual_seed(seed))
    a, b = _out(parent, x, train), _out(child, x, train)
    assert torch.allclose(a, b, atol=1e-5, rtol=1e-4), float((a - b).abs().max())


@pytest.mark.parametrize("kind,seed,bn", NETS)
@pytest.mark.parametrize("morph", ["wider", "deeper", "skip"])
def test_exact_morphisms_keep_output_in_eval_mode(kind, seed, bn, morph):
    parent = _net(kind, seed, bn)
    before = {k: v.clone() for k, v in parent.state_dict().items()}
    for r in range(3):
        kw = {"noise": 0.1} if morph == "wider" else {}
        child = parent.morph(morph, rng=100 * seed + r, **kw)
        _assert_same(parent, child, train=False, seed=r)
        assert child.morph_info["exact"] and child.morph_info["distortion"] < 1e-5
        # parent unchanged
        for k, v in parent.state_dict().items():
            assert torch.equal(v, before[k])
        # the child's description rebuilds the same architecture (JSON round trip)
        again = Network(json.loads(json.dumps(child.description)))
        assert again.n_params == child.n_params


@pytest.mark.parametrize("kind,seed", [(k, s) for k in ("mlp", "cnn") for s in range(3)])
@pytest.mark.parametrize("morph", ["wider", "skip"])
def test_wider_and_skip_exact_in_train_mode_with_bn(kind, seed, morph):
    # replicated BN channels see identical batch statistics; zero skips add nothing
    parent = _net(kind, seed, True)
    child = parent.morph(morph, rng=seed, **({"noise": 0.05} if morph == "wider" else {}))
    _assert_same(parent.copy(), child.copy(), train=True, seed=seed)


@pytest.mark.parametrize("kind,seed", [(k, s) for k in ("mlp", "cnn") for s in range(3)])
def test_deeper_exact_in_train_mode_without_bn(kind, seed):
    parent = _net(kind, seed, False)
    child = parent.morph("deeper", rng=seed)
    _assert_same(parent, child, train=True, seed=seed)


def test_deeper_bn_is_identity_in_eval_mode_only_as_documented():
    parent = _net("mlp", 0, True)
    child = parent.morph("deeper", rng=0, bn=True)
    new = [layer for layer in child.layers if layer.bn is not None]
    assert len(new) == len([layer for layer in parent.layers if layer.bn is not None]) + 1
    _assert_same(parent, child, train=False, seed=0)


def test_parameter_counts_change_as_expected():
    desc = {"input_shape": [64], "n_classes": 10, "layers": [
        {"op": "linear", "out": 16}, {"op": "linear", "out": 8},
        {"op": "linear", "out": 10, "act": "none"}]}
    net = Network(desc, seed=0)
    assert net.n_params == 64 * 16 + 16 + 16 * 8 + 8 + 8 * 10 + 10 == M.count_params(desc)
    assert net.flops() == 64 * 16 + 16 * 8 + 8 * 10
    # widen layer 1 from 16 to 20 units
    op = {"kind": "wider", "layer": 1, "idx": list(range(16)) + [0, 3, 3, 7], "noise": 0.0, "seed": 0}
    wide = M.apply(net, op)
    assert wide.n_params == net.n_params + 4 * (64 + 1) + 4 * 8
    # deeper after node 1 (width 16): + 16*16 + 16
    deep = M.apply(net, {"kind": "deeper", "after": 1, "bn": False, "seed": 0})
    assert deep.n_params == net.n_params + 16 * 16 + 16
    deep_bn = M.apply(net, {"kind": "deeper", "after": 1, "bn": True, "seed": 0})
    assert deep_bn.n_params == deep.n_params + 2 * 16
    # cat skip input (64) -> layer 2: + 64*8 ; add skip: projection 64 -> 16 (+ bias)
    cat = M.apply(net, {"kind": "skip", "target": 2, "src": 0, "mode": "cat", "seed": 0})
    assert cat.n_params == net.n_params + 64 * 8
    add = M.apply(net, {"kind": "skip", "target": 2, "src": 0, "mode": "add", "seed": 0})
    assert add.n_params == net.n_params + 64 * 16 + 16
    # shrink layer 2 to 3 units; remove layer 2 (16 -> 10 directly)
    small = M.apply(net, {"kind": "shrink", "layer": 2, "keep": 3, "seed": 0})
    assert small.n_params == net.n_params - 5 * (16 + 1) - 5 * 10
    rem = M.apply(net, {"kind": "remove", "layer": 2, "seed": 0})
    assert rem.n_params == 64 * 16 + 16 + 16 * 10 + 10
    for child in (wide, deep, deep_bn, cat, add, small, rem):
        assert child.n_params == M.count_params(child.description)
        assert child.flops() == M.count_flops(child.description)


def test_cnn_counts_match_torch():
    for seed in range(4):
        net = Network.random(kind="cnn", seed=seed, skip_prob=0.8)
        assert net.n_params == M.count_params(net.description)
        for kind in M.KINDS:
            if M.applicable(net.description, kind):
                child = net.morph(kind, rng=seed)
                assert child.n_params == M.count_params(child.description)


def test_wider_replicates_units_and_noise_breaks_symmetry():
    net = _net("mlp", 1, False)
    op = M.plan(net.description, "wider", rng=0, noise=0.1)
    child = M.apply(net, op)
    k = op["layer"]
    w = child.layers[k - 1].op.weight
    n = net.layers[k - 1].op.weight.shape[0]
    for new, src in enumerate(op["idx"][n:], start=n):
        assert torch.equal(w[new], w[src])  # incoming weights copied
    # consumer weights of copies differ (noise) but sum to the parent's
    nxt = child.layers[k].op.weight
    src = op["idx"][n]
    copies = [j for j, s in enumerate(op["idx"]) if s == src]
    assert not torch.allclose(nxt[:, copies[0]], nxt[:, copies[1]])
    assert torch.allclose(nxt[:, copies].sum(1), net.layers[k].op.weight[:, src], atol=1e-6)


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_approximate_morphisms_report_distortion(kind):
    for seed in range(3):
        net = _net(kind, seed, seed % 2 == 1)
        for morph in ("remove", "shrink"):
            if not M.applicable(net.description, morph):
                continue
            child = net.morph(morph, rng=seed)
            assert not child.morph_info["exact"]
            d = child.morph_info["distortion"]
            assert np.isfinite(d) and d == pytest.approx(M.distortion(net, child, seed=child.morph_info["op"]["seed"]))
            assert child.n_params < net.n_params or morph == "remove"


def test_remove_undoes_deeper_exactly():
    # removing an identity layer composes the identity into its consumer: no change
    net = _net("mlp", 2, False)
    deep = M.apply(net, {"kind": "deeper", "after": 1, "bn": False, "seed": 0})
    back = M.apply(deep, {"kind": "remove", "layer": 2, "seed": 0})
    assert back.description == net.description
    assert back.morph_info["distortion"] < 1e-5


def test_shrink_drops_least_important_units():
    desc = {"input_shape": [4], "n_classes": 2, "layers": [
        {"op": "linear", "out": 4}, {"op": "linear", "out": 2, "act": "none"}]}
    net = Network(desc, seed=0)
    with torch.no_grad():
        net.layers[0].op.weight[1] *= 1e-3  # unit 1 is nearly dead
    child = M.apply(net, {"kind": "shrink", "layer": 1, "keep": 3, "seed": 0})
    kept = child.layers[0].op.weight
    assert torch.equal(kept, net.layers[0].op.weight[[0, 2, 3]])


def test_plan_is_deterministic_and_validates():
    net = Network.random(kind="cnn", seed=3, skip_prob=0.5)
    assert M.plan(net.description, "wider", 5) == M.plan(net.description, "wider", 5)
    with pytest.raises(ValueError, match="kind"):
        M.plan(net.description, "fatter", 0)
    one = {"input_shape": [8], "n_classes": 2, "layers": [{"op": "linear", "out": 2, "act": "none"}]}
    with pytest.raises(ValueError, match="not applicable"):
        M.plan(one, "remove", 0)
    with pytest.raises(ValueError, match="classifier"):
        M.validate_description({"input_shape": [8], "n_classes": 3, "layers": [{"op": "linear", "out": 2}]})
    with pytest.raises(ValueError, match="src"):
        M.validate_description({"input_shape": [8], "n_classes": 2, "layers": [
            {"op": "linear", "out": 2, "act": "none", "skips": [{"src": 1, "mode": "add"}]}]})


def test_chains_of_morphisms_stay_exact():
    net = _net("cnn", 4, True)
    rng = np.random.default_rng(0)
    child = net
    for _ in range(8):
        kind = ["wider", "deeper", "skip"][int(rng.integers(3))]
        child = child.morph(kind, rng=rng, **({"noise": 0.05} if kind == "wider" else {}))
    _assert_same(net, child, train=False, seed=1)
