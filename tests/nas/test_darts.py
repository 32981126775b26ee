"""Tests of lowfi.nas.darts (DARTS, warm-starting, RobustDARTS, Auto-DispNet cells)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lowfi.nas import darts  # noqa: E402
from lowfi.nas.darts import (  # noqa: E402
    PRIMITIVES,
    Architect,
    EncoderDecoder,
    Genotype,
    MixedOp,
    Network,
    SearchEncoderDecoder,
    SearchNetwork,
    SearchUpCell,
    UpCell,
    darts_search,
    discretize,
    dominant_eigenvalue,
    n_edges,
    random_genotype,
)

torch.set_num_threads(1)


def tiny_model(seed=0, dtype=torch.float64):
    model = SearchNetwork(C=2, num_classes=3, layers=2, n_nodes=1, stem_multiplier=1, seed=seed,
                          alpha_init_scale=0.5)
    return model.to(dtype)


def tiny_batch(seed, n=6, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 1, 4, 4, generator=g, dtype=dtype)
    y = torch.arange(n) % 3
    return x, y


def test_mixed_op_equals_weighted_sum_of_candidates():
    torch.manual_seed(0)
    for stride in (1, 2):
        op = MixedOp(4, stride).double()
        x = torch.randn(3, 4, 6, 6, dtype=torch.float64)
        w = torch.softmax(torch.randn(len(PRIMITIVES), dtype=torch.float64), 0)
        expected = sum(w[i] * op.ops[i](x) for i in range(len(PRIMITIVES)))
        got = op(x, w)
        assert got.shape == (3, 4, 6 // stride, 6 // stride)
        torch.testing.assert_close(got, expected)
        # a one-hot weight picks exactly that candidate
        one_hot = torch.zeros(len(PRIMITIVES), dtype=torch.float64)
        one_hot[PRIMITIVES.index("sep_conv_3x3")] = 1.0
        torch.testing.assert_close(op(x, one_hot), op.ops[PRIMITIVES.index("sep_conv_3x3")](x))


def test_second_order_gradient_matches_finite_differences():
    model = tiny_model(seed=1)
    train, val = tiny_batch(1), tiny_batch(2)
    xi, wd = 0.2, 1e-2
    arch = Architect(model, "second", xi=xi, weight_decay=wd, eps_scale=1e-4)
    got = torch.cat([g.reshape(-1) for g in arch.gradient(train, val)])
    # the DARTS default radius (eps = 0.01 / ||grad||) has an O(eps^2) error
    darts_default = Architect(model, "second", xi=xi, weight_decay=wd)
    got_default = torch.cat([g.reshape(-1) for g in darts_default.gradient(train, val)])
    first = torch.cat([g.reshape(-1) for g in Architect(model, "first").gradient(train, val)])
    alphas, weights = model.arch_parameters(), model.weights()
    saved = [w.detach().clone() for w in weights]

    def unrolled_val_loss() -> float:  # L_val(w - xi * grad_w L_train(w, alpha), alpha)
        g = torch.autograd.grad(arch.train_loss(train), weights, allow_unused=True)
        with torch.no_grad():
            for w, gw in zip(weights, g):
                if gw is not None:
                    w.sub_(xi * gw)
            out = float(arch.val_loss(val))
            for w, s in zip(weights, saved):
                w.copy_(s)
        return out

    h, numeric = 1e-5, []
    for a in alphas:
        flat = a.data.view(-1)
        for k in range(flat.numel()):
            old = float(flat[k])
            flat[k] = old + h
            plus = unrolled_val_loss()
            flat[k] = old - h
            minus = unrolled_val_loss()
            flat[k] = old
            numeric.append((plus - minus) / (2 * h))
    numeric = torch.tensor(numeric, dtype=torch.float64)
    # the unrolled term matters on this problem, so the check can tell first from second order
    assert (first - numeric).norm() > 20 * (got - numeric).norm()
    torch.testing.assert_close(got, numeric, rtol=1e-4, atol=1e-7)
    assert (got_default - numeric).norm() < 0.05 * numeric.norm()
    for w, s in zip(weights, saved):  # weights restored
        assert torch.equal(w.detach(), s)


def test_discretize_picks_strongest_nonzero_ops():
    n_nodes, ops = 2, PRIMITIVES
    w = np.full((n_edges(n_nodes), len(ops)), 0.01)
    idx = ops.index
    # node 0: edges from states 0, 1
    w[0, idx("none")] = 0.9          # zero dominates edge 0 but is never chosen
    w[0, idx("sep_conv_3x3")] = 0.05
    w[1, idx("max_pool_3x3")] = 0.3
    # node 1: edges from states 0, 1, 2 -> keep the two strongest non-zero: 2 and 0
    w[2, idx("dil_conv_5x5")] = 0.4
    w[3, idx("none")] = 0.99
    w[3, idx("skip_connect")] = 0.02
    w[4, idx("skip_connect")] = 0.5
    got = discretize(w, n_nodes)
    assert got == (("sep_conv_3x3", 0), ("max_pool_3x3", 1),
                   ("dil_conv_5x5", 0), ("skip_connect", 2))
    with pytest.raises(ValueError, match="weights"):
        discretize(w[:3], n_nodes)

    model = SearchNetwork(C=2, layers=2, n_nodes=2, seed=0)
    with torch.no_grad():
        model.alpha_normal.copy_(torch.tensor(np.log(w / w.sum(1, keepdims=True))))
    assert model.genotype().normal == got


def test_eigenvalue_matches_exact_hessian():
    model = tiny_model(seed=3)
    x, y = tiny_batch(4)
    alphas = model.arch_parameters()
    shapes = [a.shape for a in alphas]
    sizes = [a.numel() for a in alphas]

    def loss_of(flat):
        parts = [p.reshape(s) for p, s in zip(torch.split(flat, sizes), shapes)]
        return torch.nn.functional.cross_entropy(model(x, alphas=parts), y)

    flat0 = torch.cat([a.detach().reshape(-1) for a in alphas])
    H = torch.autograd.functional.hessian(loss_of, flat0)
    eig = torch.linalg.eigvalsh((H + H.T) / 2)
    exact = float(eig[eig.abs().argmax()])
    got = darts.alpha_hessian_eigenvalue(model, (x, y), n_iter=2000, seed=0)
    assert got == pytest.approx(exact, rel=1e-3)
    largest = darts.alpha_hessian_eigenvalue(model, (x, y), n_iter=3000, seed=0, which="largest")
    assert largest == pytest.approx(float(eig[-1]), rel=1e-3, abs=1e-6)

    # a quadratic with a known spectrum, negative dominant eigenvalue included
    A = torch.diag(torch.tensor([1.0, -3.0, 0.5], dtype=torch.float64))
    p = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    lam = dominant_eigenvalue(lambda: 0.5 * p @ A @ p + p.sum() ** 3, [p], n_iter=200, tol=1e-12)
    assert lam == pytest.approx(-3.0, rel=1e-6)
    lam = dominant_eigenvalue(lambda: 0.5 * p @ A @ p + p.sum() ** 3, [p], n_iter=200, tol=1e-12,
                              which="largest")
    assert lam == pytest.approx(1.0, rel=1e-6)


def _data(n=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(n, 1, 4, 4, generator=g), torch.arange(n) % 3)


def test_warmstart_keeps_alpha_uniform_for_the_set_epochs():
    model = SearchNetwork(C=2, num_classes=3, layers=2, n_nodes=1, seed=0)
    res = darts_search(model, _data(), _data(seed=1), epochs=4, warmstart_epochs=2, batch_size=6,
                       eigenvalue_every=0, arch_lr=0.05, seed=0)
    uniform = 1.0 / len(PRIMITIVES)
    for h in res.history:
        w = np.concatenate([np.asarray(v) for v in h["alphas"].values()])
        if h["epoch"] < 2:
            assert h["phase"] == "warmstart"
            np.testing.assert_array_equal(w, np.full_like(w, uniform))
        else:
            assert h["phase"] == "search"
            assert np.abs(w - uniform).max() > 1e-4
    # without warm-start alpha moves in the first epoch
    res0 = darts_search(SearchNetwork(C=2, num_classes=3, layers=2, n_nodes=1, seed=0), _data(),
                        _data(seed=1), epochs=1, batch_size=6, eigenvalue_every=0, seed=0)
    w0 = np.concatenate([np.asarray(v) for v in res0.history[0]["alphas"].values()])
    assert np.abs(w0 - uniform).max() > 1e-4


def test_search_is_deterministic_and_reports_fractions():
    kw = dict(epochs=2, warmstart_epochs=1, batch_size=6, eigen_iters=3, eigen_batch=6, seed=5,
              order="second", drop_path=0.3, weight_decay=3e-3)
    runs = [darts_search(SearchNetwork(C=2, num_classes=3, layers=2, n_nodes=1, seed=2), _data(),
                         _data(seed=1), **kw) for _ in range(2)]
    assert runs[0].genotype == runs[1].genotype
    assert [h["val_loss"] for h in runs[0].history] == [h["val_loss"] for h in runs[1].history]
    h = runs[0].history[-1]
    assert h["eigenvalue"] is not None and np.isfinite(h["eigenvalue"])
    g = runs[0].final_genotype
    assert h["skip_fraction"] == g.skip_fraction()
    assert h["parameterless_fraction"] == g.parameterless_fraction()
    assert "eigen" in runs[0].report()


def test_eigenvalue_early_stopping_returns_earlier_genotype(monkeypatch):
    values = iter([1.0, 1.1, 1.2, 3.0, 6.0, 9.0, 12.0])
    monkeypatch.setattr(darts.search, "alpha_hessian_eigenvalue", lambda *a, **k: next(values))
    res = darts_search(SearchNetwork(C=2, num_classes=3, layers=2, n_nodes=1, seed=0), _data(),
                       _data(seed=1), epochs=7, batch_size=6, early_stop=True, es_window=1,
                       es_k=1, arch_lr=0.05, seed=0)
    # 1.2 / 3.0 < 0.75 at epoch 3 -> stop, return the genotype of epoch 2
    assert res.stopped_early and res.stop_epoch == 3 and len(res.history) == 4
    assert res.genotype == Genotype.from_dict(res.history[2]["genotype"])
    assert res.genotype.meta["epoch"] == 2
    # a sign change of a near-zero eigenvalue is not a growth of curvature: no stop
    values = iter([-0.02, 0.003, 0.003, 0.003])
    res = darts_search(SearchNetwork(C=2, num_classes=3, layers=2, n_nodes=1, seed=0), _data(),
                       _data(seed=1), epochs=4, batch_size=6, early_stop=True, es_window=1,
                       es_k=1, seed=0)
    assert not res.stopped_early and len(res.history) == 4


def test_upsampling_cell_output_shapes():
    g = random_genotype(0, n_nodes=2, with_up=True)
    s0, s1, skip = torch.randn(2, 5, 2, 2), torch.randn(2, 6, 4, 4), torch.randn(2, 3, 8, 8)
    cell = SearchUpCell(2, 5, 6, 3, 4)
    weights = torch.softmax(torch.randn(n_edges(2, 3), len(PRIMITIVES)), -1)
    assert cell(s0, s1, weights, skip=skip).shape == (2, 2 * 4, 8, 8)
    assert UpCell(g.up, 2, 5, 6, 3, 4)(s0, s1, skip=skip).shape == (2, 2 * 4, 8, 8)
    with pytest.raises(ValueError, match="skip"):
        cell(s0, s1, weights)
    for size in (8, 16):
        x = torch.randn(2, 1, size, size)
        assert SearchEncoderDecoder(C=2, n_levels=2, n_nodes=2)(x).shape == x.shape
        assert EncoderDecoder(g, C=2, n_levels=2)(x).shape == x.shape
    assert SearchEncoderDecoder(C=2, n_nodes=2).genotype().up is not None


def test_genotype_builds_the_chosen_network():
    skip_all = tuple(("skip_connect", i) for i in (0, 1, 0, 2))
    conv = tuple(("sep_conv_3x3", i) for i in (0, 1, 1, 2))
    g = Genotype(skip_all, conv, None, n_nodes=2)
    assert g.skip_fraction() == 0.5 and g.parameterless_fraction() == 0.5
    assert Genotype.from_dict(g.to_dict()) == g
    net = Network(g, C=4, num_classes=10, layers=3)
    kinds = [type(m).__name__ for m in net.cells[0].ops]
    assert kinds == ["Identity"] * 4
    assert [type(m).__name__ for m in net.cells[1].ops] == ["SepConv"] * 4
    assert net(torch.randn(2, 1, 8, 8)).shape == (2, 10)
    with pytest.raises(ValueError, match="genotype"):
        Network(Genotype(skip_all[:2], conv, None, n_nodes=2))
    # a random genotype never uses 'none' and reads only earlier states
    r = random_genotype(3, n_nodes=4)
    assert all(op != "none" for op in r.ops())
    assert all(i < 2 + k // 2 for k, (_, i) in enumerate(r.normal))


def test_drop_path_zeroes_whole_samples_and_rescales():
    x = torch.ones(400, 2, 3, 3, dtype=torch.float64)
    y = darts.drop_path(x, 0.25, torch.Generator().manual_seed(0))
    per_sample = y.reshape(400, -1)
    assert set(torch.unique(per_sample).tolist()) <= {0.0, 1 / 0.75}
    assert torch.all(per_sample.min(1).values == per_sample.max(1).values)
    assert 0.15 < float((per_sample[:, 0] == 0).float().mean()) < 0.35


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="warmstart_epochs"):
        darts_search(tiny_model(), _data(), _data(), epochs=2, warmstart_epochs=3)
    with pytest.raises(ValueError, match="order"):
        Architect(tiny_model(), order="third")
    with pytest.raises(ValueError, match="name"):
        darts.make_op("conv_7x7", 4, 1)


@pytest.mark.parametrize("engine", ["ask_tell", "auto"])
def test_nas_then_hpo_runs_search_then_multifidelity_hpo(engine):
    import importlib.util
    import warnings

    import lowfi.optimizers as lo

    g = torch.Generator().manual_seed(0)
    X = torch.randn(40, 1, 4, 4, generator=g)
    Y = torch.arange(40) % 3
    data = {"search_train": (X[:10], Y[:10]), "search_val": (X[10:20], Y[10:20]),
            "train": (X[:20], Y[:20]), "val": (X[20:30], Y[20:30]), "test": (X[30:], Y[30:])}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = darts.nas_then_hpo(
            data=data, search_config=darts.SearchConfig(epochs=2, warmstart_epochs=1, batch_size=10,
                                                        eigenvalue_every=0),
            supernet_kwargs=dict(C=2, num_classes=3, layers=2, n_nodes=1),
            min_budget=1, max_budget=3, eta=3, engine=engine, seed=0)
    expected = "bohb" if "bohb" in lo.available() else "hyperband"
    assert res.optimizer == expected
    has_loop = importlib.util.find_spec("lowfi.run.loop") is not None
    assert res.engine == ("minimize" if engine == "auto" and has_loop else "ask_tell")
    if expected == "hyperband":
        assert any("BOHB is not available" in str(w.message) for w in caught)
    # one Hyperband iteration for (1, 3, 3): 3 configs at 1 epoch, 1 promoted, 2 at 3 epochs
    assert len(res.trials) == 6
    assert sorted({t["budget"] for t in res.trials}) == [1.0, 3.0]
    assert set(res.best_config) == {"lr", "weight_decay", "batch_size"}
    assert res.best_loss == min(t["loss"] for t in res.trials if t["budget"] == 3.0)
    assert 0.0 <= res.test_metric <= 1.0
    assert isinstance(res.genotype, Genotype)


def test_cutout_zeroes_one_clipped_square_per_chosen_image():
    from lowfi.nas.darts import cutout

    x = torch.ones(200, 2, 6, 6)
    rng = np.random.default_rng(0)
    assert cutout(x, 0.0, 3, rng) is x
    out = cutout(x, 1.0, 3, rng)
    zero = (out == 0).numpy()
    assert (zero[:, 0] == zero[:, 1]).all()  # the same square in every channel
    for m in zero[:, 0]:
        r, c = np.nonzero(m)
        assert 1 <= len(r) <= 9
        # a full (clipped) rectangle of side <= 3
        assert len(r) == (r.max() - r.min() + 1) * (c.max() - c.min() + 1) and np.ptp(r) < 3 and np.ptp(c) < 3
    assert (zero[:, 0].sum((1, 2)) == 9).mean() > 0.2  # many squares lie fully inside
    half = cutout(x, 0.5, 2, np.random.default_rng(1))
    cut = (half == 0).any(3).any(2).any(1).float().mean()
    assert 0.35 < float(cut) < 0.65
    assert float(cutout(x, 1.0, 12, rng).abs().sum()) == 0.0  # a square larger than the image


def test_data_augmentation_regularizes_the_inner_objective_on_schedule(monkeypatch):
    calls = []
    real = darts.search.cutout

    def spy(x, prob, length, rng):
        out = real(x, prob, length, rng)
        calls.append((prob, length, float((out == 0).float().mean()), len(x)))
        return out

    monkeypatch.setattr(darts.search, "cutout", spy)
    res = darts_search(SearchNetwork(C=2, num_classes=3, layers=2, n_nodes=1, seed=0), _data(),
                       _data(seed=1), epochs=3, warmstart_epochs=1, batch_size=6,
                       eigenvalue_every=0, seed=0, cutout_prob=0.8, cutout_length=2)
    assert [h["cutout_prob"] for h in res.history] == pytest.approx([0.0, 0.4, 0.8])
    probs = sorted({c[0] for c in calls})
    assert probs == pytest.approx([0.0, 0.4, 0.8]) and all(c[1] == 2 for c in calls)
    assert all(c[3] == 6 for c in calls)  # training batches only (12 images, batch 6: 2 per epoch)
    assert len(calls) == 6
    assert max(c[2] for c in calls) > 0  # images were cut
    const = darts_search(SearchNetwork(C=2, num_classes=3, layers=2, n_nodes=1, seed=0), _data(),
                         _data(seed=1), epochs=2, batch_size=6, eigenvalue_every=0, seed=0,
                         cutout_prob=0.5, cutout_schedule="constant")
    assert [h["cutout_prob"] for h in const.history] == [0.5, 0.5]
    with pytest.raises(ValueError, match="cutout_prob"):
        darts_search(tiny_model(), _data(), _data(seed=1), cutout_prob=1.5)
    with pytest.raises(ValueError, match="cutout_schedule"):
        darts_search(tiny_model(), _data(), _data(seed=1), cutout_schedule="cosine")


def test_digits_task_refuses_splits_that_leak_or_leave_no_training_set():
    from lowfi.nas.darts import digits_task

    with pytest.raises(ValueError, match="n_test: got -5"):
        digits_task(n_test=-5)
    with pytest.raises(ValueError, match="n_test \\+ n_val: got 1700 \\+ 300"):
        digits_task(n_test=1700, n_val=300)
    d = digits_task(n_test=100, n_val=50)
    assert len(d["test"][0]) == 100 and len(d["val"][0]) == 50 and len(d["train"][0]) == 1647


@pytest.mark.parametrize("layout", [dict(layers=1), dict(layers=2, reductions=())],
                         ids=["one-cell", "no-reduction"])
def test_a_supernet_without_one_cell_type_is_searched(layout):
    from lowfi.nas.darts import SearchConfig, SearchNetwork, darts_search, digits_task

    data = digits_task()
    tr = tuple(t[:32] for t in data["search_train"])
    va = tuple(t[:32] for t in data["search_val"])
    for order in ("first", "second"):
        res = darts_search(SearchNetwork(C=2, n_nodes=2, **layout), tr, va,
                           SearchConfig(epochs=1, batch_size=32, eigenvalue_every=1, order=order))
        assert np.isfinite(res.history[-1]["eigenvalue"]) and res.genotype.normal


@pytest.mark.parametrize("field,value", [("lr_min", 0.5), ("momentum", 5.0), ("grad_clip", -1.0),
                                         ("xi", -1.0), ("arch_weight_decay", -1.0),
                                         ("es_threshold", -1.0)])
def test_search_settings_that_would_break_the_search_are_refused(field, value):
    from lowfi.nas.darts import SearchConfig

    with pytest.raises(ValueError, match=f"{field}: got {value}"):
        SearchConfig(**{field: value}).validate()
