"""Warm starts: earlier results feed the models; known-good configurations run first."""

import numpy as np
import pytest

import lowfi

SPACE = {"x": (0.0, 1.0), "y": (0.0, 1.0)}


def f(config, budget):
    return (config["x"] - 0.8) ** 2 + (config["y"] - 0.2) ** 2 + 0.1 / budget


def prior_rows(n=40, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        c = {"x": float(rng.random()), "y": float(rng.random())}
        rows.append((c, 1.0, f(c, 1.0)))
    return rows


def first_asks(opt, n=10):
    out = []
    for _ in range(n):
        t = opt.ask()
        out.append(t)
        opt.tell(t, f(t.config, t.budget))
    return out


def dist(trials):
    return np.mean([abs(t.config["x"] - 0.8) + abs(t.config["y"] - 0.2) for t in trials])


def test_tpe_uses_prior_results_from_its_first_ask():
    gaps = []
    for seed in range(3):
        cold = lowfi.optimizers.get("tpe", SPACE, seed=seed)
        warm = lowfi.optimizers.get("tpe", SPACE, seed=seed)
        assert warm.warm_start(prior_rows(seed=seed)) == 40
        gaps.append(dist(first_asks(cold)) - dist(first_asks(warm)))
    assert np.mean(gaps) > 0.15  # warm proposals start near the optimum, cold ones at random


def test_priors_never_become_the_incumbent_and_runs_stay_resumable(tmp_path):
    rows = prior_rows() + [({"x": 0.8, "y": 0.2}, 1.0, -100.0)]
    res = lowfi.minimize(f, SPACE, "bohb", min_budget=1, max_budget=9, max_evaluations=12,
                         warm_start=rows, seed=1, progress=False)
    assert res.best_loss > -1 and res.best_loss == pytest.approx(
        res.trials[res.trials["budget"] == res.trials["budget"].max()]["loss"].min())
    assert len(res.trials) == 12  # priors are not trials of this run
    # resume: the warm-started optimizer is what the journal stores
    db = tmp_path / "r.db"
    lowfi.minimize(f, SPACE, "bohb", min_budget=1, max_budget=9, max_evaluations=6,
                   warm_start=rows, storage=db, seed=1, progress=False)
    resumed = lowfi.resume(db, f, max_evaluations=12, progress=False)
    cols = ["config.x", "config.y", "budget"]
    assert resumed.trials[cols].equals(res.trials[cols])


def test_warm_start_from_an_earlier_journal_and_initial_configs(tmp_path):
    db = tmp_path / "old.db"
    old = lowfi.minimize(f, SPACE, "random", max_evaluations=15, storage=db, seed=0,
                         progress=False)
    start = {"x": 0.75, "y": 0.25}
    res = lowfi.minimize(f, SPACE, "tpe", max_evaluations=5, warm_start=db,
                         initial_configs=[start], seed=0, progress=False)
    priors = [r for r in res.optimizer.history.records if r.trial_id < 0]
    assert len(priors) == 15 and all(r.info["warm_start"] for r in priors)
    assert sorted(r.loss for r in priors) == pytest.approx(sorted(old.trials["loss"]))
    assert res.trials.iloc[0][["config.x", "config.y"]].tolist() == [0.75, 0.25]


def test_bad_warm_start_input(tmp_path):
    opt = lowfi.optimizers.get("tpe", SPACE, seed=0)
    with pytest.raises(ValueError, match=r"results\[0\]: got 3"):
        opt.warm_start([3])
    with pytest.raises(ValueError, match=r"results\[0\].config"):
        opt.warm_start([({"x": 2.0, "y": 0.1}, 1.0, 0.5)])
    with pytest.raises(ValueError, match=r"results\[0\].budget: got 0"):
        opt.warm_start([({"x": 0.2, "y": 0.1}, 0, 0.5)])
    opt.ask()
    with pytest.raises(ValueError, match="before the first ask"):
        opt.warm_start(prior_rows(2))
    with pytest.raises(ValueError, match="warm_start: got .*does not exist"):
        lowfi.minimize(f, SPACE, "tpe", max_evaluations=2, warm_start=str(tmp_path / "no.db"),
                       progress=False)
    with pytest.raises(ValueError, match=r"initial_configs\[0\]"):
        lowfi.minimize(f, SPACE, "tpe", max_evaluations=2, initial_configs=[{"z": 1}],
                       progress=False)


def test_rows_of_a_maximized_run_are_scores_like_its_journal(tmp_path):
    """With direction="maximize", (config, budget, score) rows and the earlier run's journal
    give the optimizer the same priors."""
    import lowfi

    def score(c, b):
        return 1 - (c["x"] - 0.3) ** 2

    db = str(tmp_path / "old.db")
    old = lowfi.minimize(score, {"x": (0.0, 1.0)}, "random", max_evaluations=3, storage=db,
                         direction="maximize", progress=False, seed=0)
    rows = [({"x": x}, 1, s) for x, s in zip(old.trials["config.x"], old.trials["score"])]
    priors = []
    for ws in (db, rows):
        r = lowfi.minimize(score, {"x": (0.0, 1.0)}, "tpe", max_evaluations=1, warm_start=ws,
                           direction="maximize", progress=False)
        priors.append(sorted((round(p.config["x"], 9), round(p.loss, 9))
                             for p in r.optimizer.history.records if p.trial_id < 0))
    assert priors[0] == priors[1] and all(v < 0 for _, v in priors[0])
