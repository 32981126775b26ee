"""TPE (Bergstra et al. 2011) on the shared KDE code."""

import numpy as np
import pytest

from lowfi import Result
from lowfi.optimizers import BlackBox, get
from lowfi.optimizers.tpe import TPE, TPEProposer


def drive(opt, f, n):
    out = []
    for _ in range(n):
        t = opt.ask()
        opt.tell(t, f(t.config))
        out.append(t.config)
    return out


def test_startup_then_model_and_single_budget():
    opt = TPE({"x": (0.0, 1.0)}, max_budget=5.0, seed=0, n_startup=10)
    p = opt.proposer
    for i in range(15):
        t = opt.ask()
        assert t.budget == 5.0
        assert (p.last_model_budget is not None) == (i >= 10)
        opt.tell(t, t.config["x"])
    assert not TPE.multi_fidelity


@pytest.mark.parametrize("multivariate", [False, True])
def test_concentrates_near_the_optimum(multivariate):
    space = {"x": (0.0, 1.0), "y": (0.0, 1.0)}
    opt = TPE(space, seed=1, multivariate=multivariate)
    cfgs = drive(opt, lambda c: (c["x"] - 0.25) ** 2 + (c["y"] - 0.6) ** 2, 80)
    late = np.array([[c["x"], c["y"]] for c in cfgs[-30:]])
    dist = np.linalg.norm(late - [0.25, 0.6], axis=1)
    assert np.median(dist) < 0.15  # uniform random: about 0.4


def test_gamma_split_sizes():
    opt = BlackBox({"x": (0.0, 1.0)}, proposer=TPEProposer(n_startup=5, gamma=0.25), seed=0)
    drive(opt, lambda c: c["x"], 12)
    opt.ask()  # fits on the 12 observations
    l_kde, g_kde = opt.proposer._cache[1]
    assert len(l_kde.data_) == 3 and len(g_kde.data_) == 9  # ceil(0.25 * 12) good
    assert l_kde.prior_weight == 1.0 and l_kde.bandwidth == "neighbors"
    assert l_kde.data_[:, 0].max() <= g_kde.data_[:, 0].min()  # best losses are the smallest x


def test_categorical_only_and_crashes():
    space = {f"c{i}": ["a", "b", "c"] for i in range(3)}

    def f(c):
        if c["c0"] == "c":
            return Result.failed("boom")
        return sum(v != "b" for v in c.values())

    opt = TPE(space, seed=0, n_startup=10)
    cfgs = drive(opt, f, 60)
    assert opt.proposer.n_model > 0
    assert sum(r.failed for r in opt.history.records) > 0
    late_crash = np.mean([c["c0"] == "c" for c in cfgs[-20:]])
    assert late_crash < 0.34
    assert opt.incumbent()[1] <= 1


def test_same_seed_same_sequence_and_registry():
    space = {"x": (0.0, 1.0), "n": (1, 16), "c": ["a", "b"]}
    f = lambda c: c["x"] + 0.01 * c["n"] + (c["c"] == "b")  # noqa: E731
    assert drive(TPE(space, seed=3), f, 40) == drive(TPE(space, seed=3), f, 40)
    opt = get("tpe", space, min_budget=1, max_budget=9, eta=3, seed=0)
    assert isinstance(opt, TPE) and opt.budget == 9.0


@pytest.mark.parametrize("kw, arg", [
    ({"n_startup": 1}, "n_startup"),
    ({"gamma": 1.0}, "gamma"),
    ({"n_candidates": 0}, "n_candidates"),
    ({"prior_weight": -1}, "prior_weight"),
])
def test_bad_arguments_name_the_argument(kw, arg):
    with pytest.raises(ValueError, match=arg):
        TPE({"x": (0.0, 1.0)}, **kw)
