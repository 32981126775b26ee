"""Successive halving, Hyperband and ASHA against their published definitions."""

import math
from collections import Counter

import numpy as np
import pytest

from lowfi import Result
from lowfi.execution import SimulatedExecutor
from lowfi.optimizers import ASHA, Hyperband, SuccessiveHalving, hyperband_schedule, n_rungs
from lowfi.run import minimize


def test_hyperband_schedule_matches_the_paper_table():
    sched = hyperband_schedule(1, 81, 3)
    assert [sizes[0] for sizes, _ in sched] == [81, 34, 15, 8, 5]
    assert [sizes for sizes, _ in sched] == [[81, 27, 9, 3, 1], [34, 11, 3, 1], [15, 5, 1], [8, 2], [5]]
    assert [budgets for _, budgets in sched][0] == [1, 3, 9, 27, 81]
    assert [b[0] for _, b in sched] == [1, 3, 9, 27, 81]
    assert sum(sum(sizes) for sizes, _ in sched) == 206


@pytest.mark.parametrize("lo, hi, eta, brackets", [(1, 243, 3, 6), (1, 1000, 10, 4), (1, 81, 3, 5),
                                                   (9, 729, 3, 5), (1, 10, 3, 3), (1, 1, 3, 1)])
def test_bracket_count_exact_where_float_logs_fall_short(lo, hi, eta, brackets):
    assert math.floor(math.log(243, 3)) == 4  # the floating-point trap this guards against
    assert n_rungs(lo, hi, eta) + 1 == brackets
    assert len(hyperband_schedule(lo, hi, eta)) == brackets


def run_sequential(opt, n, loss=lambda c, b: c["x"]):
    trials = []
    for _ in range(n):
        t = opt.ask()
        assert t is not None
        opt.tell(t, loss(t.config, t.budget))
        trials.append(t)
    return trials


def test_one_hyperband_iteration_evaluates_exactly_the_schedule():
    opt = Hyperband({"x": (0.0, 1.0)}, 1, 81, 3, seed=0)
    trials = run_sequential(opt, 206)
    per_budget = Counter(t.budget for t in trials)
    assert per_budget == Counter({1: 81, 3: 27 + 34, 9: 9 + 11 + 15, 27: 3 + 3 + 5 + 8, 81: 1 + 1 + 1 + 2 + 5})
    assert opt.n_brackets == 5
    assert opt.ask().info["bracket"] == 5  # the next iteration starts


def test_successive_halving_keeps_exactly_the_top_floor_n_over_eta():
    rng = np.random.default_rng(3)
    losses = {}

    def loss(c, b):
        key = round(c["x"], 12)
        losses.setdefault(key, rng.random())
        return losses[key] + 0.0 * b

    opt = SuccessiveHalving({"x": (0.0, 1.0)}, 1, 27, 3, n_configs=20, seed=1)
    trials = run_sequential(opt, 20 + 6 + 2, loss)
    rung0 = [t for t in trials if t.budget == 1]
    rung1 = [t for t in trials if t.budget == 3]
    rung2 = [t for t in trials if t.budget == 9]
    assert (len(rung0), len(rung1), len(rung2)) == (20, 6, 2)
    best6 = sorted(rung0, key=lambda t: losses[round(t.config["x"], 12)])[:6]
    assert {t.config_id for t in rung1} == {t.config_id for t in best6}
    best2 = sorted(rung1, key=lambda t: losses[round(t.config["x"], 12)])[:2]
    assert {t.config_id for t in rung2} == {t.config_id for t in best2}
    assert all(t.info["promoted_from"] is not None for t in rung1)


def test_failed_trials_are_never_promoted_over_successful_ones():
    opt = SuccessiveHalving({"x": (0.0, 1.0)}, 1, 9, 3, n_configs=9, seed=0)
    first = [opt.ask() for _ in range(9)]
    for i, t in enumerate(first):
        opt.tell(t, Result.failed("boom") if i < 6 else 0.5 + i)
    promoted = [opt.ask() for _ in range(3)]
    assert {t.config_id for t in promoted} == {t.config_id for t in first[6:]}


def test_failed_configurations_are_never_promoted_even_when_a_rung_is_short():
    opt = SuccessiveHalving({"x": (0.0, 1.0)}, 1, 9, 3, n_configs=9, seed=0, max_brackets=1)
    first = [opt.ask() for _ in range(9)]
    for i, t in enumerate(first):  # only two of nine succeed; the next rung wants three
        opt.tell(t, Result.failed("out of memory") if i < 7 else 0.5 + i)
    promoted = [opt.ask() for _ in range(2)]
    assert {t.config_id for t in promoted} == {t.config_id for t in first[7:]}
    assert all(t.budget == 3 for t in promoted)
    assert opt.ask() is None  # the third place is not filled with a failed configuration
    for t in promoted:
        opt.tell(t, 0.1)
    top = opt.ask()
    assert top.budget == 9 and top.config_id in {t.config_id for t in promoted}
    opt.tell(top, 0.1)
    assert opt.ask() is None  # a bracket whose configurations all failed ends
    opt = SuccessiveHalving({"x": (0.0, 1.0)}, 1, 9, 3, n_configs=9, seed=0, max_brackets=1)
    for t in [opt.ask() for _ in range(9)]:
        opt.tell(t, Result.failed("boom"))
    assert opt.ask() is None


def test_hyperband_starts_the_next_bracket_while_a_rung_waits():
    opt = Hyperband({"x": (0.0, 1.0)}, 1, 9, 3, seed=0)  # first bracket: 9 configs
    asked = [opt.ask() for _ in range(12)]
    assert all(t is not None for t in asked)
    assert {t.info["bracket"] for t in asked} == {0, 1}


def test_asha_promotes_only_top_fraction_and_never_returns_none():
    opt = ASHA({"x": (0.0, 1.0)}, 1, 27, 3, seed=0)
    seen = {k: [] for k in range(4)}
    for _ in range(300):
        t = opt.ask()
        assert t is not None
        k = t.info["rung"]
        if k > 0:  # promoted: must be in the top 1/eta of rung k-1 at this moment
            below = sorted(seen[k - 1])
            loss = t.config["x"]
            n_top = len(below) // 3
            assert loss in below[:n_top]
        opt.tell(t, t.config["x"])
        seen[k].append(t.config["x"])
    assert len(seen[3]) > 0


def test_asha_keeps_four_workers_busy_on_random_durations():
    rng = np.random.default_rng(0)
    durations = {}

    def objective(config, budget):
        key = round(config["x"], 12)
        durations.setdefault(key, rng.uniform(0.5, 2.0))
        return Result(config["x"], cost=durations[key] * budget)

    ex = SimulatedExecutor(4)
    res = minimize(objective, {"x": (0.0, 1.0)}, "asha", min_budget=1, max_budget=27, eta=3,
                   n_workers=4, executor=ex, max_evaluations=400, progress=False, seed=0)
    df = res.trials
    makespan = df["end"].max()
    busy = (df["end"] - df["start"]).sum()
    assert busy / (4 * makespan) > 0.95
    # at every start time, the 3 other workers are busy as well (never idle while work exists)
    starts = df["start"].to_numpy()
    ends = df["end"].to_numpy()
    for s in starts[4:100]:
        running = np.sum((starts <= s) & (ends > s))
        assert running == 4


def test_budget_arguments_validated():
    for kwargs, arg in [(dict(min_budget=0, max_budget=9), "min_budget"),
                        (dict(min_budget=-1, max_budget=9), "min_budget"),
                        (dict(min_budget=10, max_budget=9), "min_budget"),
                        (dict(min_budget=1, max_budget=9, eta=1.5), "eta")]:
        for cls in (Hyperband, SuccessiveHalving, ASHA):
            with pytest.raises(ValueError, match=arg):
                cls({"x": (0.0, 1.0)}, **kwargs)
