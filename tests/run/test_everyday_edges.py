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


def test_a_run_whose_objective_keeps_no_checkpoints_leaves_no_folders(tmp_path):
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
