"""SMAC-style random-forest BO: EI, one-exchange local search, interleaved random configs."""

import numpy as np
import pytest
from toys import ONES, SMOOTH, conditional_space, f_ones, f_smooth, run

import lowfi
from lowfi import Result
from lowfi.optimizers.base import RandomSearch
from lowfi.optimizers.smac import (
    SMAC,
    RFProposer,
    expected_improvement,
    log_scaled,
    one_exchange_neighbours,
)
from lowfi.space import Space

MIXED = {"x": (0.0, 1.0), "lr": (1e-4, 1e-1), "n": (1, 16), "c": ["a", "b", "c"]}
FAST = dict(n_random=100, n_local=5, max_steps=5)






def test_expected_improvement_prefers_lower_mean_and_more_uncertainty():
    ei = expected_improvement(np.array([0.0, 0.5, 1.0]), np.full(3, 0.1), best=0.5)
    assert ei[0] > ei[1] > ei[2] > 0
    ei = expected_improvement(np.full(3, 0.6), np.array([0.01, 0.1, 1.0]), best=0.5)
    assert ei[0] < ei[1] < ei[2]
    assert np.allclose(
        expected_improvement(np.array([0.2, 0.7]), np.zeros(2), best=0.5), [0.3, 0.0]
    )
    rng = np.random.default_rng(0)  # against a Monte-Carlo estimate
    draws = 0.4 + 0.3 * rng.standard_normal(400_000)
    assert expected_improvement(np.array([0.4]), np.array([0.09]), 0.5)[0] == pytest.approx(
        np.maximum(0.5 - draws, 0).mean(), rel=1e-2
    )


def test_log_scaled_keeps_order_and_is_finite():
    y = np.array([3.0, 1.0, 2.0, 1.0, 10.0])
    t = log_scaled(y)
    assert np.all(np.isfinite(t)) and t.max() == pytest.approx(0.0)
    assert np.array_equal(np.argsort(t, kind="stable"), np.argsort(y, kind="stable"))
    assert np.all(log_scaled(np.ones(4)) == 0)


@pytest.mark.parametrize("space", [MIXED, ONES])
def test_one_exchange_neighbours_differ_in_exactly_one_parameter(space):
    sp = Space.from_any(space)
    rng = np.random.default_rng(0)
    P = sp.sample_vectors(rng, 6)
    N, origin = one_exchange_neighbours(sp, P, rng)
    assert len(N) >= 6 * (sp.dim - 1)
    diff = ~np.isclose(N, P[origin])
    assert np.all(diff.sum(axis=1) == 1)
    assert set(np.flatnonzero(diff.any(axis=0))) == set(range(sp.dim))
    for c in sp.to_dicts(N[:30]):
        sp.validate(c)


def test_neighbours_on_a_conditional_space_are_valid():
    sp = Space(conditional_space())
    rng = np.random.default_rng(1)
    N, _ = one_exchange_neighbours(sp, sp.sample_vectors(rng, 8), rng)
    for c in sp.to_dicts(N):
        sp.validate(c)


def test_initial_design_then_model_with_interleaved_random_fraction():
    opt = run(SMAC(SMOOTH, seed=0, n_init=5, random_fraction=0.5, **FAST), f_smooth, 65)
    origins = [r.info["origin"] for r in opt.history.records]
    assert origins[:5] == ["initial"] * 5
    later = origins[5:]
    assert set(later) == {"random", "model"}
    assert 0.3 < later.count("random") / len(later) < 0.7
    opt = run(SMAC(SMOOTH, seed=0, n_init=5, random_fraction=0.0, **FAST), f_smooth, 25)
    assert [r.info["origin"] for r in opt.history.records][5:] == ["model"] * 20


def test_model_proposals_have_high_expected_improvement():
    opt = run(SMAC(SMOOTH, seed=1, n_init=10, random_fraction=0.0), f_smooth, 30)
    prop = opt.proposer
    t = opt.ask()
    ei_chosen = prop.acquisition(opt.space.encode([t.config]))[0]
    ei_random = prop.acquisition(opt.space.sample_vectors(np.random.default_rng(0), 500))
    assert ei_chosen >= np.quantile(ei_random, 0.99)


def test_forest_is_refit_only_when_new_results_arrive(monkeypatch):
    opt = run(SMAC(SMOOTH, seed=0, n_init=4, random_fraction=0.0, **FAST), f_smooth, 6)
    calls = []
    fit = opt.proposer.model.fit
    monkeypatch.setattr(opt.proposer.model, "fit", lambda X, y: calls.append(len(y)) or fit(X, y))
    a = opt.ask()  # the 6th result arrived after the last fit: refit
    assert calls == [6]
    opt.ask()  # no new result since: the same forest
    assert calls == [6]
    opt.tell(a, f_smooth(a.config))
    opt.ask()
    assert calls == [6, 7]


def test_asks_before_tells_give_distinct_configs():
    for space, f in ((ONES, f_ones), (MIXED, lambda c: c["x"])):
        opt = run(SMAC(space, seed=2, n_init=5, random_fraction=0.0, **FAST), f, 10)
        ts = [opt.ask() for _ in range(12)]
        keys = [opt.space.key(t.config) for t in ts]
        assert len(set(keys)) == len(keys)
        seen = {opt.space.key(r.config) for r in opt.history.records}
        assert not seen & set(keys)  # nothing already evaluated is proposed again


def test_failed_trials_count_as_worst_and_run_goes_on():
    opt = SMAC(SMOOTH, seed=0, n_init=3, **FAST)
    for i in range(15):
        t = opt.ask()
        opt.tell(t, Result.failed("crash") if i % 4 == 1 else f_smooth(t.config))
    X, y = opt.history.observations(1.0, failed="worst")
    assert len(y) == 15 and np.all(np.isfinite(y))
    assert opt.incumbent()[1] == min(r.loss for r in opt.history.records if not r.failed)


def test_all_failures_fall_back_to_random():
    opt = SMAC(SMOOTH, seed=0, n_init=2, random_fraction=0.0, **FAST)
    for _ in range(5):
        opt.tell(opt.ask(), Result.failed("crash"))
    assert opt.ask().info["origin"] == "random"


def test_same_seed_same_sequence():
    def seq(seed):
        opt = run(SMAC(MIXED, seed=seed, n_init=5, **FAST), lambda c: c["x"] + c["n"] / 16, 20)
        return [r.config for r in opt.history.records]

    assert seq(3) == seq(3)
    assert seq(3) != seq(4)


def test_conditional_space_runs_and_improves():
    def f(c):
        return (
            c.get("alpha", 0.5) + (0.1 * c["depth"] if "depth" in c else 0) + (c["scale"] == "no")
        )

    opt = run(SMAC(conditional_space(), seed=0, n_init=8, **FAST), f, 40)
    for r in opt.history.records:
        opt.space.validate(r.config)
    assert opt.incumbent()[1] < 0.1


@pytest.mark.parametrize("space,f,n", [(ONES, f_ones, 50), (SMOOTH, f_smooth, 50)])
def test_beats_random_search_on_toys(space, f, n):
    smac = [run(SMAC(space, seed=s, **FAST), f, n).incumbent()[1] for s in range(3)]
    rs = [run(RandomSearch(space, seed=s), f, n).incumbent()[1] for s in range(3)]
    assert np.median(smac) < np.median(rs)


def test_get_by_name_ignores_min_budget_and_eta():
    opt = lowfi.optimizers.get("smac", SMOOTH, min_budget=1, max_budget=9, eta=3, seed=0)
    assert isinstance(opt, SMAC) and isinstance(opt.proposer, RFProposer)
    assert opt.ask().budget == 9.0


@pytest.mark.parametrize("kw", [{"random_fraction": 1.5}, {"n_init": -1}, {"n_trees": 0}])
def test_bad_arguments_raise_value_error_naming_them(kw):
    with pytest.raises(ValueError, match=next(iter(kw))):
        SMAC(SMOOTH, **kw)


def test_model_proposals_do_not_repeat_evaluated_configurations_on_an_integer_grid():
    """Local-search neighbours of a log-integer parameter fall between grid points; they decode
    to evaluated configurations and must count as those (126-configuration space)."""
    import warnings

    from ConfigSpace import Categorical, ConfigurationSpace, Integer

    import lowfi

    cs = ConfigurationSpace(seed=1)
    cs.add([Integer("k", (2, 64), log=True), Categorical("c", ["a", "b"])])

    def objective(config, budget):
        return abs(config["k"] - 11) / 64 + (0.1 if config["c"] == "b" else 0.0)

    for seed in range(3):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = lowfi.minimize(objective, cs, "smac", max_evaluations=40, seed=seed, progress=False)
        seen = set()
        for r in res.optimizer.history.records:
            key = (r.config["k"], r.config["c"])
            assert not (key in seen and r.info.get("origin") == "model"), (seed, key)
            seen.add(key)
