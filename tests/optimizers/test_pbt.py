"""Population based training (Jaderberg et al. 2017): exploit the best, explore around them."""

import json
import math
import os

import numpy as np
import pytest
from ConfigSpace import Categorical, ConfigurationSpace, Float, Integer

import lowfi
from lowfi.optimizers.pbt import PBT

SPACE = ConfigurationSpace({"lr": Float("lr", (1e-4, 1.0), log=True),
                            "width": Integer("width", (4, 64)),
                            "act": Categorical("act", ["relu", "tanh"])})


def toy_loss(config, budget):
    """Loss falls with training; lr near 0.1 is best."""
    return abs(np.log10(config["lr"]) + 1.0) + 1.0 / budget


def drive(opt, n_max=1000):
    """Sequential ask/tell with one running trial at a time."""
    trials = []
    for _ in range(n_max):
        t = opt.ask()
        if t is None:
            break
        trials.append(t)
        opt.tell(t, toy_loss(t.config, t.budget))
    return trials


def test_every_member_trains_to_max_budget_in_interval_steps():
    opt = PBT(SPACE, min_budget=2, max_budget=10, population_size=6, seed=0)
    trials = drive(opt)
    assert opt.ask() is None  # all members done
    by_member = {}
    for t in trials:
        by_member.setdefault(t.info["member"], []).append(t)
    assert sorted(by_member) == list(range(6))
    for ts in by_member.values():
        assert ts[-1].budget == 10
        # each step trains one interval past the budget it continues from
        assert all(t.budget <= 10 for t in ts)
    assert opt.n_exploits > 0


def test_exploit_copies_a_top_member_and_explore_perturbs_it():
    opt = PBT(SPACE, min_budget=1, max_budget=8, population_size=8, quantile=0.25,
              resample_prob=0.0, seed=1)
    trials = drive(opt)
    exploited = [t for t in trials if "exploited_from" in t.info]
    assert exploited
    for t in exploited:
        src_cfg = next(s.config for s in reversed(trials)
                       if s.config_id == t.info["inherit_config_id"])
        ratio = t.config["lr"] / src_cfg["lr"]
        assert ratio == pytest.approx(0.8) or ratio == pytest.approx(1.2) or \
            t.config["lr"] in (1e-4, 1.0)  # clipped at a bound
        assert abs(t.config["width"] - src_cfg["width"]) >= 1 or t.config["width"] in (4, 64)
        assert t.config["act"] == src_cfg["act"]  # categoricals are kept unless resampled
        assert t.config_id != t.info["inherit_config_id"]
    # selection pressure: the final population is better than the initial one
    first = [toy_loss(t.config, 10) for t in trials[:8]]
    last = {}
    for t in trials:
        last[t.info["member"]] = toy_loss(t.config, 10)
    assert np.mean(list(last.values())) < np.mean(first)


def test_same_seed_same_trials_and_bad_input():
    a = [(t.config, t.budget) for t in drive(PBT(SPACE, 1, 6, population_size=4, seed=3))]
    b = [(t.config, t.budget) for t in drive(PBT(SPACE, 1, 6, population_size=4, seed=3))]
    assert a == b
    with pytest.raises(ValueError, match="population_size: got 1"):
        PBT(SPACE, 1, 6, population_size=1)
    with pytest.raises(ValueError, match="quantile: got 0.8"):
        PBT(SPACE, 1, 6, quantile=0.8)


def stateful(trial):
    """Continues from its checkpoint folder; the state records which configs trained it."""
    path = os.path.join(trial.checkpoint_dir, "state.json")
    state = json.load(open(path)) if os.path.exists(path) else {"epoch": 0, "lineage": []}
    state["epoch"] = max(int(trial.budget), state["epoch"])
    state["lineage"].append(trial.config_id)
    with open(path, "w") as f:
        json.dump(state, f)
    return toy_loss(trial.config, trial.budget), state


def test_run_loop_copies_the_source_checkpoint_on_exploit(tmp_path):
    starts = {}

    def objective(trial):
        path = os.path.join(trial.checkpoint_dir, "state.json")
        before = json.load(open(path)) if os.path.exists(path) else {"epoch": 0, "lineage": []}
        starts[trial.id] = (before["epoch"], list(before["lineage"]))
        loss, _ = stateful(trial)
        return loss

    res = lowfi.minimize(objective, SPACE, "pbt", min_budget=1, max_budget=6,
                         optimizer_kwargs={"population_size": 4}, seed=0, progress=False,
                         max_evaluations=500,
                         checkpoint_dir=str(tmp_path))
    df = res.trials
    assert set(df["status"]) == {"ok"} and df["budget"].max() == 6
    opt = res.optimizer
    exploited = [t for t in opt.history.records if "exploited_from" in t.info]
    assert exploited
    for rec in exploited:
        epoch0, lineage = starts[rec.trial_id]
        assert epoch0 > 0  # started from the copied checkpoint, not from scratch
        assert rec.info["inherit_config_id"] in lineage


def test_initial_configs_start_the_population():
    import warnings

    import lowfi

    seen = []

    def objective(config, budget):
        seen.append(config["x"])
        return (config["x"] - 0.2) ** 2

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lowfi.minimize(objective, {"x": (0.0, 1.0)}, "pbt", min_budget=1, max_budget=9,
                       initial_configs=[{"x": 0.2}, {"x": 0.7}], max_evaluations=12, seed=0,
                       progress=False)
    assert seen[:2] == [0.2, 0.7]


def test_an_exploiting_member_trains_an_interval_beyond_the_copied_weights(tmp_path):
    import json
    import os

    import lowfi

    log = []

    def objective(trial):  # keeps weights and an epoch count in its checkpoint folder
        path = os.path.join(trial.checkpoint_dir, "state.json")
        state = json.load(open(path)) if os.path.exists(path) else {"w": 10.0, "epochs": 0}
        start = state["epochs"]
        for e in range(start, int(trial.budget)):
            state["w"] *= 1 - 0.5 * math.exp(-(((trial.config["lr"] - 0.5) / 0.2) ** 2))
            state["epochs"] = e + 1
        os.makedirs(trial.checkpoint_dir, exist_ok=True)
        with open(path, "w") as fh:
            json.dump(state, fh)
        log.append((trial.budget, start, dict(trial.info)))
        return state["w"]

    lowfi.minimize(objective, {"lr": (0.01, 1.0)}, "pbt", min_budget=2, max_budget=20,
                   max_evaluations=40, seed=0, progress=False, storage=tmp_path / "p.db",
                   optimizer_kwargs={"population_size": 6})
    exploits = [(b, s) for b, s, info in log if "exploited_from" in info and b < 20]
    assert exploits and all(b - s >= 2 for b, s in exploits)
