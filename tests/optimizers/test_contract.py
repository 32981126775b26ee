"""One contract suite for every optimizer that can be imported (new ones join by registration)."""

import pickle

import numpy as np
import pytest

import lowfi
from lowfi import Result
from lowfi.optimizers import REGISTRY, available, get

SPACE = {"x": (0.0, 1.0), "n": (1, 16), "c": ["a", "b", "c"]}
KW = dict(min_budget=1, max_budget=9, eta=3)


#: settings that keep slow models quick here (the contract is about ask/tell, not model quality)
_BNN = dict(n_burn_in=40, n_samples=4, keep_every=5)
FAST = {"bnn-bo": dict(model_kwargs=_BNN, n_candidates=50),
        "bnn-mfbo": dict(model_kwargs=_BNN, n_candidates=30, acquisition="mf-gp-ucb")}


def make(name, seed=0):
    return get(name, SPACE, seed=seed, **KW, **FAST.get(name, {}))


def loss(t):
    return (t.config["x"] - 0.2) ** 2 + 0.1 * (t.config["c"] != "a") + 0.01 * t.config["n"] + 1 / t.budget


def drive(opt, n, fail_every=0):
    out = []
    for i in range(n):
        t = opt.ask()
        if t is None:
            break
        r = Result.failed("crash") if fail_every and i % fail_every == 3 else loss(t)
        opt.tell(t, r)
        out.append((t.id, t.config, t.budget))
    return out


#: every registered optimizer, named explicitly (a new registration must be added here or to
#: OWN_SUITES; one that cannot be built fails instead of dropping out)
NAMES = ["random", "sh", "hyperband", "asha", "auto", "bohb", "tpe", "smac", "gp", "mfbo", "re",
         "reinforce", "pbt", "bnn-bo", "bnn-mfbo", "multi-hyperband", "multi-mfbo"]
#: optimizers whose ask/tell protocol differs (NAS over networks, curve-level pausing); they have
#: their own suites in test_lemonade.py and test_freeze_thaw.py
OWN_SUITES = ["lemonade", "freeze-thaw"]


def test_every_registered_optimizer_is_covered():
    assert sorted(NAMES + OWN_SUITES) == sorted(REGISTRY)
    assert sorted(available()) == sorted(REGISTRY)  # nothing registered fails to import


@pytest.fixture(params=NAMES)
def name(request):
    return request.param


def test_unknown_name_lists_known():
    with pytest.raises(ValueError, match="hyperband"):
        get("nope", SPACE)


def test_determinism_under_seed(name):
    assert drive(make(name, 3), 40) == drive(make(name, 3), 40)


def test_ask_returns_trials_inside_the_space(name):
    opt = make(name)
    for _, config, budget in drive(opt, 30):
        opt.space.validate(config)
        assert KW["min_budget"] <= budget <= KW["max_budget"]


def test_no_duplicate_pending_asks(name):
    opt = make(name)
    drive(opt, 20)
    pend = [opt.ask() for _ in range(8)]
    pend = [t for t in pend if t is not None]
    keys = [(opt.space.key(t.config), t.budget) for t in pend]
    assert len(keys) == len(set(keys))
    assert len({t.id for t in pend}) == len(pend)


def test_failures_become_records_and_run_goes_on(name):
    opt = make(name)
    out = drive(opt, 30, fail_every=5)
    assert len(out) == 30
    assert any(r.failed for r in opt.history.records)


def test_pickled_state_gives_same_next_ask(name):
    opt = make(name)
    drive(opt, 15)
    clone = pickle.loads(pickle.dumps(opt))
    a, b = opt.ask(), clone.ask()
    assert (a.id, a.config, a.budget) == (b.id, b.config, b.budget)


def test_tell_unknown_trial_rejected(name):
    opt = make(name)
    t = opt.ask()
    opt.tell(t, 1.0)
    with pytest.raises(ValueError, match="trial"):
        opt.tell(t, 1.0)


def test_incumbent_is_best_at_highest_budget(name):
    opt = make(name)
    drive(opt, 40)
    inc = opt.incumbent()
    assert inc is not None
    recs = [r for r in opt.history.records if not r.failed]
    top = max(r.budget for r in recs)
    assert inc[1] == min(r.loss for r in recs if r.budget == top)


def test_bad_result_types_rejected(name):
    opt = make(name)
    t = opt.ask()
    with pytest.raises(TypeError, match="result"):
        opt.tell(t, "0.5")


def test_enqueue_validates_and_runs_first():
    opt = get("hyperband", SPACE, seed=0, **KW)
    opt.enqueue({"x": 0.5, "n": 3, "c": "b"})
    assert opt.ask().config == {"x": 0.5, "n": 3, "c": "b"}
    with pytest.raises(ValueError, match="config"):
        opt.enqueue({"x": 2.0, "n": 3, "c": "b"})


def test_minimize_on_every_optimizer(name):
    res = lowfi.minimize(lambda c, b: loss(type("T", (), {"config": c, "budget": b})), SPACE, name,
                         max_evaluations=25, progress=False, seed=1, **KW,
                         optimizer_kwargs=FAST.get(name))
    assert len(res.trials) == 25 and res.best_loss is not None
    assert np.isfinite(res.best_loss)


def test_mistyped_arguments_name_the_allowed_ones():
    with pytest.raises(TypeError, match=r"BOHB: got unexpected arguments \['random_fractoin'\]: "
                                        r"'random_fractoin' \(did you mean 'random_fraction'\?\)"):
        get("bohb", {"x": (0.0, 1.0)}, min_budget=1, max_budget=9, random_fractoin=0.1)
    with pytest.raises(TypeError, match=r"TPE: got unexpected arguments \['n_intial'\].*n_startup"):
        get("tpe", {"x": (0.0, 1.0)}, n_intial=2)
