import math

import pytest

import lowfi
from lowfi.benchmarks import get
from lowfi.benchmarks.sklearn_tasks import N_VALID, SVMDigits

GOOD = {"C": math.exp(0.5), "gamma": math.exp(-2.0)}  # best point of the 41 x 41 grid
BEST = {"C": 1.5087906254333097, "gamma": 0.13149921608797102}  # no validation error
BAD = {"C": math.exp(-10.0), "gamma": math.exp(10.0)}


@pytest.fixture(scope="module")
def svm():
    return get("svm-digits")


def test_registered_with_budgets_and_log_space(svm):
    assert isinstance(svm, SVMDigits)
    assert (svm.min_budget, svm.max_budget, svm.eta) == (50.0, 1350.0, 3.0)
    assert svm.space["C"].log and svm.space["gamma"].log
    assert svm.space["C"].lower == pytest.approx(math.exp(-10))


def test_optimum_is_reached_at_the_grid_best_and_cost_is_measured(svm):
    assert svm.evaluate(BEST, 1350).loss == svm.optimum == 0.0
    r = svm.evaluate(GOOD, 1350)
    assert r.loss == pytest.approx(1 / N_VALID)  # one error of 447
    assert r.cost > 0 and r.info["n_train"] == 1350
    assert svm.test_loss(GOOD) == r.loss
    assert svm.optimum < svm.f_rand
    # a kernel width of e^10 memorizes the training points: near chance on validation
    assert svm.evaluate(BAD, 1350).loss > 0.8


def test_more_data_helps_and_subsets_are_seeded(svm):
    small = svm.evaluate(GOOD, 50, seed=1).loss
    assert small > svm.evaluate(GOOD, 1350, seed=1).loss
    assert svm.evaluate(GOOD, 50, seed=1).loss == small  # same seed, same subset
    losses = {svm.evaluate(GOOD, 50, seed=s).loss for s in range(2, 7)}
    assert len(losses) > 1  # other seeds draw other subsets
    # at the full budget the subset is the whole training pool: seed does not matter
    assert svm.evaluate(GOOD, 1350, seed=5).loss == svm.evaluate(GOOD, 1350, seed=9).loss


def test_bad_arguments_raise_value_error(svm):
    with pytest.raises(ValueError, match="budget"):
        svm.evaluate(GOOD, 5000)
    with pytest.raises(ValueError, match="min_budget"):
        SVMDigits(min_budget=100, max_budget=50)
    with pytest.raises(ValueError, match="n_test"):
        SVMDigits(n_test=440)


def test_heldout_variant_scores_on_a_separate_test_split():
    b = get("svm-digits-heldout")
    assert b.name == "svm-digits-heldout" and b.n_test == 224
    Xp, yp, Xv, yv, Xt, yt = b._data
    assert len(yv) == N_VALID - 224 and len(yt) == 224 and len(yp) == 1797 - N_VALID
    # the optimizer's loss is the validation error, the regret's test_loss another split's
    val = b.evaluate(GOOD, 1350).loss
    test = b.test_loss(GOOD)
    assert test == b.optimum == 0.0  # the grid point with no test error
    assert val * len(yv) == pytest.approx(round(val * len(yv)))  # an error count of 223 images
    assert b.test_loss(BAD) > 0.8 and b.optimum < b.f_rand < 1
    # no image is in two splits (the default benchmark keeps all 447 as validation)
    rows = [{tuple(r) for r in X} for X in (Xp, Xv, Xt)]
    assert not (rows[0] & rows[1]) and not (rows[0] & rows[2]) and not (rows[1] & rows[2])
    assert len(get("svm-digits")._data[4]) == 0
    with pytest.raises(ValueError, match="n_test"):  # its optimum holds for its own split only
        get("svm-digits-heldout", n_test=100)


def test_a_configuration_outside_the_space_is_refused_not_evaluated():
    from lowfi.analysis.bench import get_benchmark

    for name, bad, words in (
            ("mf-branin", {"x0": 101.0, "x1": 0.5}, "x0"),
            ("counting-ones-8-8", {f"float_{i}": 0.5 for i in range(8)}
             | {f"cat_{i}": 1 for i in range(8)} | {"float_0": 5.0}, "float_0"),
            ("svm-digits", {"C": 2.2e5, "gamma": 0.01}, "C"),
            ("svm-digits", {"gamma": 0.01}, "C")):
        b = get_benchmark(name)
        with pytest.raises(ValueError, match=f"(?s){name}: config: .*{words}"):
            b.evaluate(bad, b.max_budget)
    b = get_benchmark("svm-digits")  # a bound reached through rounding is the bound
    lo = b.space["C"].lower * (1 - 1e-12)
    assert b.evaluate({"C": lo, "gamma": 1e-3}, b.min_budget).status == "ok"


def test_a_benchmark_as_the_objective_of_a_seeded_run_repeats_its_noise():
    from lowfi.analysis.bench import get_benchmark

    b = get_benchmark("counting-ones-8-8")  # noisy: Bernoulli draws per parameter
    runs = [lowfi.minimize(b, seed=3, max_evaluations=12, progress=False).trials
            for _ in range(2)]
    assert runs[0]["loss"].tolist() == runs[1]["loss"].tolist()
    other = lowfi.minimize(b, seed=4, max_evaluations=12, progress=False).trials
    assert other["loss"].tolist() != runs[0]["loss"].tolist()
