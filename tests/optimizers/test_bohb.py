"""BOHB (Falkner, Klein & Hutter 2018): Algorithm 2 and the reference implementation's pain points."""

import numpy as np
import pytest
from ConfigSpace import (
    CategoricalHyperparameter,
    ConfigurationSpace,
    Constant,
    EqualsCondition,
    OrdinalHyperparameter,
    UniformFloatHyperparameter,
)

import lowfi
from lowfi import Result
from lowfi.optimizers import BlackBox, Hyperband, get
from lowfi.optimizers.bohb import BOHB, KDEProposer


def run(opt, f, n):
    out = []
    for _ in range(n):
        t = opt.ask()
        r = f(t.config, t.budget)
        opt.tell(t, r)
        out.append((t.config, t.budget))
    return out


def test_defaults_are_the_papers():
    p = KDEProposer()
    assert (p.random_fraction, p.top_n_percent, p.num_samples, p.min_points_in_model,
            p.bandwidth_factor, p.min_bandwidth) == (1 / 3, 15, 64, None, 3.0, 1e-3)
    opt = BOHB({"x": (0.0, 1.0), "y": (0.0, 1.0)}, 1, 9)
    assert isinstance(opt, Hyperband) and BOHB.multi_fidelity
    assert opt.proposer.n_min == 3  # dimension + 1


def test_model_is_used_exactly_from_n_min_plus_2_observations():
    space = {"x": (0.0, 1.0), "y": (0.0, 1.0)}  # N_min = 3, model from 5 observations
    opt = BlackBox(space, proposer=KDEProposer(random_fraction=0.0), seed=0)
    p = opt.proposer
    for i in range(8):
        t = opt.ask()
        assert (p.last_model_budget is not None) == (i >= 5), i
        opt.tell(t, t.config["x"])
    assert p.n_random == 5 and p.n_model == 3


def test_model_comes_from_the_largest_budget_with_enough_data():
    opt = BOHB({"x": (0.0, 1.0)}, 1, 9, eta=3, seed=0, random_fraction=0.0)  # N_min = 2 -> 4 obs
    p = opt.proposer
    seen = []
    for _ in range(60):
        t = opt.ask()
        if p.last_model_budget is not None and t.info.get("rung") == 0 and "promoted_from" not in t.info:
            counts = {b: opt.history.count(b) for b in opt.history.budgets}
            expected = max(b for b, c in counts.items() if c >= 4)
            assert p.last_model_budget == expected
            seen.append(expected)
        opt.tell(t, (t.config["x"] - 0.3) ** 2)
    assert {1.0, 3.0} <= set(seen)  # it moved up to a larger budget once that had data


def test_random_fraction_is_respected():
    opt = BlackBox({"x": (0.0, 1.0)}, proposer=KDEProposer(), seed=1)
    run(opt, lambda c, b: c["x"], 400)
    p = opt.proposer
    frac = (p.n_random - 4) / (p.n_random + p.n_model - 4)  # the first 4 have no model
    assert 0.27 < frac < 0.40


def _model_picks(space, f, n=80, seed=0, **kw):
    opt = BlackBox(space, proposer=KDEProposer(random_fraction=0.0, **kw), seed=seed)
    picks = []
    for _ in range(n):
        t = opt.ask()
        if opt.proposer.last_model_budget is not None:
            picks.append(t.config)
        opt.tell(t, f(t.config, t.budget))
    return opt, picks


def test_one_dimensional_toy_concentrates_near_the_optimum():
    _, picks = _model_picks({"x": (0.0, 1.0)}, lambda c, b: (c["x"] - 0.3) ** 2, n=60)
    late = np.array([c["x"] for c in picks[-30:]])
    assert np.median(np.abs(late - 0.3)) < 0.06  # uniform random: 0.2


def test_five_dimensional_toy_concentrates_near_the_optimum():
    space = {f"x{i}": (0.0, 1.0) for i in range(5)}
    f = lambda c, b: sum((c[f"x{i}"] - 0.7) ** 2 for i in range(5))  # noqa: E731
    _, picks = _model_picks(space, f, n=150)
    late = np.array([[c[f"x{i}"] for i in range(5)] for c in picks[-40:]])
    dist = np.linalg.norm(late - 0.7, axis=1)
    rand = np.linalg.norm(np.random.default_rng(0).random((2000, 5)) - 0.7, axis=1)
    assert np.median(dist) < 0.5 * np.median(rand)


def _check_space_runs(space, f, n=120, min_model=10):
    opt = BOHB(space, 1, 9, seed=0)
    for config, _ in run(opt, f, n):
        opt.space.validate(config)
    p = opt.proposer
    assert p.n_model >= min_model, (p.n_model, p.n_random)
    X, y = opt.history.observations()
    assert np.all(np.isfinite(y))
    return opt


def test_categorical_only_space_works():
    # categorical-only spaces make the reference's statsmodels KDE return NaN / inf EI
    space = {f"c{i}": ["a", "b", "c", "d"] for i in range(4)}
    opt = _check_space_runs(space, lambda c, b: sum(v != "b" for v in c.values()) + 1 / b, n=150)
    picks = [t for t in opt.history.records if t.budget == 9.0]
    best = min(r.loss for r in picks)
    assert best <= 1.0 + 1 / 9  # at most one wrong choice in the best full-budget configuration


def test_integer_only_space_works_and_finds_the_grid_optimum():
    space = {"a": (1, 10), "b": (1, 50)}
    opt = _check_space_runs(space, lambda c, b: abs(c["a"] - 7) + abs(c["b"] - 20) / 5 + 1 / b, n=200)
    cfg, loss = opt.incumbent()
    assert isinstance(cfg["a"], int) and abs(cfg["a"] - 7) <= 2 and abs(cfg["b"] - 20) <= 8


def test_ordinal_and_constant_spaces_get_model_based_picks():
    # HpBandSter refuses ordinals and never builds a model with some constant spaces
    cs = ConfigurationSpace()
    cs.add([OrdinalHyperparameter("size", [8, 16, 32, 64, 128]), Constant("kind", "fixed"),
            UniformFloatHyperparameter("x", 0.0, 1.0)])
    opt = _check_space_runs(cs, lambda c, b: abs(c["size"] - 32) / 32 + c["x"] + 1 / b, n=150)
    assert opt.proposer.n_min == 3  # the constant is not a modelled dimension
    assert all(c["kind"] == "fixed" for c in (r.config for r in opt.history.records))


def test_conditional_space_works():
    cs = ConfigurationSpace()
    opt_ = CategoricalHyperparameter("opt", ["sgd", "adam"])
    mom = UniformFloatHyperparameter("momentum", 0.0, 1.0)
    lr = UniformFloatHyperparameter("lr", 1e-4, 1e-1, log=True)
    cs.add([opt_, mom, lr, EqualsCondition(mom, opt_, "sgd")])

    def f(c, b):
        return abs(np.log10(c["lr"]) + 2) + (abs(c["momentum"] - 0.9) if c["opt"] == "sgd" else 0.5) + 1 / b

    opt = _check_space_runs(cs, f, n=150)
    for r in opt.history.records:
        assert ("momentum" in r.config) == (r.config["opt"] == "sgd")


def test_crashes_count_as_worst_and_are_avoided():
    def f(c, b):
        return Result.failed("diverged") if c["x"] > 0.5 else 1.0 - c["x"]

    opt, picks = _model_picks({"x": (0.0, 1.0)}, f, n=80)
    assert len(opt.history.records) == 80  # nothing dropped
    assert sum(r.failed for r in opt.history.records) > 0
    crash_rate = np.mean([c["x"] > 0.5 for c in picks[-30:]])
    assert crash_rate < 0.3


def test_same_seed_same_sequence():
    space = {"x": (0.0, 1.0), "n": (1, 16), "c": ["a", "b", "c"]}

    def f(c, b):
        return (c["x"] - 0.2) ** 2 + 0.1 * (c["c"] != "a") + 0.01 * c["n"] + 1 / b

    a = run(BOHB(space, 1, 27, seed=5), f, 150)
    b = run(BOHB(space, 1, 27, seed=5), f, 150)
    c = run(BOHB(space, 1, 27, seed=6), f, 150)
    assert a == b
    assert a != c


def test_parallel_pending_asks_never_duplicate():
    space = {f"c{i}": ["a", "b", "c", "d"] for i in range(3)}  # 64 configurations
    opt = BOHB(space, 1, 9, seed=0)
    run(opt, lambda c, b: sum(v != "a" for v in c.values()) + 1 / b, 40)
    assert opt.proposer.model_budget(opt.history) is not None
    pending, before = [], opt.proposer.n_model
    for _ in range(25):  # ask many times before telling
        t = opt.ask()
        if t is None:
            break
        pending.append(t)
    keys = [opt.space.key(t.config) for t in pending]
    assert len(pending) >= 10 and len(set(keys)) == len(keys)
    assert opt.proposer.n_model - before >= 5  # the model made many of these picks


def test_registry_and_minimize_build_bohb():
    opt = get("bohb", {"x": (0.0, 1.0)}, min_budget=1, max_budget=9, eta=3, seed=0)
    assert isinstance(opt, BOHB)
    assert lowfi.optimizers.get("bohb", {"x": (0.0, 1.0)}, min_budget=1, max_budget=9).eta == 3


@pytest.mark.parametrize("kw, arg", [
    ({"random_fraction": 1.5}, "random_fraction"),
    ({"top_n_percent": 0}, "top_n_percent"),
    ({"num_samples": 0}, "num_samples"),
    ({"min_points_in_model": 0}, "min_points_in_model"),
    ({"bandwidth_factor": -1}, "bandwidth_factor"),
    ({"min_bandwidth": 0}, "min_bandwidth"),
])
def test_bad_arguments_name_the_argument(kw, arg):
    with pytest.raises(ValueError, match=arg):
        BOHB({"x": (0.0, 1.0)}, 1, 9, **kw)
