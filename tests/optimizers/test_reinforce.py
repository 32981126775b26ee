"""REINFORCE with a moving-average baseline (the NAS-Bench-101 paper's RL baseline)."""

import numpy as np
import pytest
from toys import ONES, SMOOTH, f_ones, f_smooth, run
from toys import conditional_space as _conditional_space

import lowfi
from lowfi import Result
from lowfi.optimizers.base import RandomSearch
from lowfi.optimizers.reinforce import REINFORCE


def conditional_space():
    return _conditional_space(max_depth=6, with_scale=False)








def test_probabilities_move_toward_rewarded_choice():
    space = {"c": ["a", "b", "c"]}
    opt = REINFORCE(space, learning_rate=0.5, seed=0)
    assert np.allclose(opt.probabilities()[0], 1 / 3)
    run(opt, lambda c: 0.0 if c["c"] == "b" else 1.0, 150)
    p = opt.probabilities()[0]
    assert p[1] > 0.8 and p[1] == p.max()


def test_single_update_raises_probability_of_a_better_than_baseline_choice():
    opt = REINFORCE({"c": ["a", "b", "c"]}, learning_rate=1.0, seed=0)
    active = np.array([True])
    assert opt.update(np.array([0]), active, 0.0) == 0.0  # first reward is its own baseline
    p0 = opt.probabilities()[0].copy()
    adv = opt.update(np.array([2]), active, 1.0)
    p1 = opt.probabilities()[0]
    assert adv > 0 and p1[2] > p0[2] and p1[0] < p0[0]
    adv = opt.update(np.array([1]), active, -5.0)
    assert adv < 0 and opt.probabilities()[0][1] < p1[1]


def test_baseline_is_a_bias_corrected_exponential_moving_average():
    decay = 0.9
    opt = REINFORCE({"c": ["a", "b"]}, baseline_decay=decay, seed=0)
    assert opt.baseline is None
    rewards = [-1.0, -0.5, -2.0, -0.25, -0.75]
    for t, r in enumerate(rewards):
        trial = opt.ask()
        opt.tell(trial, -r)
        w = (1 - decay) * decay ** np.arange(t, -1, -1)
        assert opt.baseline == pytest.approx(np.dot(w, rewards[: t + 1]) / w.sum())


def test_inactive_parameters_get_no_gradient():
    opt = REINFORCE(conditional_space(), learning_rate=1.0, seed=0)
    names = [opt.space.names[j] for j in opt.params]
    run(opt, lambda c: 0.0, 1)  # set a baseline
    while True:
        t = opt.ask()
        if t.config["model"] == "lin":
            break
        opt.tell(t, 0.0)
    before = opt.logits.copy()
    opt.tell(t, -3.0)  # big reward, only "model" and "alpha" were active
    changed = {names[k] for k in range(len(names)) if not np.array_equal(opt.logits[k], before[k])}
    assert changed == {"model", "alpha"}


def test_bins_for_floats_and_one_logit_per_small_integer_value():
    space = {"x": (0.0, 1.0), "n": (1, 4), "m": (1, 1000), "c": ["a", "b", "c"]}
    opt = REINFORCE(space, n_bins=7, seed=0)
    sizes = dict(zip([opt.space.names[j] for j in opt.params], opt.sizes))
    assert sizes == {"x": 7, "n": 4, "m": 7, "c": 3}
    assert np.all(np.isneginf(opt.logits[~opt.mask]))
    run(opt, lambda c: c["x"], 40)
    for r in opt.history.records:
        opt.space.validate(r.config)


def test_failures_count_as_worst_loss():
    opt = REINFORCE({"c": ["a", "b"]}, learning_rate=1.0, seed=0)
    t = opt.ask()
    opt.tell(t, Result.failed("crash"))  # no scale yet: skipped
    assert opt.n_updates == 0
    for loss in (1.0, 3.0):
        opt.tell(opt.ask(), loss)
    t = opt.ask()
    choice = opt._actions[t.id][0][0]
    p_before = opt.probabilities()[0, choice]
    opt.tell(t, Result.failed("crash"))  # reward -3 (worst seen) < baseline
    assert opt.n_updates == 3
    assert opt.probabilities()[0, choice] < p_before


def test_asks_before_tells_give_distinct_configs():
    opt = REINFORCE(ONES, seed=1)
    ts = [opt.ask() for _ in range(30)]
    keys = [opt.space.key(t.config) for t in ts]
    assert len(set(keys)) == len(keys)
    for t in ts[::-1]:
        opt.tell(t, f_ones(t.config))
    assert opt.n_updates == 30 and not opt._actions


def test_same_seed_same_sequence():
    def seq(seed):
        opt = run(REINFORCE(SMOOTH, learning_rate=1.0, seed=seed), f_smooth, 30)
        return [r.config for r in opt.history.records]

    assert seq(2) == seq(2)
    assert seq(2) != seq(3)


def test_conditional_space_runs_and_learns():
    def f(c):
        return 0.2 + c["alpha"] if c["model"] == "lin" else 0.1 * c["depth"]

    opt = run(REINFORCE(conditional_space(), learning_rate=2.0, seed=0), f, 150)
    for r in opt.history.records:
        opt.space.validate(r.config)
    late = [r.config for r in opt.history.records[-50:]]
    assert sum(c["model"] == "tree" for c in late) > 35  # the better branch wins


@pytest.mark.parametrize("space,f,n,lr", [(ONES, f_ones, 80, 0.5), (SMOOTH, f_smooth, 150, 1.0)])
def test_beats_random_search_on_toys(space, f, n, lr):
    rl = [run(REINFORCE(space, learning_rate=lr, seed=s), f, n).incumbent()[1] for s in range(5)]
    rs = [run(RandomSearch(space, seed=s), f, n).incumbent()[1] for s in range(5)]
    assert np.median(rl) < np.median(rs)


def test_get_by_name_ignores_min_budget_and_eta():
    opt = lowfi.optimizers.get("reinforce", SMOOTH, min_budget=1, max_budget=27, eta=3, seed=0)
    assert isinstance(opt, REINFORCE)
    assert opt.ask().budget == 27.0


@pytest.mark.parametrize("kw", [{"learning_rate": 0}, {"baseline_decay": 1.0}, {"n_bins": 1}])
def test_bad_arguments_raise_value_error_naming_them(kw):
    with pytest.raises(ValueError, match=next(iter(kw))):
        REINFORCE(SMOOTH, **kw)
