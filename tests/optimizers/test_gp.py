import numpy as np
import pytest

import lowfi.benchmarks as B
from lowfi.optimizers import RandomSearch, get
from lowfi.optimizers.gp import GPBO, GPProposer, expected_improvement, lower_confidence_bound


def best_after(opt, b, n):
    for _ in range(n):
        t = opt.ask()
        opt.tell(t, b.evaluate(t.config, t.budget))
    return opt.incumbent()[1] - b.optimum


@pytest.mark.parametrize("acq", ["ei", "ucb"])
def test_gpbo_beats_random_search_on_branin(acq):
    b = B.get("mf-branin")
    gp = best_after(GPBO(b.space, max_budget=90, acquisition=acq, seed=0, n_candidates=128), b, 25)
    rs = best_after(RandomSearch(b.space, max_budget=90, seed=0), b, 25)
    assert gp < 0.5 and gp < rs


def test_registry_and_full_budget():
    opt = get("gp", {"x": (0.0, 1.0), "c": ["a", "b"]}, max_budget=5, min_budget=1, eta=3, seed=0)
    assert isinstance(opt, GPBO) and not opt.multi_fidelity
    for _ in range(8):
        t = opt.ask()
        assert t.budget == 5
        opt.tell(t, (t.config["x"] - 0.4) ** 2 + (t.config["c"] == "a"))


def test_acquisition_functions():
    m = np.array([0.0, 0.0, 1.0])
    v = np.array([1.0, 4.0, 1.0])
    ei = expected_improvement(m, v, best=0.0)
    assert ei[1] > ei[0] > ei[2] > 0
    assert ei[0] == pytest.approx(1 / np.sqrt(2 * np.pi))
    ucb = lower_confidence_bound(m, v, kappa=2.0)
    np.testing.assert_allclose(ucb, [2.0, 4.0, 1.0])


def test_polish_improves_on_candidates_for_continuous_dims():
    space = {"x": (0.0, 1.0), "y": (0.0, 1.0)}
    opt = GPBO(space, seed=0, n_candidates=16, n_initial=6)
    for _ in range(12):
        t = opt.ask()
        opt.tell(t, (t.config["x"] - 0.37) ** 2 + (t.config["y"] - 0.61) ** 2)
    cfg, loss = opt.incumbent()
    assert loss < 0.01


def test_bad_inputs_rejected():
    with pytest.raises(ValueError, match="acquisition"):
        GPBO({"x": (0.0, 1.0)}, acquisition="pi")
    with pytest.raises(ValueError, match="n_initial"):
        GPProposer(n_initial=0)
    with pytest.raises(ValueError, match="budget"):
        GPBO({"x": (0.0, 1.0)}, max_budget=-1)


def test_hyperparameters_are_refit_on_a_geometric_schedule_past_refit_below():
    opt = GPBO({"x": (0.0, 1.0)}, seed=0, n_candidates=16, n_initial=3, n_local=0,
               refit_below=6, refit_growth=0.5)
    flags = []
    for _ in range(20):
        t = opt.ask()
        if opt.proposer.gp is not None and not hasattr(opt.proposer.gp, "_spy"):
            gp = opt.proposer.gp
            real = gp.fit

            def spy(X, y, optimize=True, real=real):
                flags.append((len(y), optimize))
                return real(X, y, optimize=optimize)

            gp.fit, gp._spy = spy, True
        opt.tell(t, (t.config["x"] - 0.3) ** 2)
    optimized = sorted({n for n, o in flags if o})
    assert all(n <= 6 or n in (9, 14) for n in optimized) and {9, 14} <= set(optimized)
    assert any(not o for n, o in flags if n > 6)  # between them: the previous hyperparameters
    with pytest.raises(ValueError, match="refit_growth"):
        GPProposer(refit_growth=-1)


def test_a_deterministic_optimum_on_a_bound_is_not_evaluated_again_and_again():
    """The polished EI maximum lands on an evaluated configuration (the optimum on a bound of
    x, an integer n): the proposer takes the best candidate not evaluated yet instead."""
    import warnings

    from ConfigSpace import ConfigurationSpace, Float, Integer

    import lowfi

    cs = ConfigurationSpace(seed=1)
    cs.add([Integer("n", (1, 200), log=True), Float("x", (0.0, 1.0))])

    def objective(config, budget):
        return abs(config["n"] - 17) / 50 + config["x"]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = lowfi.minimize(objective, cs, "gp", max_evaluations=40, seed=0, progress=False)
    repeats = int(res.trials.duplicated(subset=["config.n", "config.x"]).sum())
    assert repeats <= 3  # 15 when only running configurations were avoided


def test_a_small_discrete_space_is_not_spent_on_repeats():
    from lowfi import optimizers

    space = {"a": (0, 9), "c": ["x", "y", "z"]}  # 30 configurations, a deterministic loss
    for seed in range(3):
        opt = optimizers.get("gp", space, seed=seed)
        seen = set()
        for _ in range(20):
            t = opt.ask()
            seen.add((t.config["a"], t.config["c"]))
            opt.tell(t, (t.config["a"] - 2) ** 2 + {"x": 1, "y": 0, "z": 2}[t.config["c"]])
        assert len(seen) >= 18  # before: 10-11 distinct (the optimum told 10 times)
