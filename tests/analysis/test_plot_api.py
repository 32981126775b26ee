"""lowfi.plot: figures whose contents (scales, tick labels, drawn points) follow the run."""

import math
import re

import numpy as np
import pandas as pd
import pytest
from ConfigSpace import Categorical, ConfigurationSpace, Float

import lowfi
from lowfi import plot as lp
from lowfi.analysis.rundata import load_run_data

ACTS = ["relu", "tanh", "sigmoid"]


def _space():
    cs = ConfigurationSpace(seed=0)
    cs.add([Float("lr", (1e-4, 1e-1), log=True), Float("dropout", (0.0, 0.5)),
            Categorical("act", ACTS)])
    return cs


def _objective(trial):
    c = trial.config
    base = ({"relu": 0.1, "tanh": 0.3, "sigmoid": 0.8}[c["act"]]
            + 0.05 * abs(math.log10(c["lr"]) + 2.5) + 0.1 * c["dropout"])
    v = s = None
    for s in range(1, int(trial.budget) + 1):
        v = base + 1.0 / s
        trial.report(s, v)
        if trial.should_stop():
            break
    return lowfi.Result(v, cost=float(s))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from lowfi.curves.stopping import RungStopping

    db = tmp_path_factory.mktemp("plot") / "run.db"
    res = lowfi.minimize(_objective, _space(), "hyperband", min_budget=1, max_budget=9, eta=3,
                         executor="simulated", n_workers=2, storage=str(db), max_evaluations=60,
                         progress=False, seed=0, stopping=RungStopping(min_step=1, eta=3))
    return db, res


def _ok_at(df, budget):
    st = df["status"].astype(str)
    return df[(st == "ok") & np.isclose(df["budget"].astype(float), budget)]


def test_run_forms_are_equivalent(run):
    db, res = run
    a = load_run_data(db)
    b = load_run_data(res)
    c = load_run_data(res.trials, space=_space())
    assert len(a.trials) == len(b.trials) == len(c.trials) == 60
    assert a.max_budget == b.max_budget == 9
    assert a.stop_reason == b.stop_reason == "max_evaluations"
    assert a.space is not None and a.space.names == b.space.names
    with lowfi.Study(str(db)) as study:
        d = load_run_data(study)
    assert len(d.trials) == 60 and d.space is not None
    with pytest.raises(TypeError, match="run: got int"):
        load_run_data(3)
    with pytest.raises(FileNotFoundError, match="nope.db"):
        load_run_data(db.parent / "nope.db")


def test_slice_axes_follow_the_space(run):
    db, _ = run
    df = load_run_data(db).trials
    fig = lp.plot_slice(db, budget=1)
    axes = {ax.get_xlabel(): ax for ax in fig.axes if ax.get_xlabel()}
    assert set(axes) == {"lr", "dropout", "act"}
    assert axes["lr"].get_xscale() == "log"
    assert axes["dropout"].get_xscale() == "linear"  # uniform, whatever its range
    assert [t.get_text() for t in axes["act"].get_xticklabels()] == ACTS
    n = len(_ok_at(df, 1))
    for ax in axes.values():
        (pts,) = [c for c in ax.collections if c.get_gid() == "points"]
        assert len(pts.get_offsets()) == n
    assert f"{n} trials at budget 1" in fig._suptitle.get_text()
    with pytest.raises(ValueError, match="params: got \\['nope'\\]"):
        lp.plot_slice(db, params=["nope"])


def test_incumbent_is_monotone_and_marks_the_stop(run):
    db, _ = run
    for x in ("budget", "time"):
        fig = lp.plot_incumbent(db, x=x)
        (ax,) = fig.axes
        for gid in ("incumbent", "best_any"):
            (line,) = [ln for ln in ax.lines if ln.get_gid() == gid]
            y = np.asarray(line.get_ydata(), float)
            y = y[np.isfinite(y)]
            assert len(y) > 0 and np.all(np.diff(y) <= 0), (x, gid)
        assert any("stopped: max_evaluations" in t.get_text() for t in ax.texts)
        assert [ln for ln in ax.lines if ln.get_gid() == "stop"]
    inc = lp.incumbent_curve(load_run_data(db))
    # the incumbent is the best loss at the highest budget
    df = load_run_data(db).trials
    assert inc["best_full"].iloc[-1] == pytest.approx(_ok_at(df, 9)["loss"].min())
    with pytest.raises(ValueError, match="x: got 'steps'"):
        lp.plot_incumbent(db, x="steps")


def test_learning_curves_show_the_rule_that_stopped_each_trial(run):
    db, _ = run
    df = load_run_data(db).trials
    n_stopped = int((df["status"].astype(str) == "stopped").sum())
    assert n_stopped > 0
    fig = lp.plot_learning_curves(db)
    (ax,) = fig.axes
    curves = [ln for ln in ax.lines if str(ln.get_gid()).startswith("curve-")]
    assert len(curves) == len(df)
    stops = [ln for ln in ax.lines if ln.get_gid() == "stop-rung"]
    assert len(stops) == n_stopped
    # a rung decision: no extrapolation drawn
    assert not [c for c in ax.containers if c.get_gid() == "domhan-prediction"]
    assert not [ln for ln in ax.lines if ln.get_gid() == "domhan-prediction"]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert f"stopped by rung ({n_stopped})" in labels
    # stopped curves end where the rule stopped them, before the trial's budget
    for (_, row), ln in zip(df.iterrows(), curves, strict=True):
        if row["status"] == "stopped":
            assert ln.get_xdata()[-1] < row["budget"]


def test_budget_allocation_sums_what_was_used(run):
    db, _ = run
    data = load_run_data(db)
    alloc = lp.budget_allocation(data)
    used = alloc["budget_used"].sum()
    # stopped trials count the steps they trained, not their budget
    assert used < data.trials["budget"].sum()
    fig = lp.plot_budget_allocation(db)
    (ax,) = fig.axes
    heights = sum(p.get_height() for p in ax.patches)
    assert heights == pytest.approx(used)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "3", "9"]
    assert sorted(int(t.get_text()) for t in ax.texts) == sorted(
        data.trials.groupby("budget").size().tolist())


def test_parallel_coordinates_draw_one_line_per_trial(run):
    db, _ = run
    df = load_run_data(db).trials
    fig = lp.plot_parallel_coordinates(db, budget=3)
    ax = fig.axes[0]
    lines = [ln for ln in ax.lines if ln.get_gid() == "config"]
    assert len(lines) == len(_ok_at(df, 3))
    assert [t.get_text() for t in ax.get_xticklabels()] == ["act", "dropout", "lr"]
    texts = {t.get_text() for t in ax.texts}
    assert set(ACTS) <= texts and "0.0001" in texts and "0.1" in texts
    assert "at budget 3" in ax.get_title()


def _synthetic(n=300, seed=0):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"trial_id": range(n), "budget": 9.0, "status": "ok",
                       "config.lr": 10 ** rng.uniform(-4, -1, n),
                       "config.dropout": rng.uniform(0, 0.5, n),
                       "config.act": rng.choice(ACTS, n)})
    u = np.log10(df["config.lr"]) + 2.5  # uniform on [-1.5, 1.5] in log space
    df["loss"] = (df["config.act"].map({"relu": 0.0, "tanh": 1.0, "sigmoid": 0.5})
                  + 0.3 * u ** 2 + rng.normal(0, 0.01, n))
    return df


def test_fanova_matches_the_analytic_variance_split():
    imp = lp.param_importances(_synthetic(), space=_space())
    # Var(act effect) = Var{0, 1, 0.5} = 1/6; Var(0.3 u^2), u ~ U(-1.5, 1.5) = 0.09 * 0.45
    v_act, v_lr = 1 / 6, 0.09 * 0.45
    assert imp["act"] == pytest.approx(v_act / (v_act + v_lr), abs=0.08)
    assert imp["lr"] == pytest.approx(v_lr / (v_act + v_lr), abs=0.08)
    assert imp["dropout"] < 0.03
    assert imp.index[0] == "act" and imp.attrs["n_trials"] == 300
    fig = lp.plot_param_importances(_synthetic(), space=_space())
    ax = fig.axes[0]
    top = max(ax.get_yticklabels(), key=lambda t: t.get_position()[1])
    assert top.get_text() == "act"  # most important on top
    assert len(ax.patches) == 3 and "at budget 9" in ax.get_title()


def test_axes_without_a_space_are_inferred_from_values_not_ranges():
    df = _synthetic(60)
    fig = lp.plot_slice(df)
    axes = {ax.get_xlabel(): ax for ax in fig.axes if ax.get_xlabel()}
    # no space: no log axis is guessed from the values' range
    assert axes["lr"].get_xscale() == "linear"
    assert [t.get_text() for t in axes["act"].get_xticklabels()] == sorted(ACTS)
    fig = lp.plot_slice(df, space=_space())
    axes = {ax.get_xlabel(): ax for ax in fig.axes if ax.get_xlabel()}
    assert axes["lr"].get_xscale() == "log"


def test_pareto_front():
    from lowfi.analysis.pareto import pareto_mask

    rng = np.random.default_rng(1)
    F = rng.uniform(size=(40, 2))
    df = pd.DataFrame({"trial_id": range(40), "budget": 1.0, "status": "ok",
                       "loss": [tuple(f) for f in F], "config.x": rng.uniform(size=40)})
    fig = lp.plot_pareto_front(df, objectives=("error", "latency"))
    ax = fig.axes[0]
    (front,) = [c for c in ax.collections if c.get_gid() == "front"]
    (dom,) = [c for c in ax.collections if c.get_gid() == "dominated"]
    assert len(front.get_offsets()) == pareto_mask(F).sum()
    assert len(front.get_offsets()) + len(dom.get_offsets()) == 40
    assert ax.get_xlabel() == "error"
    with pytest.raises(ValueError, match="multi-objective"):
        lp.plot_pareto_front(_synthetic(10))


def test_report_counts_stopped_trials_and_has_a_sortable_table(run, tmp_path):
    from lowfi.analysis.report import report

    db, _ = run
    df = load_run_data(db).trials
    n_stopped = int((df["status"].astype(str) == "stopped").sum())
    md = report(db, out=tmp_path / "rep")
    html = (tmp_path / "rep" / "report.html").read_text()
    assert f"{n_stopped} stopped early by a stopping rule" in html
    assert "The run stopped: max_evaluations" in html
    table = html[html.index('class="dataframe t sortable"', html.index(
        "<h2>Trials</h2>")):]
    table = table[:table.index("</table>")]
    for col in ("status", "budget reached", "epochs trained", "stopped by"):
        assert f"<th>{col}</th>" in table
    assert table.count("<tr") == len(df) + 1
    assert len(re.findall(r"<td>stopped</td>", table)) == n_stopped
    assert "addEventListener('click'" in html
    for f in ("incumbent.png", "allocation.png", "curves.png", "importance.png", "slice.png"):
        assert (md.parent / f).stat().st_size > 1000, f


def test_a_maximized_run_is_drawn_in_scores(tmp_path):
    import lowfi

    def accuracy(config, budget):
        return 1.0 - (config["x"] - 0.3) ** 2

    res = lowfi.minimize(accuracy, {"x": (0.0, 1.0)}, "random", max_evaluations=12,
                         direction="maximize", storage=tmp_path / "max.db", progress=False,
                         seed=0)
    fig = lp.plot_incumbent(tmp_path / "max.db")
    ax = fig.axes[0]
    assert ax.get_ylabel().startswith("score")
    (line,) = [ln for ln in ax.lines if ln.get_gid() == "incumbent"]
    y = np.asarray(line.get_ydata(), float)
    assert np.all(np.diff(y) >= 0) and y[-1] == pytest.approx(res.best_loss)  # the best score
    for run in (tmp_path / "max.db", res.trials, lowfi.storage.load_trials(tmp_path / "max.db")):
        fig = lp.plot_slice(run, budget=1)
        assert fig.axes[0].get_ylabel().startswith("score")
        (pts,) = [c for c in fig.axes[0].collections if c.get_gid() == "points"]
        assert sorted(pts.get_offsets()[:, 1]) == pytest.approx(sorted(res.trials["score"]))


def test_pareto_front_of_a_maximized_run_is_drawn_in_scores(tmp_path):
    import warnings

    import lowfi

    db = str(tmp_path / "mo_max.db")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lowfi.minimize(lambda c, b: (c["x"], 1 - c["x"] ** 2), {"x": (0.0, 1.0)}, "random",
                       max_evaluations=6, storage=db, direction="maximize", progress=False, seed=0)
    ax = lp.plot_pareto_front(db).axes[0]
    pts = np.vstack([c.get_offsets() for c in ax.collections])
    assert pts.min() >= 0.0 and pts.max() <= 1.0  # scores, not their negation
    # maximizing both: every point is on the front (x and 1 - x^2 trade off on [0, 1])
    front = next(c for c in ax.collections if c.get_gid() == "front")
    assert len(front.get_offsets()) == 6


def test_parallel_coordinates_draw_every_active_value_of_a_conditional_space(tmp_path):
    from ConfigSpace import EqualsCondition

    cs = ConfigurationSpace(seed=0)
    opt, mom, beta = (Categorical("opt", ["sgd", "adam"]), Float("momentum", (0.0, 0.9)),
                      Float("beta1", (0.8, 0.99)))
    cs.add([opt, beta, mom, Float("lr", (1e-3, 1.0), log=True)])
    cs.add([EqualsCondition(mom, opt, "sgd"), EqualsCondition(beta, opt, "adam")])

    def f(config, budget):
        return config["lr"] + config.get("momentum", 0.0)

    res = lowfi.minimize(f, cs, "random", max_evaluations=12, storage=tmp_path / "c.db",
                         progress=False, seed=0)
    fig = lp.plot_parallel_coordinates(tmp_path / "c.db")
    ax = fig.axes[0]
    names = [t.get_text() for t in ax.get_xticklabels()]
    lines = [ln for ln in ax.lines if ln.get_gid() == "config"]
    assert len(lines) == len(res.trials)
    for ln in lines:  # no gaps: every axis has a drawn value, active or marked inactive
        y = np.asarray(ln.get_ydata(), float)
        assert len(y) == len(names) and np.all(np.isfinite(y))
    assert "inactive" in {t.get_text() for t in ax.texts}


def test_a_budget_the_run_does_not_have_is_named(run):
    db, _ = run
    with pytest.raises(ValueError, match=r"budget: got 27; the run's budgets with successful "
                                         r"trials are 1, 3"):
        lp.plot_slice(db, budget=27)
    with pytest.raises(ValueError, match="budget: got 2"):
        lp.param_importances(db, budget=2)


def test_a_space_that_is_not_the_runs_is_named(run):
    db, _ = run
    with pytest.raises(ValueError, match=r"space: its parameters \['other'\] are not the run's"):
        lp.plot_slice(db, space={"other": (0.0, 1.0)})
