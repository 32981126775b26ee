"""Integer budgets: inferred or asked for, rungs rounded, ints reach the objective."""

import numpy as np
import pytest

import lowfi
from lowfi.optimizers import get, hyperband_schedule
from lowfi.optimizers.base import budget_kind

SPACE = {"x": (0.0, 1.0)}
MF = ["sh", "hyperband", "asha", "bohb"]


@pytest.mark.parametrize("lo, hi, eta, kind", [
    (1, 81, 3, int),        # rungs 1, 3, 9, 27, 81
    (2, 32, 2, int),        # 2, 4, 8, 16, 32
    (np.int64(1), np.int64(27), 3, int),
    (10, 100, 3, float),    # 100/9 is not whole: float unless asked
    (1.0, 81.0, 3, float),  # float budgets stay float
    (1, 81.0, 3, float),
])
def test_inference_rule(lo, hi, eta, kind):
    assert budget_kind(None, lo, hi, eta) is kind


@pytest.mark.parametrize("name", MF)
def test_rungs_are_rounded_ints(name):
    opt = get(name, SPACE, min_budget=10, max_budget=100, eta=3, seed=0, budget_type=int)
    budgets = set()
    for _ in range(60):
        t = opt.ask()
        if t is None:
            break
        assert type(t.budget) is int
        budgets.add(t.budget)
        opt.tell(t, t.config["x"])
    # r_i = 100 * 3**-k rounded: 11, 33, 100 (the top rung is max_budget exactly)
    assert budgets == {11, 33, 100}


def test_hyperband_schedule_rounding_keeps_rungs_distinct_and_within_range():
    for lo, hi, eta in [(1, 10, 3), (1, 100, 2), (5, 50, 3), (3, 1000, 4)]:
        for _sizes, budgets in hyperband_schedule(lo, hi, eta, int):
            assert all(type(b) is int for b in budgets)
            assert budgets[-1] == hi and budgets[0] >= lo
            assert all(a < b for a, b in zip(budgets, budgets[1:]))
            exact = [hi * eta ** (i - len(budgets) + 1) for i in range(len(budgets))]
            assert all(abs(b - e) <= 0.5 for b, e in zip(budgets, exact))


def test_float_default_unchanged():
    opt = get("hyperband", SPACE, min_budget=10, max_budget=100, eta=3, seed=0)
    assert type(opt.ask().budget) is float


@pytest.mark.parametrize("bad", [dict(min_budget=0.5, max_budget=10), dict(min_budget=1, max_budget=9.5)])
def test_int_budget_type_needs_whole_budgets(bad):
    with pytest.raises(ValueError, match="budget_type=int"):
        get("hyperband", SPACE, eta=3, budget_type=int, **bad)


def test_bad_budget_type_names_allowed_values():
    with pytest.raises(ValueError, match="budget_type: got 'integer'.*allowed are int, float"):
        get("hyperband", SPACE, min_budget=1, max_budget=9, budget_type="integer")


def test_single_fidelity_int_budget_reaches_objective_as_int():
    opt = get("random", SPACE, max_budget=100, seed=0)
    assert type(opt.ask().budget) is int


def test_gradient_boosting_n_estimators_budget():
    """The objective passes the budget straight to an int-only scikit-learn parameter."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.model_selection import cross_val_score

    X, y = load_breast_cancer(return_X_y=True)
    X, y = X[:200], y[:200]
    seen = []

    def objective(config, budget):
        seen.append(budget)
        clf = GradientBoostingClassifier(n_estimators=budget, max_depth=config["max_depth"],
                                         random_state=0)
        return 1 - cross_val_score(clf, X, y, cv=2).mean()

    res = lowfi.minimize(objective, {"max_depth": (1, 3)}, "hyperband", min_budget=2,
                         max_budget=20, eta=3, max_evaluations=8, progress=False,
                         budget_type=int)
    assert res.best_loss is not None
    assert seen and all(type(b) is int for b in seen)
    assert set(seen) <= {2, 7, 20}  # 20/9 -> 2, 20/3 -> 7, 20
    assert (res.trials["status"] == "ok").all()
