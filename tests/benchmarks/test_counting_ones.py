"""Counting Ones as in the BOHB paper's experiment code."""

import numpy as np
import pytest

import lowfi.benchmarks
from lowfi.benchmarks.counting_ones import CountingOnes, counting_ones_8_8, counting_ones_16_16
from lowfi.space import Space


def test_space_budgets_and_reference_values():
    b = counting_ones_8_8()
    s = Space(b.space)
    assert sorted(s.kinds) == ["cat"] * 8 + ["float"] * 8
    assert (b.min_budget, b.max_budget, b.eta) == (9, 729, 3)
    assert b.optimum == -16 and b.f_rand == -8
    assert counting_ones_16_16().optimum == -32
    ones = {k: 1 for k in s.names}
    assert b.test_loss(ones) == -16 and b.normalized_regret(ones) == 0.0
    rng = np.random.default_rng(0)
    mean = np.mean([b.test_loss(c) for c in s.sample(rng, 2000)])
    assert mean == pytest.approx(b.f_rand, abs=0.15)


def test_training_loss_is_noisy_counting_with_cost_budget():
    b = CountingOnes(2, 3)
    cfg = {"cat_0": 1, "cat_1": 0, "float_0": 0.5, "float_1": 1.0, "float_2": 0.0}
    r = b.evaluate(cfg, 9, seed=1)
    assert r.cost == 9.0 and r.info["test_loss"] == -2.5
    # each continuous term is a mean of b Bernoulli draws: a multiple of 1/b
    cont = -r.loss - 1 - 1.0
    assert cont * 9 == pytest.approx(round(cont * 9))
    assert b.evaluate(cfg, 9, seed=1).loss == r.loss  # same seed, same draws
    lo = [b.evaluate(cfg, 9, seed=s).loss for s in range(300)]
    hi = [b.evaluate(cfg, 729, seed=s).loss for s in range(300)]
    assert np.mean(lo) == pytest.approx(-2.5, abs=0.05)
    assert np.std(hi) < 0.2 * np.std(lo)  # noise shrinks like 1/sqrt(b)


def test_registry_and_bad_input():
    assert isinstance(lowfi.benchmarks.get("counting-ones-16-16"), CountingOnes)
    with pytest.raises(ValueError, match="n_cat"):
        CountingOnes(-1, 2)
    with pytest.raises(ValueError, match="budget"):
        CountingOnes(1, 1).evaluate({"cat_0": 1, "float_0": 0.5}, 0)
    with pytest.raises(ValueError, match="float_0"):
        CountingOnes(1, 1).evaluate({"cat_0": 1}, 9)
