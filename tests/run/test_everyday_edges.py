"""Everyday-path edges: folders a run leaves, mistyped storage, sklearn-style spaces, results
that never reached max_budget, maximized runs read back, telling a trial twice."""

import glob
import os
import tempfile
import warnings

import pytest

import lowfi
from lowfi.storage import load_trials
from lowfi.storage.journal import parse_storage


def _square(config, budget):
    return config["x"] ** 2


def _temp_ckpt_dirs():
    return set(glob.glob(os.path.join(tempfile.gettempdir(), "lowfi-ckpt-*")))


def test_a_run_whose_objective_keeps_no_checkpoints_leaves_no_folders(tmp_path, monkeypatch):
    # a temporary folder of this test's own: other lowfi runs on the machine make theirs
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    before = _temp_ckpt_dirs()
    lowfi.minimize(_square, {"x": (-1.0, 1.0)}, min_budget=1, max_budget=9,
                   max_evaluations=12, progress=False)
    assert _temp_ckpt_dirs() == before  # the in-memory run's temporary folder is gone
    lowfi.minimize(_square, {"x": (-1.0, 1.0)}, min_budget=1, max_budget=9,
                   max_evaluations=12, progress=False, storage=tmp_path / "r.db")
    assert not (tmp_path / "r.db.checkpoints").exists()


def test_checkpoint_folders_are_made_for_trials_that_use_them(tmp_path):
    def objective(trial):
        with open(os.path.join(trial.checkpoint_dir, "state"), "a") as fh:
            fh.write(f"{trial.budget}\n")
        return trial.config["x"] ** 2

    res = lowfi.minimize(objective, {"x": (-1.0, 1.0)}, min_budget=1, max_budget=9,
                         max_evaluations=12, progress=False, storage=tmp_path / "r.db")
    folders = sorted(os.listdir(tmp_path / "r.db.checkpoints"))
    assert folders == sorted(f"config_{c}" for c in set(res.trials["config_id"]))
    # a promoted configuration writes into the folder of its earlier rungs
    promoted = res.trials.groupby("config_id").size()
    cid = int(promoted.idxmax())
    lines = (tmp_path / "r.db.checkpoints" / f"config_{cid}" / "state").read_text().split()
    assert len(lines) == promoted.max() >= 2


@pytest.mark.parametrize("storage", ["sqlite:/x.db", "postgresql:x", "newdir/"])
def test_mistyped_storage_is_an_error_not_a_folder(storage, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="storage"):
        parse_storage(storage)
    with pytest.raises(ValueError, match="storage"):
        lowfi.minimize(_square, {"x": (-1.0, 1.0)}, min_budget=1, max_budget=9,
                       max_evaluations=3, progress=False, storage=storage)
    assert os.listdir(tmp_path) == []


def test_scipy_distributions_in_a_space_get_a_clear_error():
    stats = pytest.importorskip("scipy.stats")
    with pytest.raises(TypeError, match=r"'C' is a scipy.stats distribution.*log=True"):
        lowfi.minimize(_square, {"C": stats.loguniform(1e-2, 1e3)}, min_budget=1,
                       max_budget=9, max_evaluations=3, progress=False)


def test_a_best_result_below_max_budget_is_flagged():
    with pytest.warns(UserWarning, match="no trial was evaluated at max_budget=135"):
        res = lowfi.minimize(_square, {"x": (-1.0, 1.0)}, optimizer="hyperband", min_budget=5,
                             max_budget=135, max_evaluations=8, progress=False)
    assert res.trials["budget"].max() < 135
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a run that reached max_budget says nothing
        lowfi.minimize(_square, {"x": (-1.0, 1.0)}, optimizer="random", min_budget=1,
                       max_budget=9, max_evaluations=4, progress=False)


def test_load_trials_gives_scores_of_a_maximized_run(tmp_path):
    res = lowfi.minimize(lambda c, b: -(c["x"] ** 2), {"x": (-1.0, 1.0)}, min_budget=1,
                         max_budget=9, max_evaluations=10, progress=False,
                         storage=tmp_path / "r.db", direction="maximize")
    frame = load_trials(tmp_path / "r.db")
    assert list(frame["score"]) == list(res.trials["score"])
    ok = frame[frame["status"] == "ok"]
    assert (ok["score"] <= 0).all() and (ok["loss"] >= 0).all()


def test_int_budgets_stay_ints_when_read_back(tmp_path):
    lowfi.minimize(_square, {"x": (-1.0, 1.0)}, optimizer="hyperband", min_budget=1,
                   max_budget=9, max_evaluations=6, progress=False, storage=tmp_path / "r.db")
    from lowfi.storage.journal import Journal, trial_from_event

    with Journal(tmp_path / "r.db", create=False) as j:
        budgets = [trial_from_event(e).budget for e in j.events(("ask",))]
    assert budgets and all(type(b) is int for b in budgets)


def test_telling_a_trial_twice_says_so(tmp_path):
    study = lowfi.Study(tmp_path / "s.db", {"x": (0.0, 1.0)}, min_budget=1, max_budget=9)
    trial = study.ask()
    study.tell(trial, 0.5)
    with pytest.raises(ValueError, match="already told"):
        study.tell(trial, 0.4)
    with pytest.raises(ValueError, match="no trial 99 was asked"):
        study.tell(99, 0.4)
    study.close()


def test_an_in_memory_run_removes_its_temporary_checkpoints_even_when_used():
    seen = []

    def objective(trial):
        with open(os.path.join(trial.checkpoint_dir, "state"), "w") as fh:
            fh.write("x")
        seen.append(trial.checkpoint_dir)
        return trial.config["x"] ** 2

    before = _temp_ckpt_dirs()
    lowfi.minimize(objective, {"x": (-1.0, 1.0)}, min_budget=1, max_budget=9,
                   max_evaluations=4, progress=False)
    assert seen and not any(os.path.exists(d) for d in seen)
    assert _temp_ckpt_dirs() == before


@pytest.mark.parametrize("kwargs, error, match", [
    ({"callbacks": print}, TypeError, r"single callback .*callbacks=\[print\]"),
    ({"callbacks": 3}, TypeError, "callbacks: got 3"),
    ({"n_trials": 5}, TypeError, "'n_trials'; lowfi calls it max_evaluations"),
    ({"timeout": 5}, TypeError, "'timeout'; lowfi calls it walltime"),
    ({"nonsense": 1}, TypeError, "unexpected keyword argument 'nonsense'"),
])
def test_misused_arguments_get_errors_that_say_what_to_write(kwargs, error, match):
    with pytest.raises(error, match=match):
        lowfi.minimize(_square, {"x": (-1.0, 1.0)}, min_budget=1, max_budget=9,
                       max_evaluations=3, progress=False, **kwargs)


def test_a_reversed_range_in_a_space_says_so():
    with pytest.raises(ValueError, match=r"'x': got the range \(1.0, 0.0\); the lower bound"):
        lowfi.minimize(_square, {"x": (1.0, 0.0)}, min_budget=1, max_budget=9,
                       max_evaluations=3, progress=False)


def test_a_run_that_fails_to_start_leaves_no_journal_file(tmp_path):
    with pytest.raises(ValueError, match="optimizer: got 'nope'"):
        lowfi.minimize(_square, {"x": (-1.0, 1.0)}, "nope", min_budget=1, max_budget=9,
                       max_evaluations=3, progress=False, storage=tmp_path / "a.db")
    with pytest.raises(ValueError, match="min_budget"):
        lowfi.Study(tmp_path / "s.db", {"x": (-1.0, 1.0)}, min_budget=9, max_budget=1)
    assert os.listdir(tmp_path) == []
    lowfi.minimize(_square, {"x": (-1.0, 1.0)}, "random", min_budget=1, max_budget=9,
                   max_evaluations=2, progress=False, storage=tmp_path / "a.db")
    with pytest.raises(ValueError, match="optimizer: got 'nope'"):  # an existing run stays
        lowfi.minimize(_square, {"x": (-1.0, 1.0)}, "nope", max_evaluations=3,
                       progress=False, storage=tmp_path / "b.db")
    assert sorted(os.listdir(tmp_path)) == ["a.db"]
    assert len(load_trials(tmp_path / "a.db")) == 2


def test_reopening_a_study_with_other_settings_says_the_stored_ones_apply(tmp_path):
    lowfi.Study(tmp_path / "s.db", {"x": (-1.0, 1.0)}, "random", min_budget=1, max_budget=9)
    with pytest.raises(ValueError) as info:
        lowfi.Study(tmp_path / "s.db", {"x": (-1.0, 1.0)}, "hyperband", min_budget=1,
                    max_budget=9)
    msg = str(info.value)
    assert "optimizer: got 'hyperband', but the run was created with 'random'" in msg
    assert "the stored settings are used" not in msg and "Resume it without" in msg


def test_resume_without_storage_warns_that_it_does_nothing():
    with pytest.warns(UserWarning, match="resume=True has no effect without storage"):
        lowfi.minimize(_square, {"x": (-1.0, 1.0)}, "random", min_budget=1, max_budget=1,
                       max_evaluations=2, progress=False, resume=True)


def test_a_range_with_one_float_bound_is_a_float_range():
    from lowfi.space import Space

    assert Space({"x": (0, 1.0), "d": (0, 0.5)}).kinds == ["float", "float"]
    assert Space({"n": (1, 4)}).kinds == ["int"]
    res = lowfi.minimize(_square, {"x": (0, 1.0)}, "random", min_budget=1, max_budget=1,
                         max_evaluations=5, progress=False)
    assert not all(float(x).is_integer() for x in res.trials["config.x"])


def test_a_resume_that_runs_nothing_says_why(tmp_path):
    db = tmp_path / "r.db"
    lowfi.minimize(_square, {"x": (-1.0, 1.0)}, "random", min_budget=1, max_budget=1,
                   max_evaluations=4, progress=False, storage=db)
    with pytest.warns(UserWarning, match=r"nothing new ran: the run's max_evaluations=4 is "
                                         r"already reached; pass a larger max_evaluations"):
        lowfi.resume(db, _square, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = lowfi.resume(db, _square, max_evaluations=6, progress=False)
    assert len(res.trials) == 6 and res.stats["session_evaluations"] == 2


def test_a_misspelled_optimizer_name_gets_a_suggestion():
    for given, meant in (("Hyperband", "hyperband"), ("TPE", "tpe"), ("hyprband", "hyperband")):
        with pytest.raises(ValueError, match=f"got '{given}' \\(did you mean '{meant}'\\?\\)"):
            lowfi.minimize(_square, {"x": (-1.0, 1.0)}, given, min_budget=1, max_budget=9,
                           max_evaluations=2, progress=False)


def test_habits_from_other_libraries_get_pointers():
    trial = lowfi.Trial(0, {"x": 0.5}, 1.0, 0)
    with pytest.raises(AttributeError, match=r"no suggest_float\(\).*trial.config\['name'\]"):
        trial.suggest_float("x", 0.0, 1.0)
    with pytest.raises(AttributeError, match=r"no suggest_categorical\(\)"):
        trial.suggest_categorical("c", ["a", "b"])
    with pytest.raises(ValueError, match=r"initial_configs: got the dict .*\[\{'x': 0.3\}\]"):
        lowfi.minimize(_square, {"x": (-1.0, 1.0)}, "random", min_budget=1, max_budget=1,
                       max_evaluations=2, progress=False, initial_configs={"x": 0.3})
    with pytest.raises(ValueError, match=r"^warm_start: .*unknown parameters \['y'\]"):
        lowfi.minimize(_square, {"x": (-1.0, 1.0)}, "random", min_budget=1, max_budget=1,
                       max_evaluations=2, progress=False, warm_start=[({"y": 0.2}, 1.0, 0.5)])


def test_warnings_of_minimize_point_at_the_callers_line():
    with pytest.warns(UserWarning, match="no trial was evaluated at max_budget") as caught:
        lowfi.minimize(_square, {"x": (-1.0, 1.0)}, "hyperband", min_budget=1, max_budget=27,
                       max_evaluations=3, progress=False)
    assert [w.filename for w in caught if "max_budget" in str(w.message)] == [__file__]
