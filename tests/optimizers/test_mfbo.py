import numpy as np
import pytest

import lowfi.benchmarks as B
from lowfi import Result
from lowfi.optimizers import get
from lowfi.optimizers.mfbo import ACQUISITIONS, MFBO

SPACE = {"x": (0.0, 1.0)}


def f(x, b):
    """Low budgets are biased by a wiggle that vanishes at the full budget 9."""
    return (x - 0.3) ** 2 + 0.5 * (1 - b / 9) ** 2 * np.sin(10 * x)


def inject(opt, x, b, cost=None):
    t = opt._new_trial({"x": float(x)}, b)
    opt.history.add_pending(t)
    opt.tell(t, Result(float(f(x, b)), cost=b if cost is None else cost))


def fresh(acq, seed=0, **kw):
    kw.setdefault("verify_share", 0.0)  # the acquisition alone (verification is tested apart)
    opt = MFBO(SPACE, 3, 9, 3, acquisition=acq, seed=seed, n_initial=4, n_candidates=60, **kw)
    opt._init_queue = []
    return opt


@pytest.mark.parametrize("acq", ACQUISITIONS)
def test_cheap_budget_while_informative_full_budget_once_cheap_is_exhausted(acq):
    sparse = fresh(acq)
    for x in (0.1, 0.5, 0.9):
        inject(sparse, x, 3)
    for x in (0.05, 0.95):
        inject(sparse, x, 9)
    assert sparse.ask().budget == 3  # little known: the 3x cheaper budget teaches more per cost

    dense = fresh(acq)
    for x in np.linspace(0, 1, 30):
        inject(dense, x, 3)
    for x in (0.05, 0.95):
        inject(dense, x, 9)
    assert dense.ask().budget == 9  # the cheap budget has nothing left to tell


def test_initial_design_is_cheap_then_model_based():
    b = B.get("mf-branin")
    opt = get("mfbo", b.space, min_budget=10, max_budget=90, eta=3, seed=0, n_candidates=60)
    assert opt.multi_fidelity and opt.budgets == [10.0, 30.0, 90.0]
    trials = []
    for _ in range(opt.n_initial + 1 + 3):
        t = opt.ask()
        trials.append(t)
        opt.tell(t, b.evaluate(t.config, t.budget))
    design = trials[: opt.n_initial + 1]
    assert [t.budget for t in design].count(10.0) == opt.n_initial
    assert all(t.budget < 90 for t in design)
    # the configuration promoted in the design keeps its config_id
    assert design[-1].config_id == design[0].config_id
    assert all(t.info["acquisition"] == "es" for t in trials)
    assert opt.last_scores is not None and opt.last_scores.shape[1] == 3


@pytest.mark.parametrize("acq", ACQUISITIONS)
def test_every_acquisition_improves_on_branin(acq):
    b = B.get("mf-branin")
    opt = MFBO(b.space, 10, 90, 3, acquisition=acq, seed=1, n_candidates=80)
    for _ in range(22):
        t = opt.ask()
        assert t.budget in opt.budgets
        opt.tell(t, b.evaluate(t.config, t.budget))
    cfg, pred = opt.recommend()
    assert b.test_loss(cfg) - b.optimum < 3.0  # random search's median regret here is ~ 20
    assert np.isfinite(pred)


def test_cost_model_learns_measured_costs():
    opt = fresh("es")
    rng = np.random.default_rng(0)

    def true_cost(x, b):
        return 0.2 + 2.0 * x * b  # depends on the configuration and the budget

    for x in rng.random(25):
        for b in (3.0, 9.0):
            t = opt._new_trial({"x": float(x)}, b)
            opt.history.add_pending(t)
            opt.tell(t, Result(float(f(x, b)), cost=true_cost(x, b)))
    assert opt.fit_models()
    X = np.array([[0.2], [0.5], [0.8]])
    for b in (3.0, 9.0):
        pred = opt.predicted_cost(X, b)
        np.testing.assert_allclose(pred, true_cost(X[:, 0], b), rtol=0.2)


def test_pending_trials_are_not_duplicated():
    opt = fresh("mf-kg")
    for x in (0.1, 0.5, 0.9):
        inject(opt, x, 3)
    for x in (0.05, 0.95):
        inject(opt, x, 9)
    pend = [opt.ask() for _ in range(4)]
    keys = {(opt.space.key(t.config), t.budget) for t in pend}
    assert len(keys) == 4


def test_same_seed_same_asks():
    def run():
        opt = MFBO({"x": (0.0, 1.0), "c": ["a", "b"]}, 1, 9, 3, acquisition="mf-mes", seed=7,
                   n_candidates=40)
        out = []
        for _ in range(9):
            t = opt.ask()
            opt.tell(t, float(f(t.config["x"], t.budget)) + 0.1 * (t.config["c"] == "b"))
            out.append((t.config, t.budget))
        return out

    assert run() == run()


def test_failed_results_do_not_break_the_model():
    opt = fresh("es")
    for x in (0.1, 0.5, 0.9):
        inject(opt, x, 3)
    t = opt.ask()
    opt.tell(t, Result.failed("crash"))
    t2 = opt.ask()
    assert t2.budget in opt.budgets


def test_bad_inputs_rejected():
    with pytest.raises(ValueError, match="acquisition"):
        MFBO(SPACE, 1, 9, acquisition="ei")
    with pytest.raises(ValueError, match="fidelity_kernel"):
        MFBO(SPACE, 1, 9, fidelity_kernel="rbf")
    with pytest.raises(ValueError, match="min_budget"):
        MFBO(SPACE, 10, 9)
    with pytest.raises(ValueError, match="n_candidates"):
        MFBO(SPACE, 1, 9, n_candidates=0)
    with pytest.raises(ValueError, match="n_initial"):
        MFBO(SPACE, 1, 9, n_initial=1)
    with pytest.raises(ValueError, match="min_budget"):
        get("mfbo", SPACE, max_budget=9)


def test_expdecay_fidelity_kernel_runs():
    opt = MFBO(SPACE, 1, 9, 3, fidelity_kernel="expdecay", acquisition="mf-kg", seed=0,
               n_candidates=40)
    for _ in range(10):
        t = opt.ask()
        opt.tell(t, float(f(t.config["x"], t.budget)))
    assert opt.recommend() is not None


def test_recommend_does_not_change_the_trajectory():
    b = B.get("mf-branin")

    def trajectory(recommend_every: int | None) -> list:
        opt = MFBO(b.space, 10, 90, 3, acquisition="mf-kg", seed=3, n_candidates=40)
        out = []
        for i in range(14):
            t = opt.ask()
            opt.tell(t, b.evaluate(t.config, t.budget))
            out.append((tuple(sorted(t.config.items())), t.budget))
            if recommend_every and i % recommend_every == 0 and i > 4:
                opt.recommend()
        return out

    assert trajectory(None) == trajectory(2)


def test_log_budget_scale_extrapolates_power_law_cost():
    """FABOLAS's log budget scale: cost ~ budget^2 learned on cheap budgets extrapolates to the
    full budget within a small factor (the linear scale overestimates it by orders of magnitude)."""
    space = {"x": (0.0, 1.0)}
    errs = {}
    for scale in ("log", "linear"):
        opt = MFBO(space, 50, 1350, 3, seed=0, budget_scale=scale)
        rng = np.random.default_rng(0)
        for b in (50.0, 150.0, 450.0):
            for _ in range(4):
                t = opt._new_trial({"x": float(rng.uniform())}, b)
                opt.history.add_pending(t)
                opt.tell(t, Result(loss=float(rng.uniform()), cost=(b / 1350) ** 2))
        opt.fit_models()
        pred = float(opt.predicted_cost(opt.space.encode([{"x": 0.5}]), 1350.0)[0])
        errs[scale] = abs(np.log(pred))  # true cost at the full budget is 1
    assert errs["log"] < np.log(3.0)
    assert errs["linear"] > errs["log"]
    with pytest.raises(ValueError, match="budget_scale"):
        MFBO(space, 50, 1350, 3, budget_scale="sqrt")


def test_log_loss_transform_keeps_predictions_on_the_loss_scale():
    space = {"x": (0.0, 1.0)}
    opt = MFBO(space, 10, 90, 3, seed=0, loss_transform="log", n_candidates=30)
    for _ in range(8):
        t = opt.ask()
        x = t.config["x"]
        opt.tell(t, Result(loss=0.01 + (x - 0.3) ** 2 * (90 / t.budget), cost=t.budget / 90))
    cfg, pred = opt.recommend()
    assert pred > -opt.loss_offset  # back-transformed: a loss, not a log
    assert abs(cfg["x"] - 0.3) < 0.35
    opt.tell(opt.ask(), Result(loss=-1.0))
    with pytest.raises(ValueError, match="loss_transform"):
        opt.fit_models()
    with pytest.raises(ValueError, match="loss_transform"):
        MFBO(space, 10, 90, 3, loss_transform="sqrt")
    with pytest.raises(ValueError, match="loss_offset"):
        MFBO(space, 10, 90, 3, loss_transform="log", loss_offset=0.0)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [4242, 4243])
def test_mf_mes_on_branin_ends_with_a_verified_incumbent(seed):
    """MF-MES alone keeps to cheap budgets here; the verification rule evaluates the
    recommendation at max_budget within its cost share, so incumbent() is measured there."""
    b = B.get("mf-branin")
    unit = float(b.cost_at(1.0)[0])
    opt = MFBO(b.space, 10, 90, 3, acquisition="mf-mes", seed=seed, n_candidates=60)
    spent = 0.0
    while spent < 8 * unit:
        t = opt.ask()
        r = b.evaluate(t.config, t.budget)
        opt.tell(t, r)
        spent += r.cost
    ver = [r for r in opt.history.records if r.info.get("verification")]
    assert ver and all(r.budget == 90 for r in ver)
    inc = opt.history.incumbent(opt.max_budget)
    assert inc.budget == 90
    # every verification evaluated the recommendation of its time: not already measured at 90
    keys = [opt.space.key(r.config) for r in opt.history.records if r.budget == 90]
    assert len(keys) == len(set(keys))
    share = sum(r.cost for r in ver) / spent
    assert share <= 0.2 + unit / spent  # within the share (one evaluation of slack: predicted cost)


def test_last_trial_and_ask_verification_measure_the_recommendation_at_max_budget():
    b = B.get("mf-branin")
    opt = MFBO(b.space, 10, 90, 3, acquisition="mf-kg", seed=0, n_candidates=40,
               verify_share=0.0, max_trials=12)
    trials = []
    while (t := opt.ask()) is not None:
        opt.tell(t, b.evaluate(t.config, t.budget))
        trials.append(t)
    assert len(trials) == 12
    assert trials[-1].budget == 90 and trials[-1].info["verification"]
    assert not any(t.info.get("verification") for t in trials[:-1])
    assert opt.history.incumbent(90).budget == 90
    assert opt.ask_verification() is None  # the recommendation is measured now

    opt = MFBO(b.space, 10, 90, 3, acquisition="es", seed=0, n_candidates=40, verify_share=0.0)
    for _ in range(8):
        t = opt.ask()
        assert t.budget < 90  # the initial design and ES stay cheap here
        opt.tell(t, b.evaluate(t.config, t.budget))
    v = opt.ask_verification()
    assert v is not None and v.budget == 90 and v.info["verification"]
    assert v.config == opt.recommend()[0]
    assert opt.ask_verification() is None  # one is pending
    with pytest.raises(ValueError, match="verify_share"):
        MFBO(SPACE, 1, 9, verify_share=1.0)


def test_verification_comes_when_its_cost_share_allows():
    from lowfi.optimizers.mfbo import verification_due

    assert verification_due(spent=40.0, verify_cost=0.0, full_cost=10.0, share=0.2)
    assert not verification_due(spent=30.0, verify_cost=0.0, full_cost=10.0, share=0.2)
    assert not verification_due(spent=1e9, verify_cost=0.0, full_cost=1.0, share=0.0)
    opt = fresh("mf-mes", verify_share=0.2)
    for x in np.linspace(0, 1, 12):
        inject(opt, x, 3)  # 36 cost units at the cheap budget, nothing at 9
    t = opt.ask()
    assert t.budget == 9 and t.info["verification"]
    assert t.config == opt.recommend()[0]
    opt.tell(t, Result(float(f(t.config["x"], 9)), cost=9))
    assert opt.history.incumbent(9).budget == 9
    # the next verification waits until the share allows another 9 units
    assert not opt.ask().info.get("verification")


def test_both_gps_refit_hyperparameters_on_a_geometric_schedule_past_refit_below():
    from lowfi.optimizers.mfbo import MFBO

    opt = MFBO({"x": (0.0, 1.0)}, min_budget=1, max_budget=9, seed=0, n_candidates=20,
               n_representers=4, n_samples=8, refit_below=6, refit_growth=0.5,
               acquisition="mf-gp-ucb")
    flags = {"loss": [], "cost": []}
    for name, model in (("loss", opt.model), ("cost", opt.cost_model)):
        real = model.fit

        def spy(X, y, optimize=True, real=real, log=flags[name]):
            log.append((len(y), optimize))
            return real(X, y, optimize=optimize)

        model.fit = spy
    for _ in range(20):
        t = opt.ask()
        opt.tell(t, Result((t.config["x"] - 0.3) ** 2 + 1.0 / t.budget, cost=t.budget))
    n_told = len(opt.history)
    assert n_told >= 15
    for name in ("loss", "cost"):
        optimized = {n for n, o in flags[name] if o}
        assert any(n > 6 for n in optimized)  # re-optimized past refit_below ...
        assert any(not o for n, o in flags[name] if n > 6)  # ... but not at every ask
        assert all(n <= 6 or n in (9, 14, 21) for n in optimized if n <= n_told)
    with pytest.raises(ValueError, match="refit_below"):
        MFBO({"x": (0.0, 1.0)}, min_budget=1, max_budget=9, refit_below=-1)


def test_entropy_search_survives_a_representer_covariance_that_lost_definiteness():
    from lowfi.optimizers.mfbo import _factor_or_diagonal

    bad = np.array([[0.4, 5.0], [5.0, 0.1]])  # eigenvalues of both signs: no Cholesky factor
    L = _factor_or_diagonal(bad)
    np.testing.assert_allclose(L, np.diag(np.sqrt([0.4, 0.1])))
    good = np.array([[2.0, 0.5], [0.5, 1.0]])
    np.testing.assert_allclose(_factor_or_diagonal(good) @ _factor_or_diagonal(good).T, good)
    opt = MFBO({"x": (0.0, 1.0)}, min_budget=1, max_budget=9, seed=0, n_candidates=20,
               n_representers=4, n_samples=8)
    real = opt.model.predict

    def broken(X, full_cov=False):
        mean, cov = real(X, full_cov=full_cov)
        if full_cov:  # what the sparse posterior's full covariance can become in rounding
            cov = cov - 10.0 * np.abs(cov).max() * (1.0 - np.eye(len(cov)))
        return mean, cov

    opt.model.predict = broken
    for _ in range(12):
        t = opt.ask()
        opt.tell(t, Result((t.config["x"] - 0.3) ** 2 + 1.0 / t.budget, cost=t.budget))
    assert len(opt.history) == 12


def test_budgets_are_ints_like_hyperbands_and_budget_type_is_taken():
    import lowfi
    from lowfi import optimizers

    opt = optimizers.get("mfbo", {"x": (0.0, 1.0)}, min_budget=1, max_budget=27, eta=3, seed=0)
    assert opt.budget_type is int and opt.budgets == [1.0, 3.0, 9.0, 27.0]
    seen = set()

    def obj(c, budget):
        seen.add(type(budget))
        return (c["x"] - 0.3) ** 2 + 1 / budget

    lowfi.minimize(obj, {"x": (0.0, 1.0)}, "mfbo", min_budget=1, max_budget=20, eta=3,
                   max_evaluations=6, seed=0, progress=False, budget_type=int)
    assert seen == {int}
    with pytest.raises(ValueError, match="budget_type: got 'str'"):
        optimizers.get("mfbo", {"x": (0.0, 1.0)}, min_budget=1, max_budget=27, budget_type="str")
