"""lowfi.Study: journaled ask/tell and optimize on one durable run."""

import pytest

import lowfi

SPACE = {"x": (0.0, 1.0), "c": ["a", "b"]}


def loss(config, budget):
    return (config["x"] - 0.3) ** 2 + 0.1 * (config["c"] == "a") + 1.0 / budget


def test_ask_tell_survives_reopening_exactly(tmp_path):
    db = tmp_path / "s.db"
    kw = dict(space=SPACE, optimizer="hyperband", min_budget=1, max_budget=9, seed=4)
    study = lowfi.Study(db, **kw)
    asked = [study.ask() for _ in range(6)]
    for t in asked[:4]:
        study.tell(t, loss(t.config, t.budget))
    study.close()
    # a reference optimizer that was never interrupted
    ref = lowfi.optimizers.get("hyperband", SPACE, min_budget=1, max_budget=9, eta=3, seed=4)
    ref_trials = [ref.ask() for _ in range(6)]
    for t in ref_trials[:4]:
        ref.tell(t, loss(t.config, t.budget))

    again = lowfi.Study(db)  # settings come from the journal
    assert len(again.optimizer.history) == 4 and sorted(again.optimizer.history.pending) == [4, 5]
    for t in asked[4:]:
        again.tell(t.id, loss(t.config, t.budget))
        ref.tell(ref_trials[t.id], loss(t.config, t.budget))
    nxt, want = again.ask(), ref.ask()
    assert (nxt.id, nxt.config, nxt.budget) == (want.id, want.config, want.budget)
    df = again.trials
    assert list(df["status"]) == ["ok"] * 6 + ["running"]
    with pytest.raises(ValueError, match="pending trials"):
        again.tell(99, 0.1)
    again.close()


def test_optimize_evaluates_pending_trials_and_continues(tmp_path):
    with lowfi.Study(tmp_path / "s.db", SPACE, "random", max_budget=1, seed=0) as study:
        t = study.ask()
        res = study.optimize(loss, max_evaluations=5, progress=False)
        assert len(res.trials) == 5 and set(res.trials["status"]) == {"ok"}
        assert res.trials.iloc[0]["config.x"] == t.config["x"]  # the asked trial ran first
        res = study.optimize(loss, max_evaluations=8, progress=False)  # counts the first 5
        assert len(res.trials) == 8
        assert study.best_loss == pytest.approx(res.trials["loss"].min())
        assert len(study.trials) == 8
        with pytest.raises(TypeError, match="storage: set by the study"):
            study.optimize(loss, storage="x.db")
    # `lowfi resume` finds the objective the study stored on its first optimize
    res = lowfi.resume(tmp_path / "s.db", max_evaluations=10, progress=False)
    assert len(res.trials) == 10


def test_study_needs_a_file():
    with pytest.raises(ValueError, match="storage: got ':memory:'"):
        lowfi.Study(":memory:", SPACE)
