"""Regularized (aging) evolution: Real et al. 2019, Algorithm 1."""

import math

import numpy as np
import pytest
from ConfigSpace import ConfigurationSpace
from toys import ONES, SMOOTH, conditional_space, f_ones, f_smooth, run

import lowfi
from lowfi import Result
from lowfi.optimizers.base import RandomSearch
from lowfi.optimizers.evolution import RegularizedEvolution, mutate_one
from lowfi.space import Space

MIXED = ConfigurationSpace(
    {"x": (0.0, 1.0), "lr": (1e-4, 1e-1), "n": (1, 16), "c": ["a", "b", "c"]}
)






def test_population_size_and_aging_remove_the_oldest():
    opt = RegularizedEvolution(SMOOTH, population_size=5, sample_size=2, seed=0)
    told = []
    for _ in range(23):
        t = opt.ask()
        opt.tell(t, f_smooth(t.config))
        told.append(t.config)
        assert len(opt.population) == min(len(told), 5)
    # the population is exactly the five most recent children, oldest first, even though
    # older ones may have been better
    assert [c for c, _ in opt.population] == told[-5:]


def test_initial_population_is_random_then_children_are_mutations():
    opt = RegularizedEvolution(SMOOTH, population_size=6, sample_size=3, seed=1)
    run(opt, f_smooth, 20)
    origins = [r.info["origin"] for r in opt.history.records]
    assert origins[:6] == ["random"] * 6
    assert set(origins[6:]) == {"mutation"}


@pytest.mark.parametrize("space", [MIXED, ONES])
def test_mutation_changes_exactly_one_hyperparameter(space):
    sp = Space.from_any(space)
    rng = np.random.default_rng(0)
    changed = []
    for x in sp.sample_vectors(rng, 200):
        child, j = mutate_one(sp, x, rng)
        diff = np.flatnonzero(~np.isclose(child, x))
        assert diff.tolist() == [j]
        changed.append(j)
        sp.validate(sp.to_dicts(child)[0])
    assert set(changed) == set(range(sp.dim))  # every parameter can mutate


def test_mutation_on_a_conditional_space_changes_one_active_parameter():
    sp = Space(conditional_space())
    rng = np.random.default_rng(3)
    for parent in sp.sample(rng, 200):
        x = sp.encode([parent])[0]
        child_x, j = mutate_one(sp, x, rng)
        child = sp.validate(sp.to_dicts(child_x)[0])
        assert sp.names[j] in parent  # only an active parameter is mutated
        differing = {k for k in parent if child.get(k) != parent[k]}
        if sp.names[j] != "model":
            assert differing == {sp.names[j]}
        else:  # switching the parent switches which children exist
            assert "model" in differing and set(child) != set(parent)


def test_tournament_parent_is_best_of_sample_and_child_is_one_mutation_away():
    opt = RegularizedEvolution(ONES, population_size=4, sample_size=200, seed=0)
    run(opt, f_ones, 4)
    best = min(opt.population, key=lambda m: m[1])[0]
    for _ in range(20):  # with 200 draws from 4 members the best is always sampled
        t = opt.ask()
        assert sum(t.config[k] != best[k] for k in best) == 1
        opt.history.pending.pop(t.id)


def test_failed_trials_are_worst_and_never_win_a_tournament():
    opt = RegularizedEvolution(ONES, population_size=3, sample_size=50, seed=0)
    ts = [opt.ask() for _ in range(3)]
    opt.tell(ts[0], Result.failed("crash"))
    opt.tell(ts[1], 5.0)
    opt.tell(ts[2], Result.failed("crash"))
    assert [loss for _, loss in opt.population] == [math.inf, 5.0, math.inf]
    child = opt.ask()
    assert sum(child.config[k] != ts[1].config[k] for k in ts[1].config) == 1


def test_asks_before_tells_give_distinct_configs_and_use_current_population():
    opt = RegularizedEvolution(ONES, population_size=10, sample_size=3, seed=2)
    run(opt, f_ones, 10)
    pending = [opt.ask() for _ in range(25)]
    keys = [opt.space.key(t.config) for t in pending]
    assert len(set(keys)) == len(keys)
    for t in reversed(pending):  # results arrive in any order
        opt.tell(t, f_ones(t.config))
    assert len(opt.population) == 10


def test_asks_while_initial_population_is_pending_are_random():
    opt = RegularizedEvolution(SMOOTH, population_size=3, sample_size=2, seed=0)
    ts = [opt.ask() for _ in range(5)]  # population still empty: no one to mutate
    assert [t.info["origin"] for t in ts] == ["random"] * 5
    opt.tell(ts[0], 1.0)
    assert opt.ask().info["origin"] == "mutation"


def test_same_seed_same_sequence():
    def seq(seed):
        opt = run(
            RegularizedEvolution(MIXED, population_size=8, sample_size=3, seed=seed),
            lambda c: c["x"] + c["n"] / 16,
            30,
        )
        return [r.config for r in opt.history.records]

    assert seq(4) == seq(4)
    assert seq(4) != seq(5)


def test_conditional_space_runs_and_stays_valid():
    cs = conditional_space()

    def f(c):
        return (
            c.get("alpha", 0.5) + (0.1 * c["depth"] if "depth" in c else 0) + (c["scale"] == "no")
        )

    opt = run(RegularizedEvolution(cs, population_size=8, sample_size=3, seed=0), f, 60)
    for r in opt.history.records:
        opt.space.validate(r.config)
    assert opt.incumbent()[1] < 0.3


@pytest.mark.parametrize("space,f,n", [(ONES, f_ones, 80), (SMOOTH, f_smooth, 150)])
def test_beats_random_search_on_toys(space, f, n):
    re_best = [
        run(
            RegularizedEvolution(space, population_size=20, sample_size=5, seed=s), f, n
        ).incumbent()[1]
        for s in range(5)
    ]
    rs_best = [run(RandomSearch(space, seed=s), f, n).incumbent()[1] for s in range(5)]
    assert np.median(re_best) < np.median(rs_best)


def test_get_by_name_evaluates_at_max_budget_and_ignores_min_budget_and_eta():
    opt = lowfi.optimizers.get(
        "re", SMOOTH, min_budget=1, max_budget=9, eta=3, seed=0, population_size=4, sample_size=2
    )
    assert isinstance(opt, RegularizedEvolution)
    run(opt, f_smooth, 8)
    assert {r.budget for r in opt.history.records} == {9.0}


def test_custom_mutation_is_used():
    def flip_first(config, rng):
        return {**config, "c0": "1" if config["c0"] == "0" else "0"}

    opt = RegularizedEvolution(ONES, population_size=2, sample_size=2, seed=0, mutation=flip_first)
    run(opt, f_ones, 2)
    t = opt.ask()
    assert any(
        sum(t.config[k] != c[k] for k in c) == 1 and t.config["c0"] != c["c0"]
        for c, _ in opt.population
    )


@pytest.mark.parametrize("kw", [{"population_size": 0}, {"sample_size": 1.5}, {"max_budget": -1}])
def test_bad_arguments_raise_value_error_naming_them(kw):
    with pytest.raises(ValueError, match=next(iter(kw))):
        RegularizedEvolution(SMOOTH, **kw)
