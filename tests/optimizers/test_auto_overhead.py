"""What keeps the default optimizer ("auto") cheap at scale: the GP's posterior mean without
variance, the geometric hyperparameter schedule, and fantasies that leave the model alone."""

import numpy as np

from lowfi.models.gp import GP
from lowfi.optimizers import get

KW = dict(min_budget=1, max_budget=27, eta=3)


def test_predict_mean_equals_the_mean_of_predict():
    rng = np.random.default_rng(0)
    X = rng.random((40, 3))
    y = np.sin(3 * X).sum(1) + 0.05 * rng.standard_normal(40)
    Xq = rng.random((25, 3))
    for gp in (GP(seed=0), GP(seed=0, max_exact=20, n_inducing=15)):  # exact, then sparse (DTC)
        gp.fit(X, y)
        assert gp.sparse == (gp.max_exact < 40)
        np.testing.assert_allclose(gp.predict_mean(Xq), gp.predict(Xq)[0], rtol=1e-9, atol=1e-9)


def _sphere(config, budget):
    x = np.array([config[k] for k in sorted(config)])
    return float(((x - 0.3) ** 2).sum() + 0.5 / budget)


def test_hyperparameters_refit_on_a_geometric_schedule():
    """Each hyperparameter optimization needs the observations (all of them, not only the
    subset the GP sees) to have grown by a quarter since the last one, so their number grows
    with log(n); past ``max_gp_points`` they are warm-started only (no random restarts)."""
    opt = get("auto", {f"x{i}": (0.0, 1.0) for i in range(3)}, seed=0, **KW)
    assert opt.model == "gp"
    impl = opt.proposer._impl
    at = []
    fit = impl.gp.fit

    def logged(X, y, optimize=True):
        if optimize:
            at.append((len(opt.history), impl.gp.n_restarts))
        return fit(X, y, optimize=optimize)

    impl.gp.fit = logged
    for _ in range(700):
        t = opt.ask()
        opt.tell(t, _sphere(t.config, t.budget))
    n = [k for k, _ in at]
    assert len(n) == impl.n_optimizations >= 3
    assert all(b >= 1.25 * a - 1 for a, b in zip(n, n[1:]))  # every ~n/4 tells, not every k
    assert len(n) <= 1 + np.log(700 / 2) / np.log(1.25)
    assert n[-1] > 300 and all(r == 0 for k, r in at if k > opt.proposer.max_gp_points + 1)
    assert len(impl._y) <= opt.proposer.max_gp_points  # the GP itself sees a subset
    # the incrementally encoded rows are the history's encoding
    np.testing.assert_array_equal(impl._all_data(opt.history)[0], opt.history.vectors())


def test_pending_fantasies_do_not_refit_the_model(monkeypatch):
    """With running trials, proposals come from a copy of the GP conditioned on fantasies
    (kriging believer); the model of the observations is not refit for them."""
    opt = get("auto", {f"x{i}": (0.0, 1.0) for i in range(2)}, seed=3, **KW)
    for _ in range(60):
        t = opt.ask()
        opt.tell(t, _sphere(t.config, t.budget))
    impl = opt.proposer._impl
    calls = []
    fit = GP.fit

    def logged(self, X, y, optimize=True):
        calls.append((self is impl.gp, len(y)))
        return fit(self, X, y, optimize=optimize)

    monkeypatch.setattr(GP, "fit", logged)
    trials = [opt.ask() for _ in range(10)]  # all stay pending: later asks fantasize the others
    assert opt.proposer.n_model > 0
    assert any(n > len(impl._y) for own, n in calls if not own)  # fantasies went to a copy
    assert all(n == len(impl._y) for own, n in calls if own)  # the model never saw them
    assert len(impl.gp.X_train) == len(impl._y)
    keys = {opt.space.key(t.config) for t in trials}
    assert len(keys) == len(trials)  # parallel proposals do not repeat
