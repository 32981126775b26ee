import math

import numpy as np
import pandas as pd
import pytest

from lowfi.analysis.trajectory import aggregate, final_values, incumbent_trajectory, regret


def _run():
    # finish order deliberately differs from trial order (end column decides)
    return pd.DataFrame({
        "trial_id": [6, 0, 1, 2, 3, 4, 5],
        "budget": [3, 1, 3, 1, 9, 9, 9],
        "loss": [0.0, 0.5, 0.6, 0.1, 0.9, 0.3, None],
        "test_loss": [0.0, 0.4, 0.55, 0.05, 0.8, 0.2, None],
        "status": ["ok", "ok", "ok", "ok", "ok", "ok", "failed"],
        "start": [6, 0, 1, 2, 3, 4, 5.0],
        "end": [7, 1, 2, 3, 4, 5, 6.0],
    })


def test_incumbent_rule_and_regret_on_hand_made_run():
    t = incumbent_trajectory(_run(), max_budget=9, optimum=0.0, f_rand=0.5)
    np.testing.assert_allclose(t["cum_budget"], [1, 4, 5, 14, 23, 32, 35])
    np.testing.assert_allclose(t["wallclock"], [1, 2, 3, 4, 5, 6, 7])
    # a higher budget wins over a lower loss; max-budget results win over everything below;
    # a failed result and a later low-budget result never replace the max-budget incumbent
    np.testing.assert_allclose(t["inc_loss"], [0.5, 0.6, 0.6, 0.9, 0.3, 0.3, 0.3])
    np.testing.assert_allclose(t["inc_value"], [0.4, 0.55, 0.55, 0.8, 0.2, 0.2, 0.2])
    np.testing.assert_allclose(t["regret"], [0.8, 1.1, 1.1, 1.6, 0.4, 0.4, 0.4])


def test_incumbent_without_test_loss_uses_observed_loss_and_nan_before_success():
    df = pd.DataFrame({"budget": [9, 9], "loss": [None, 2.0], "status": ["failed", "ok"],
                       "cost": [1.5, 2.5]})
    t = incumbent_trajectory(df, max_budget=9)
    assert math.isnan(t["inc_loss"].iloc[0])
    assert t["inc_value"].iloc[1] == 2.0
    np.testing.assert_allclose(t["wallclock"], [1.5, 4.0])  # cumulative cost without end times
    np.testing.assert_allclose(t["regret"].iloc[1], 2.0)  # no optimum: the value itself


def test_regret_formulas_and_validation():
    np.testing.assert_allclose(regret([3.0, 5.0], optimum=1.0), [2.0, 4.0])
    np.testing.assert_allclose(regret([3.0, 5.0], optimum=1.0, f_rand=5.0), [0.5, 1.0])
    with pytest.raises(ValueError, match="f_rand"):
        regret([1.0], optimum=1.0, f_rand=0.5)
    with pytest.raises(ValueError, match="max_budget"):
        incumbent_trajectory(_run(), max_budget=0)


def test_aggregate_mean_and_standard_error_of_step_functions():
    a = pd.DataFrame({"cum_budget": [1.0, 3.0], "regret": [1.0, 0.5]})
    b = pd.DataFrame({"cum_budget": [2.0, 4.0], "regret": [0.8, 0.2]})
    agg = aggregate([a, b], grid=np.array([0.5, 1.0, 2.5, 3.5, 5.0]))
    # at 0.5 nobody has a value; at 1.0 only run a; then both
    assert math.isnan(agg["mean"][0]) and agg["n"][0] == 0
    assert agg["mean"][1] == 1.0 and agg["n"][1] == 1 and math.isnan(agg["sem"][1])
    np.testing.assert_allclose(agg["mean"][2:], [0.9, 0.65, 0.35])
    # sem of two values x, y = |x - y| / 2
    np.testing.assert_allclose(agg["sem"][2:], [0.1, 0.15, 0.15])
    m, s, n = final_values([a, b], at=10.0)
    assert (round(m, 9), round(s, 9), n) == (0.35, 0.15, 2)


def test_aggregate_default_grid_is_log_spaced_over_the_range():
    a = pd.DataFrame({"cum_budget": [1.0, 100.0], "regret": [1.0, 0.1]})
    agg = aggregate([a], n_points=3)
    np.testing.assert_allclose(agg["x"], [1.0, 10.0, 100.0])
    np.testing.assert_allclose(agg["mean"], [1.0, 1.0, 0.1])
    with pytest.raises(ValueError, match="trajectories"):
        aggregate([])
