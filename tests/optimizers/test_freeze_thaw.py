import numpy as np
import pytest

from lowfi import Result
from lowfi.optimizers import get
from lowfi.optimizers.freeze_thaw import FreezeThaw

SPACE = {"x": (0.0, 1.0), "y": (0.0, 1.0)}


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


def test_thaws_paused_runs_with_same_config_id_and_resume_step():
    opt = get("freeze-thaw", SPACE, min_budget=1, max_budget=20, eta=3, seed=0, step=2)
    trials = drive(opt, 30)
    thawed = [t for t in trials if t.info["thawed"]]
    assert len(thawed) >= 5  # the model resumes promising runs instead of only starting new ones
    first = {}
    for t in trials:
        if t.info["thawed"]:
            assert t.config == first[t.config_id].config
            assert t.info["resume_from_step"] > 0
            assert t.budget == pytest.approx(min(t.info["resume_from_step"] + 2, 20))
        else:
            first[t.config_id] = t
            assert t.budget == 2 and t.info["resume_from_step"] == 0
    # the runs trained longest are the good ones (asymptote near x = 0.3)
    longest = max(opt.runs.values(), key=lambda r: r["steps"])
    assert abs(longest["config"]["x"] - 0.3) < 0.25
    cfg, pred = opt.recommend()
    assert abs(cfg["x"] - 0.3) < 0.25


def test_failed_runs_are_never_thawed():
    opt = FreezeThaw(SPACE, 1, 10, seed=0, step=1, n_initial=3)
    t = opt.ask()
    opt.tell(t, Result.failed("crash"))
    later = drive(opt, 12)
    assert all(x.config_id != t.config_id for x in later)


def test_steps_cap_at_max_budget():
    opt = FreezeThaw(SPACE, 1, 5, seed=0, step=2, n_initial=2)
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
