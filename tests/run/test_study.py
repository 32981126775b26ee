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


def test_reopening_with_other_settings_is_an_error(tmp_path):
    db = tmp_path / "s.db"
    lowfi.Study(db, SPACE, "bohb", min_budget=1, max_budget=27).close()
    with pytest.raises(ValueError, match="optimizer: got 'random', but the run was created "
                                         "with 'bohb'"):
        lowfi.Study(db, SPACE, "random")
    with pytest.raises(ValueError, match="max_budget: got 81"):
        lowfi.Study(db, max_budget=81)
    with pytest.raises(ValueError, match="space: differs"):
        lowfi.Study(db, {"z": ["a", "b"]})
    with lowfi.Study(db, SPACE, "bohb", min_budget=1, max_budget=27) as same:
        assert same.ask().budget == 1
    t = lowfi.Study(db)
    with pytest.raises(TypeError, match="result: got 'nan'"):
        t.tell(0, "nan")
    t.close()


def test_a_start_that_failed_before_its_first_trial_can_be_retried(tmp_path):
    db = str(tmp_path / "r.db")
    with pytest.raises(ValueError, match="executor"):
        lowfi.minimize(loss, SPACE, "random", executor="proceses", storage=db,
                       max_evaluations=3, progress=False)
    # a new call starts afresh in the same file (here with another optimizer) ...
    res = lowfi.minimize(loss, SPACE, "tpe", storage=db, max_evaluations=3, progress=False)
    assert len(res.trials) == 3
    assert lowfi.Study(db).optimizer.__class__.__name__ == "TPE"
    # ... and resuming one that failed before its first trial works too
    db2 = str(tmp_path / "r2.db")
    with pytest.raises(ValueError, match="executor"):
        lowfi.minimize(loss, SPACE, "random", executor="proceses", storage=db2,
                       max_evaluations=3, progress=False)
    res = lowfi.minimize(loss, SPACE, storage=db2, resume=True, max_evaluations=3,
                         progress=False)
    assert len(res.trials) == 3 and set(res.trials["status"]) == {"ok"}


def test_resume_with_different_settings_warns(tmp_path):
    db = str(tmp_path / "w.db")
    lowfi.minimize(loss, SPACE, "random", storage=db, max_evaluations=2, progress=False)
    with pytest.warns(UserWarning, match="optimizer: got 'bohb', but the run was created"):
        res = lowfi.minimize(loss, SPACE, "bohb", min_budget=1, max_budget=9, storage=db,
                             resume=True, max_evaluations=4, progress=False)
    assert res.optimizer.__class__.__name__ == "RandomSearch"
