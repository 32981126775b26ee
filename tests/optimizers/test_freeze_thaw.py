import numpy as np
import pytest

from lowfi import Result
from lowfi.optimizers import get
from lowfi.optimizers.freeze_thaw import FreezeThaw

SPACE = {"x": (0.0, 1.0), "y": (0.0, 1.0)}
FAST = dict(n_candidates=40, n_samples=200)  # smaller pools: quicker, same behaviour


def curve(cfg, t0, t1):
    """Exponentially decaying curves whose asymptote is best at x = 0.3."""
    a = (cfg["x"] - 0.3) ** 2
    return [(float(t), a + 0.5 * np.exp(-0.3 * t) * (1 + cfg["y"])) for t in range(int(t0) + 1, int(t1) + 1)]


def drive(opt, n):
    trials = []
    for _ in range(n):
        t = opt.ask()
        pts = curve(t.config, t.info["resume_from_step"], t.budget)
        opt.tell(t, Result(pts[-1][1], cost=t.info["steps"], curve=pts))
        trials.append(t)
    return trials


@pytest.mark.parametrize("decision", ["entropy", "ei"])
def test_thaws_paused_runs_with_same_config_id_and_resume_step(decision):
    opt = get("freeze-thaw", SPACE, min_budget=1, max_budget=20, eta=3, seed=0, step=2,
              decision=decision, durations=(1,), **FAST)
    trials = drive(opt, 30)
    thawed = [t for t in trials if t.info["thawed"]]
    assert len(thawed) >= 5  # the model resumes promising runs instead of only starting new ones
    first = {}
    for t in trials:
        if t.info["thawed"]:
            assert t.config == first[t.config_id].config
            assert t.info["resume_from_step"] > 0
            if t.info.get("verification"):  # the recommendation, thawed to max_budget
                assert t.budget == 20
            else:
                assert t.budget == pytest.approx(min(t.info["resume_from_step"] + 2, 20))
        else:
            first[t.config_id] = t
            assert t.budget == 2 and t.info["resume_from_step"] == 0
    if decision == "ei":  # the runs trained longest are the good ones (asymptote near x = 0.3)
        longest = max(opt.runs.values(), key=lambda r: r["steps"])
        assert abs(longest["config"]["x"] - 0.3) < 0.25
    cfg, pred = opt.recommend()
    assert abs(cfg["x"] - 0.3) < 0.25


def test_failed_runs_are_never_thawed():
    opt = FreezeThaw(SPACE, 1, 10, seed=0, step=1, n_initial=3, **FAST)
    t = opt.ask()
    opt.tell(t, Result.failed("crash"))
    later = drive(opt, 12)
    assert all(x.config_id != t.config_id for x in later)


def test_steps_cap_at_max_budget():
    opt = FreezeThaw(SPACE, 1, 5, seed=0, step=2, n_initial=2, **FAST)
    trials = drive(opt, 20)
    assert max(t.budget for t in trials) <= 5
    assert all(r["steps"] <= 5 for r in opt.runs.values())


def test_bad_inputs_rejected():
    with pytest.raises(ValueError, match="step"):
        FreezeThaw(SPACE, 1, 5, step=6)
    with pytest.raises(ValueError, match="n_initial"):
        FreezeThaw(SPACE, 1, 5, n_initial=0)
    with pytest.raises(ValueError, match="min_budget"):
        FreezeThaw(SPACE, 6, 5)


def test_recommendation_is_thawed_to_max_budget_within_the_share():
    opt = FreezeThaw(SPACE, 1, 10, seed=0, step=2, **FAST)
    trials = drive(opt, 20)
    ver = [t for t in trials if t.info.get("verification")]
    assert ver and all(t.budget == 10 for t in ver)
    assert opt.history.incumbent(10).budget == 10
    steps = sum(t.info["steps"] for t in trials)
    assert sum(t.info["steps"] for t in ver) <= 0.2 * steps

    opt = FreezeThaw(SPACE, 1, 40, seed=0, step=2, verify_share=0.0, max_trials=10, **FAST)
    trials = drive(opt, 10)
    assert opt.ask() is None
    assert trials[-1].budget == 40 and trials[-1].info["verification"]
    assert not any(t.info.get("verification") for t in trials[:-1])

    opt = FreezeThaw(SPACE, 1, 40, seed=0, step=2, verify_share=0.0, **FAST)
    drive(opt, 8)
    v = opt.ask_verification()
    assert v is not None and v.budget == 40 and v.config == opt.recommend()[0]
    with pytest.raises(ValueError, match="verify_share"):
        FreezeThaw(SPACE, 1, 5, verify_share=-0.1)


def _inject(opt, config, points):
    t = opt._start(config)
    opt.runs[t.config_id]["steps"] = points[-1][0]
    opt.runs[t.config_id]["curve"] = list(points)
    return t.config_id


def test_entropy_search_prefers_informative_runs_and_reports_its_basket():
    """A run whose curve has converged far above the others teaches nothing about where the
    minimum is; an uncertain run near the best does."""
    opt = FreezeThaw(SPACE, 1, 20, seed=0, step=2, verify_share=0.0, n_old=10, n_new=3, **FAST)
    steps = np.arange(1, 21, dtype=float)
    bad = _inject(opt, {"x": 0.95, "y": 0.5}, [(s, 0.9 + 0.01 * np.exp(-s)) for s in steps])
    good = [_inject(opt, {"x": x, "y": 0.5}, curve({"x": x, "y": 0.5}, 0, 2)) for x in (0.25, 0.35, 0.3)]
    _inject(opt, {"x": 0.6, "y": 0.5}, curve({"x": 0.6, "y": 0.5}, 0, 4))
    curves = list(opt.runs)
    choice, config, verify, k = opt._decide(curves)
    d = opt.last_decision
    assert not verify and d["choice"] is not None
    gains = {(kind, j, kk): g for kind, j, kk, g in d["candidates"]}
    assert {kind for kind, _, _ in gains} == {"old", "new"}
    assert all(kk in opt.durations for _, _, kk in gains)
    i_bad = curves.index(bad)
    assert ("old", i_bad, 1) not in gains or gains[("old", i_bad, 1)] < max(
        gains[("old", curves.index(g), 1)] for g in good)
    # the choice is the best gain per step, and it is what _decide returned
    kind, j, kk = d["choice"]
    assert max(gains.values()) == gains[(kind, j, kk)] > 0
    assert kk == k and ((kind == "old") == (choice is not None))
    if choice is not None:
        assert choice == curves[j]


def test_entropy_search_trains_for_several_durations_and_caps_at_max_budget():
    opt = FreezeThaw(SPACE, 1, 12, seed=1, step=2, durations=(1, 3), **FAST)
    trials = drive(opt, 25)
    assert all(t.info["steps"] in (2, 6) or t.budget == 12 for t in trials)
    assert max(t.budget for t in trials) <= 12
    with pytest.raises(ValueError, match="durations"):
        FreezeThaw(SPACE, 1, 5, durations=(0, 1))
    with pytest.raises(ValueError, match="decision"):
        FreezeThaw(SPACE, 1, 5, decision="pes")


def test_asynchronous_workers_never_share_a_run():
    """Several free workers: each ask thaws or starts a different run; results arrive late."""
    opt = FreezeThaw(SPACE, 1, 20, seed=2, step=2, **FAST)
    drive(opt, 6)
    for _ in range(3):
        batch = [opt.ask() for _ in range(4)]
        assert len({t.config_id for t in batch}) == 4
        for t in reversed(batch):  # told out of order
            pts = curve(t.config, t.info["resume_from_step"], t.budget)
            opt.tell(t, Result(pts[-1][1], curve=pts))
    for cid, r in opt.runs.items():
        steps = [t.budget for t in opt.history.records if t.config_id == cid]
        assert r["steps"] == max(steps)


@pytest.mark.parametrize("decision", ["entropy", "ei"])
def test_a_finite_space_continues_runs_instead_of_restarting_a_configuration(decision):
    """On a categorical space every configuration is started at most once: drawing a started
    configuration again would retrain what can be continued."""
    levels = {"a": 0.1, "b": 0.3, "c": 0.5, "d": 0.7}
    opt = get("freeze-thaw", {"arm": list(levels)}, min_budget=1, max_budget=12, eta=3, seed=1,
              step=1, decision=decision, n_initial=2, durations=(1,), **FAST)
    starts = []
    for _ in range(25):
        t = opt.ask()
        if t is None:
            break
        if not t.info["thawed"]:
            starts.append(t.config["arm"])
        a = levels[t.config["arm"]]
        pts = [(float(s), a + 0.5 * np.exp(-0.4 * s)) for s in
               range(int(t.info["resume_from_step"]) + 1, int(t.budget) + 1)]
        opt.tell(t, Result(pts[-1][1], cost=t.info["steps"], curve=pts))
    assert len(starts) == len(set(starts)) <= 4  # the initial design too
    assert opt.recommend()[0]["arm"] == "a"


def test_while_one_curve_is_known_new_configurations_start():
    """Two workers: the first evaluation is slow, the other worker's results come back. Until
    the model has a second curve the free worker starts new configurations (the initial design
    counts runs, not pending trials), instead of training its one run to max_budget."""
    for seed in range(5):
        opt = get("freeze-thaw", SPACE, min_budget=1, max_budget=20, eta=3, seed=seed, step=1,
                  n_initial=2, **FAST)
        slow = opt.ask()  # stays pending on its worker
        started = [slow.config_id]
        for _ in range(2):  # the second ask: n_initial runs exist, but only one curve
            t = opt.ask()
            assert not t.info["thawed"] and t.config_id not in started
            started.append(t.config_id)
            pts = curve(t.config, 0, t.budget)
            opt.tell(t, Result(pts[-1][1], cost=t.info["steps"], curve=pts))
        assert len(opt.runs) == 3 and max(r["steps"] for r in opt.runs.values()) == 1


def test_a_conditional_finite_space_starts_each_configuration_once():
    """Inactive conditional values (NaN in the encoding) count as equal, so {"opt": "adam"}
    is recognized as started however often it is drawn."""
    from ConfigSpace import ConfigurationSpace, EqualsCondition

    cs = ConfigurationSpace({"opt": ["sgd", "adam"], "mom": [0.0, 0.9]})
    cs.add(EqualsCondition(cs["mom"], cs["opt"], "sgd"))
    level = {("adam", None): 0.1, ("sgd", 0.0): 0.3, ("sgd", 0.9): 0.2}
    opt = get("freeze-thaw", cs, min_budget=1, max_budget=10, eta=3, seed=0, step=1,
              n_initial=2, durations=(1,), **FAST)
    starts = []
    for _ in range(20):
        t = opt.ask()
        if not t.info["thawed"]:
            starts.append((t.config["opt"], t.config.get("mom")))
        a = level[(t.config["opt"], t.config.get("mom"))]
        pts = [(float(s), a + 0.5 * np.exp(-0.4 * s)) for s in
               range(int(t.info["resume_from_step"]) + 1, int(t.budget) + 1)]
        opt.tell(t, Result(pts[-1][1], cost=t.info["steps"], curve=pts))
    assert len(starts) == len(set(starts)) <= 3
