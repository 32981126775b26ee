"""NAS then HPO against HPO around NAS (lowfi.nas.darts.nas_hpo): equal compute, held-out test."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from lowfi.nas import darts  # noqa: E402
from lowfi.nas.darts import nas_hpo  # noqa: E402


def _data():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(50, 1, 4, 4, generator=g)
    Y = torch.arange(50) % 3
    return {"search_train": (X[:10], Y[:10]), "search_val": (X[10:20], Y[10:20]),
            "train": (X[:20], Y[:20]), "val": (X[20:35], Y[20:35]), "test": (X[35:], Y[35:])}


TINY = dict(supernet_kwargs=dict(C=2, num_classes=3, layers=2, n_nodes=1),
            base_search=darts.SearchConfig(batch_size=10, eigenvalue_every=0),
            min_search_epochs=1, max_search_epochs=3, search_eta=3, min_train_epochs=1,
            final_epochs=3, train_eta=3)


def test_both_options_run_end_to_end_on_equal_compute_and_never_see_the_test_split(monkeypatch):
    data = _data()
    budget, k = 40.0, 2.0
    ran = {"search": 0, "train": 0, "final": 0}
    real_search, real_train = nas_hpo.darts_search, nas_hpo.train_network

    def counting_search(model, train, val, cfg, seed=0):
        assert train[0] is data["search_train"][0] and val[0] is data["search_val"][0]
        ran["search"] += cfg.epochs
        return real_search(model, train, val, cfg, seed=seed)

    def counting_train(net, train, epochs, eval_sets=None, **kw):
        assert train[0] is data["train"][0]
        sets = eval_sets or {}
        if "test" in sets:
            assert sets["test"][0] is data["test"][0] and set(sets) == {"test"}
            ran["final"] += 1
        else:
            assert all(v[0] is not data["test"][0] for v in sets.values())
            ran["train"] += epochs
        return real_train(net, train, epochs, eval_sets=eval_sets, **kw)

    monkeypatch.setattr(nas_hpo, "darts_search", counting_search)
    monkeypatch.setattr(nas_hpo, "train_network", counting_train)
    spent = {}
    for option in nas_hpo.OPTIONS:
        ran.update(search=0, train=0, final=0)
        res = darts.compare_nas_hpo(data=data, budget=budget, search_epoch_cost=k,
                                    options=(option,), seed=3, **TINY)[option]
        # what was charged is exactly what ran (final training excluded), within the budget
        assert res.spent == pytest.approx(k * ran["search"] + ran["train"])
        assert (res.search_epochs, res.train_epochs) == (ran["search"], ran["train"])
        assert res.spent <= budget
        # option 1 also trains its genotype with the default hyperparameters (the reference)
        assert ran["final"] == (2 if option == "nas_then_hpo" else 1)
        assert 0.0 <= res.test_metric <= 1.0
        assert (res.default_test_metric is None) == (option == "hpo_around_nas")
        assert res.spent == pytest.approx(sum(t["cost"] for t in res.trials)
                                          + (k * 3 if option == "nas_then_hpo" else 0))
        spent[option] = res.spent
        if option == "nas_then_hpo":
            assert set(res.best_config) == {"lr", "weight_decay", "batch_size"}
            assert res.search_epochs == 3  # one search of max_search_epochs
            largest = 3.0
        else:
            assert set(res.best_config) == set(darts.darts_hpo_space())
            assert {t["budget"] for t in res.trials} <= {1.0, 3.0}
            # the final genotype is the one the selected evaluation found
            chosen = [t for t in res.trials if t["config"] == res.best_config
                      and t["budget"] == res.best_budget]
            assert darts.Genotype.from_dict(chosen[0]["genotype"]).to_dict() == res.genotype.to_dict()
            largest = 3 * k + 3  # score_epochs defaults to final_epochs
        # it stopped only when the next evaluation could not fit
        assert budget - res.spent < largest
        top = max(t["budget"] for t in res.trials)
        assert res.best_val == min(t["loss"] for t in res.trials if t["budget"] == top)
    # both options were charged the same compute, up to one evaluation left unspent
    assert abs(spent["nas_then_hpo"] - spent["hpo_around_nas"]) < 3 * k + 3


def test_search_config_for_maps_the_outer_configuration_onto_darts():
    base = darts.SearchConfig(arch_lr=0.01, eigenvalue_every=0)
    cfg = darts.search_config_for({"lr": 0.02, "arch_lr": 3e-3, "weight_decay": 1e-3,
                                   "drop_path": 0.1, "warmstart_fraction": 0.5}, base, 6)
    assert (cfg.epochs, cfg.warmstart_epochs, cfg.lr, cfg.arch_lr) == (6, 3, 0.02, 3e-3)
    assert (cfg.weight_decay, cfg.drop_path, cfg.eigenvalue_every) == (1e-3, 0.1, 0)
    # at least one epoch always updates alpha
    assert darts.search_config_for({"warmstart_fraction": 1.0}, base, 2).warmstart_epochs == 1
    assert darts.search_config_for({}, base, 1).warmstart_epochs == 0
    cs = darts.darts_hpo_space(drop_path=None, warmstart_fraction=(0.0, 0.25))
    assert set(cs) == {"lr", "arch_lr", "weight_decay", "warmstart_fraction"}
    assert cs["lr"].log and not cs["warmstart_fraction"].log
    assert (cs["warmstart_fraction"].lower, cs["warmstart_fraction"].upper) == (0.0, 0.25)


@pytest.mark.parametrize("kwargs, match", [
    (dict(lr=(0.1, 0.01)), r"lr: got \(0.1, 0.01\); allowed is low < high"),
    (dict(arch_lr=(0.0, 0.1)), r"arch_lr: .*0 < low < high \(log scale\)"),
    (dict(weight_decay=(1e-4,)), r"weight_decay: .*\(low, high\) pair"),
    (dict(drop_path=(0.0, 1.0)), r"drop_path: .*0 <= low < high < 1"),
    (dict(warmstart_fraction=(-0.1, 0.5)), r"warmstart_fraction: .*0 <= low < high <= 1"),
    (dict(lr="0.1"), r"lr: got '0.1'"),
    (dict(lr=None, arch_lr=None, weight_decay=None, drop_path=None, warmstart_fraction=None),
     r"at least one"),
])
def test_outer_space_rejects_bad_ranges(kwargs, match):
    with pytest.raises(ValueError, match=match):
        darts.darts_hpo_space(**kwargs)


@pytest.mark.parametrize("kwargs, match", [
    (dict(budget=5.0), r"budget: got 5.0; allowed is >= 7 training epochs"),
    (dict(budget=-1), r"budget: got -1"),
    (dict(search_epoch_cost=0), r"search_epoch_cost: got 0"),
    (dict(optimizer="nope"), r"optimizer: got 'nope'; allowed are .*bohb"),
    (dict(options=("nas_then_hpo", "other")), r"options: got"),
    (dict(options="nas_then_hpo"), r"options: got"),
    (dict(min_search_epochs=4), r"max_search_epochs: got 3; allowed is >= min_search_epochs=4"),
    (dict(score_epochs=0), r"score_epochs: got 0; allowed is an int >= 1"),
    (dict(final_epochs=2, min_train_epochs=3), r"final_epochs: got 2"),
    (dict(search_eta=1), r"search_eta: got 1; allowed is a number > 1"),
    (dict(task="segmentation"), r"task: got 'segmentation'"),
])
def test_compare_rejects_bad_arguments_before_any_training(kwargs, match, monkeypatch):
    monkeypatch.setattr(nas_hpo, "darts_search", lambda *a, **k: pytest.fail("searched"))
    with pytest.raises(ValueError, match=match):
        darts.compare_nas_hpo(data=_data(), **{**TINY, "search_epoch_cost": 2.0, **kwargs})
    with pytest.raises(ValueError, match="data: missing splits"):
        darts.compare_nas_hpo(data={"train": _data()["train"]}, **TINY)
    with pytest.raises(ValueError, match="options"):
        darts.hpo_around_nas(options=("nas_then_hpo",))


def test_compare_refuses_a_network_optimizer():
    from lowfi.nas.darts import compare_nas_hpo

    with pytest.raises(ValueError, match="optimizer: got 'lemonade'"):
        compare_nas_hpo(optimizer="lemonade")
