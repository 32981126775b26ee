"""Several fidelities at once: the fidelity box, Hyperband along a fidelity path, the
augmented-EI GP, and the two-fidelity benchmarks."""

import math

import numpy as np
import pytest

import lowfi
from lowfi.benchmarks import get as get_bench
from lowfi.optimizers import get
from lowfi.optimizers.hyperband import Hyperband
from lowfi.optimizers.multi_fidelity import (
    FidelitySpace,
    MultiFidelityGP,
    PathHyperband,
    fidelity_of,
)

SPACE = {"x": (0.0, 1.0), "y": (0.0, 1.0)}
FIDS = {"epochs": (1, 27), "fraction": (1 / 27, 1.0)}


def drive(opt, objective, n):
    for _ in range(n):
        t = opt.ask()
        if t is None:
            break
        opt.tell(t, objective(t))
    return opt


def test_fidelity_space_checks_rounds_and_orders_the_grid():
    fs = FidelitySpace(FIDS)
    assert fs.point([3.4, 0.5]) == {"epochs": 3, "fraction": 0.5}
    assert isinstance(fs.point([26.6, 1.0])["epochs"], int)
    grid = fs.grid(4)
    assert grid[-1] == fs.target() == {"epochs": 27, "fraction": 1.0}
    costs = [fs.relative_cost(p) for p in grid]
    assert costs == sorted(costs) and costs[-1] == 1.0
    assert np.allclose(fs.scaled(fs.target()), 1.0)
    assert np.allclose(fs.scaled({"epochs": 1, "fraction": 1 / 27}), 0.0)
    for bad in ({}, {"epochs": (0, 5)}, {"epochs": (5, 1)}, {"epochs": "1..5"}):
        with pytest.raises(ValueError, match="fidelities"):
            FidelitySpace(bad)


@pytest.mark.parametrize("path", ["diagonal", {"a": 2, "b": 1}])
def test_path_hyperband_rung_cost_is_the_scalar_budget(path):
    fs = {"a": (1 / 81, 1.0), "b": (1 / 81, 1.0)}
    opt = PathHyperband(SPACE, 1, 81, 3, fidelities=fs, path=path, seed=0)
    drive(opt, lambda t: t.config["x"] + 1 / t.budget, 130)
    recs = opt.history.records
    assert {r.budget for r in recs} == {1.0, 3.0, 9.0, 27.0, 81.0}
    for r in recs:
        f = r.info["fidelity"]
        assert f["a"] * f["b"] == pytest.approx(r.budget / 81)  # relative cost = budget share
        if path == "diagonal":
            assert f["a"] == pytest.approx(f["b"])
        else:
            assert f["a"] == pytest.approx(f["b"] ** 2)  # weights 2/3, 1/3
    # promotions move every dimension up
    promoted = [r for r in recs if "promoted_from" in r.info]
    assert promoted
    by_id = {r.trial_id: r for r in recs}
    for r in promoted:
        parent = by_id[r.info["promoted_from"]].info["fidelity"]
        assert all(r.info["fidelity"][k] > parent[k] for k in parent)


def test_path_hyperband_single_dimension_keeps_the_other_at_max_and_matches_hyperband():
    opt = PathHyperband(SPACE, 1, 27, 3, fidelities=FIDS, path="epochs", seed=5)
    hb = Hyperband(SPACE, 1, 27, 3, seed=5)
    obj = lambda t: (t.config["x"] - 0.3) ** 2 + 1 / t.budget  # noqa: E731
    drive(opt, obj, 60), drive(hb, obj, 60)
    assert [(r.config, r.budget) for r in opt.history.records] == \
        [(r.config, r.budget) for r in hb.history.records]
    for r in opt.history.records:
        assert r.info["fidelity"] == {"epochs": int(r.budget), "fraction": 1.0}
    with pytest.raises(ValueError, match="path"):
        PathHyperband(SPACE, 1, 27, fidelities=FIDS, path="batch")


@pytest.mark.filterwarnings("ignore:minimize. no trial was evaluated at max_budget")
def test_trials_reach_the_objective_with_their_fidelity_via_minimize():
    bench = get_bench("mf2-branin")
    inner, seen = bench.objective(seed=0), []

    def objective(config, budget, trial):
        r = inner(config, budget, trial)
        seen.append((fidelity_of(trial), r.info["fidelity"], budget))
        return r

    res = lowfi.minimize(objective, bench.space, "multi-hyperband", min_budget=1, max_budget=81,
                         eta=3, max_evaluations=40, seed=0, progress=False,
                         optimizer_kwargs={"fidelities": bench.fidelities, "path": "fraction"})
    assert len(res.trials) == 40 and len(seen) == 40
    for sent, used, budget in seen:
        assert sent is not None and used == sent
        assert sent["epochs"] == 1.0 and sent["fraction"] == pytest.approx(budget / 81)


def test_gp_grid_respects_the_cost_floor_and_budgets_are_relative_costs():
    opt = MultiFidelityGP(SPACE, 1, 81, fidelities={"a": (1 / 81, 1.0), "b": (1 / 81, 1.0)},
                          n_levels=3, seed=0)
    fs = opt.fidelity_space
    assert all(fs.relative_cost(p) >= 1 / 81 * (1 - 1e-9) for p in opt.grid)
    assert {"a": 1 / 81, "b": 1.0} in opt.grid and {"a": 1 / 9, "b": 1 / 9} in opt.grid
    drive(opt, lambda t: (t.config["x"] - 0.5) ** 2, 14)
    for r in opt.history.records:
        assert r.budget == pytest.approx(81 * fs.relative_cost(r.info["fidelity"]))
        assert fidelity_of(r) == r.info["fidelity"]
    with pytest.raises(ValueError, match="n_levels"):
        MultiFidelityGP(SPACE, 1, 81, n_levels=1)


def test_gp_learns_the_cost_exponents():
    opt = MultiFidelityGP(SPACE, 1, 27, fidelities=FIDS, n_initial=30, seed=1)
    drive(opt, lambda t: lowfi.Result(t.config["x"], cost=(t.info["fidelity"]["epochs"] / 27) ** 2
                                      * t.info["fidelity"]["fraction"]), 30)
    opt.fit_cost()
    b_epochs, b_fraction = opt.cost_coef[1:]
    assert b_epochs == pytest.approx(2.0, abs=0.2)
    assert b_fraction == pytest.approx(1.0, abs=0.2)


def test_gp_is_cost_aware_when_fidelities_do_not_change_the_loss():
    # the loss ignores the fidelity: cheap points are as informative as the target, so
    # augmented EI (corr ~ 1, cost ratio large) must spend its choices mostly on cheap points
    opt = MultiFidelityGP(SPACE, 1, 27, fidelities=FIDS, n_levels=3, n_candidates=60,
                          verify_share=0.0, seed=2)
    drive(opt, lambda t: lowfi.Result((t.config["x"] - 0.3) ** 2 + (t.config["y"] - 0.6) ** 2,
                                      cost=t.budget / 27), 30)
    chosen = [r for r in opt.history.records if "score" in r.info]
    assert len(chosen) >= 15
    cheap = sum(r.budget < 27 / 2 for r in chosen)
    assert cheap >= 0.8 * len(chosen)


def test_gp_ends_with_a_verified_incumbent_on_mf2_branin():
    bench = get_bench("mf2-branin")
    opt = MultiFidelityGP(bench.space, 1, 81, fidelities=bench.fidelities, n_levels=3,
                          n_candidates=60, max_trials=25, seed=0)
    drive(opt, lambda t: bench.evaluate(t.config, t.budget, seed=0,
                                        fidelity=t.info["fidelity"]), 30)
    assert opt.ask() is None  # max_trials reached
    rec = opt.recommend()
    assert rec is not None
    at_target = [r for r in opt.history.records if r.budget == 81]
    assert any(opt.space.key(r.config) == opt.space.key(rec[0]) for r in at_target)
    config, loss = opt.incumbent()
    assert loss == pytest.approx(bench.test_loss(config))  # measured at the target
    assert opt.ask_verification() is None  # nothing left to verify


def test_mf2_branin_properties():
    bench = get_bench("mf2-branin")
    x = {"x0": math.pi, "x1": 2.275}
    assert bench.test_loss(x) == pytest.approx(bench.optimum, abs=1e-5)
    r = bench.evaluate(x, 81, seed=3)
    assert r.loss == pytest.approx(bench.optimum, abs=1e-5) and r.cost == pytest.approx(1.0)
    low = {"epochs": 1 / 81, "fraction": 1.0}
    noisy = {"epochs": 1.0, "fraction": 1 / 81}
    assert bench.evaluate(x, 1, fidelity=low).loss > bench.optimum + 10  # biased, no noise
    assert bench.evaluate(x, 1, fidelity=low, seed=1).loss == bench.evaluate(x, 1, fidelity=low, seed=2).loss
    a, b = (bench.evaluate(x, 1, fidelity=noisy, seed=s).loss for s in (1, 2))
    assert a != b and bench.evaluate(x, 1, fidelity=noisy, seed=1).loss == a  # seeded noise
    diag = bench.evaluate(x, 9).info["fidelity"]
    assert diag["epochs"] == pytest.approx(1 / 3) and diag["fraction"] == pytest.approx(1 / 3)
    assert bench.evaluate(x, 9).cost == pytest.approx(1 / 9)
    with pytest.raises(ValueError, match=r"fidelity\['fraction'\]"):
        bench.evaluate(x, 1, fidelity={"epochs": 1.0, "fraction": 2.0})
    with pytest.raises(ValueError, match="fidelity"):
        bench.evaluate(x, 1, fidelity={"epochs": 1.0})


def test_mlp_digits_2f_uses_both_fidelities():
    bench = get_bench("mlp-digits-2f")
    config = {"learning_rate_init": 0.01, "alpha": 1e-4, "hidden": 32, "n_layers": 1,
              "batch_size": 32, "activation": "relu"}
    r = bench.evaluate(config, 1, seed=0, fidelity={"epochs": 2, "fraction": 1 / 27})
    assert 0 <= r.loss <= 1
    assert r.cost == pytest.approx(2 / 27 / 27)
    assert r.info["fidelity"] == {"epochs": 2, "fraction": pytest.approx(1 / 27)}
    more = bench.evaluate(config, 1, seed=0, fidelity={"epochs": 6, "fraction": 1.0})
    assert more.loss < r.loss  # more data and epochs learn more on this well-posed task


def test_registered_names():
    opt = get("multi-mfbo", SPACE, min_budget=1, max_budget=9, fidelities=FIDS, seed=0)
    assert isinstance(opt, MultiFidelityGP)
    assert isinstance(get("multi-hyperband", SPACE, min_budget=1, max_budget=9), PathHyperband)


def test_gp_noise_estimate_is_larger_where_the_data_fraction_is_small():
    bench = get_bench("mf2-branin")
    opt = MultiFidelityGP(bench.space, 1, 81, fidelities=bench.fidelities, n_levels=3,
                          n_initial=30, seed=4)
    drive(opt, lambda t: bench.evaluate(t.config, t.budget, seed=0,
                                        fidelity=t.info["fidelity"]), 30)
    assert opt.fit_models()
    noise = opt.noise_by_point()
    noisy = opt.grid.index({"epochs": 1.0, "fraction": 1 / 81})
    clean = opt.grid.index({"epochs": 1 / 81, "fraction": 1.0})  # biased, noise-free
    assert noise[noisy] > noise[clean]


def test_a_configuration_that_failed_is_not_asked_again_at_that_fidelity():
    """Every full-budget evaluation crashes: the GP never sees the failures, so without
    remembering them the optimizer would verify the same crashing configuration again and again."""
    import warnings

    import lowfi

    def objective(config, budget):
        if budget >= 9:
            raise RuntimeError("crash at the full budget")
        return config["x"] + 1.0 / budget

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = lowfi.minimize(objective, {"x": (0.0, 1.0)}, "multi-mfbo", min_budget=1,
                             max_budget=9, max_evaluations=30, seed=0, progress=False,
                             error_on_all_failed=False)
    top = res.trials[res.trials["budget"] == 9]
    assert len(top) >= 5
    assert top["config.x"].nunique() == len(top)  # no configuration failed twice at the top
