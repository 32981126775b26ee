"""What the user hands lowfi comes back as given: None as a categorical choice, a Result
object returned again and again, initial configurations in the space's types, trial ids as
numpy integers; mistakes in what is handed over are named before the run starts."""

import asyncio
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from ConfigSpace import Categorical, ConfigurationSpace, Float, Integer

import lowfi
from lowfi.space import Space


def test_none_is_a_categorical_choice_like_any_other(tmp_path):
    space = ConfigurationSpace([Categorical("max_depth", [None, 3, 10]), Float("x", (0.0, 1.0))])
    seen = []

    def objective(config, budget):
        seen.append(config["max_depth"])  # a KeyError would fail the trial
        return config["x"] + (0 if config["max_depth"] is None else 1)

    for opt in ("random", "auto", "tpe"):
        db = tmp_path / f"{opt}.db"
        lowfi.minimize(objective, space, opt, min_budget=1, max_budget=9, max_evaluations=15,
                       seed=0, storage=db, progress=False)
        res = lowfi.minimize(objective, space, opt, min_budget=1, max_budget=9,
                             max_evaluations=25, seed=0, storage=db, resume=True, progress=False)
        assert (res.trials["status"] == "ok").all()
        assert res.best_config["max_depth"] is None
    assert None in seen and 3 in seen
    sp = Space(space)
    assert sp.to_dicts(sp.encode([{"max_depth": None, "x": 0.5}])) == [{"max_depth": None, "x": 0.5}]


def test_a_returned_result_object_is_never_changed():
    penalty = lowfi.Result(0.1, info={"note": "penalty"})

    def objective(config, budget):
        return penalty if config["x"] > 0.5 else config["x"]

    res = lowfi.minimize(objective, {"x": (0.0, 1.0)}, "random", max_evaluations=20, seed=0,
                         direction="maximize", progress=False)
    pen = res.trials[res.trials["config.x"] > 0.5]
    assert len(pen) > 2 and np.allclose(pen["score"], 0.1)  # not 0.1, -0.1, 0.1, ...
    assert penalty.loss == 0.1 and penalty.cost is None and penalty.info == {"note": "penalty"}


def test_a_failed_result_has_no_loss():
    res = lowfi.minimize(lambda c, b: lowfi.Result(-200.0, status="failed") if c["x"] > 0.5
                         else c["x"], {"x": (0.0, 1.0)}, "random", max_evaluations=12, seed=1,
                         progress=False)
    failed = res.trials[res.trials["status"] == "failed"]
    assert len(failed) and failed["loss"].isna().all()
    assert res.best_loss >= 0


def test_initial_configurations_take_the_space_types():
    space = ConfigurationSpace([Float("C", (0.5, 10.0)), Integer("layers", (1, 4))])
    got = []

    def objective(config, budget):
        got.append(config)
        return (32,) * config["layers"] and config["C"]

    lowfi.minimize(objective, space, "random", max_evaluations=1, progress=False,
                   initial_configs=[{"C": 1, "layers": 2.0}])
    assert got[0] == {"C": 1.0, "layers": 2}
    assert type(got[0]["C"]) is float and type(got[0]["layers"]) is int
    for bad, words in (({"C": True, "layers": 2}, "'C' got True of type bool"),
                       ({"C": 1.0, "layers": 2.5}, "'layers' got 2.5; allowed is an int")):
        with pytest.raises(ValueError, match=words):
            lowfi.minimize(objective, space, "random", max_evaluations=1, progress=False,
                           initial_configs=[bad])


def test_telling_a_tuple_to_a_single_objective_optimizer_warns_once(tmp_path):
    study = lowfi.Study(tmp_path / "s.db", {"x": (0.0, 1.0)}, "random")
    t = study.ask()
    with pytest.warns(UserWarning, match=r"result: got a tuple loss \(0.1, 0.2\).*tell a float") as rec:
        study.tell(t, [0.1, 0.2])
    assert rec[0].filename == __file__  # points at the user's line
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        study.tell(study.ask(), (0.3, 0.4))  # once
        study.tell(study.ask(), 0.5)


def test_a_trial_id_from_the_trials_table_can_be_told(tmp_path):
    study = lowfi.Study(tmp_path / "s.db", {"x": (0.0, 1.0)}, "random")
    study.ask()
    tid = study.trials["trial_id"].iloc[0]
    assert isinstance(tid, np.integer)
    study.tell(tid, 0.3)
    assert study.trials["status"].tolist() == ["ok"]


def test_lemonade_refuses_a_hyperparameter_space():
    with pytest.raises(ValueError, match=r"space: got a space with \['x', 'y'\]; LEMONADE "
                                         r"searches network descriptions.*space=None"):
        lowfi.minimize(lambda c, b: (c["x"], c["y"]), {"x": (0.0, 1.0), "y": (0.0, 1.0)},
                       "lemonade", max_evaluations=2, progress=False)


def test_a_dict_key_must_be_the_name_of_its_hyperparameter():
    with pytest.raises(ValueError, match="key 'lr' holds the hyperparameter named 'learning_rate'"):
        Space({"lr": Float("learning_rate", (1e-4, 1e-1), log=True)})
    assert Space({"lr": Float("lr", (1e-4, 1e-1), log=True)}).names == ["lr"]


async def _async_objective(config, budget):
    await asyncio.sleep(0)
    return config["x"]


def _generator_objective(config, budget):
    yield config["x"]


@pytest.mark.parametrize("objective, words", [(_async_objective, "async function"),
                                              (_generator_objective, "generator function")])
def test_async_and_generator_objectives_are_named_before_the_run(objective, words):
    with pytest.raises(TypeError, match=f"objective: got the {words}"):
        lowfi.minimize(objective, {"x": (0.0, 1.0)}, "random", max_evaluations=2,
                       progress=False)


def test_a_callback_that_cannot_take_run_and_finished_is_named_before_the_run():
    calls = []
    with pytest.raises(TypeError, match=r"callbacks: '<lambda>' cannot be called as "
                                        r"callback\(run, finished\)"):
        lowfi.minimize(lambda c, b: c["x"], {"x": (0.0, 1.0)}, "random", max_evaluations=2,
                       progress=False, callbacks=[lambda run: calls.append(run)])
    assert calls == []


def test_resuming_with_an_unguarded_script_says_what_ran(tmp_path):
    script = tmp_path / "job.py"
    script.write_text(
        "import lowfi\n"
        "def objective(config, budget):\n"
        "    return config['x'] ** 2\n"
        "lowfi.minimize(objective, {'x': (0.0, 1.0)}, 'random', max_evaluations=3,\n"
        "               storage='run.db', progress=False)\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    subprocess.run([sys.executable, "job.py"], cwd=tmp_path, check=True, env=env)
    out = subprocess.run([sys.executable, "-m", "lowfi.cli", "resume", "run.db", "--max-evaluations",
                          "5", "--objective", "job.py:objective"], cwd=tmp_path, env=env,
                         capture_output=True, text=True)
    assert out.returncode != 0
    assert "importing 'job.py' runs its top-level code" in out.stderr
    assert 'if __name__ == "__main__":' in out.stderr


def test_tuple_choices_stay_tuples_through_the_journal_and_in_the_trials_table(tmp_path):
    space = ConfigurationSpace([Categorical("hls", [(32,), (64, 64)]),
                                Float("lr", (1e-4, 1e-1), log=True)])
    seen = []

    def objective(config, budget):
        seen.append(config["hls"])
        return config["lr"] * len(config["hls"])

    db = tmp_path / "t.db"
    kw = dict(min_budget=1, max_budget=9, seed=0, storage=db, progress=False)
    lowfi.minimize(objective, space, "hyperband", max_evaluations=10, **kw)
    res = lowfi.minimize(objective, space, "hyperband", max_evaluations=20, resume=True, **kw)
    assert len(seen) == 20 and all(isinstance(v, tuple) for v in seen)  # both sessions
    assert set(res.trials["config.hls"]) <= {(32,), (64, 64)}
    assert res.trials["config.hls"].map(lambda v: v == res.best_config["hls"]).any()


def test_initial_categorical_values_become_the_choices_themselves():
    space = ConfigurationSpace([Categorical("flag", [True, False]), Categorical("n", [1, 2, 3])])
    got = []
    lowfi.minimize(lambda c, b: got.append(c) or 0.0, space, "random", max_evaluations=1,
                   progress=False, initial_configs=[{"flag": 1, "n": 2.0}])
    assert got[0] == {"flag": True, "n": 2}
    assert type(got[0]["flag"]) is bool and type(got[0]["n"]) is int
    with pytest.raises(ValueError, match=r"initial_configs\[0\]: config: 'n' got 5; allowed are "
                                         r"\[1, 2, 3\]"):
        lowfi.minimize(lambda c, b: 0.0, space, "random", max_evaluations=1, progress=False,
                       initial_configs=[{"flag": True, "n": 5}])
