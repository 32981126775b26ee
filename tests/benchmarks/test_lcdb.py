import numpy as np
import pytest

from lowfi.benchmarks import lcdb as lcdb_mod

try:
    FILE = lcdb_mod.data_file()
except FileNotFoundError:
    FILE = None
needs_data = pytest.mark.skipif(FILE is None, reason="LCDB data not found")


@pytest.fixture(scope="module")
def kr():
    return lcdb_mod.lcdb(3)  # kr-vs-kp


@needs_data
def test_anchor_grid_and_space(kr):
    assert kr.min_budget == 16 and kr.max_budget == 2588
    assert list(kr.anchors[:6]) == [16, 23, 32, 45, 64, 91]
    assert 15 <= len(kr.learners) <= 20 and "SVC_rbf" in kr.learners
    assert list(kr.space.keys()) == ["learner"] and kr.tabular


@needs_data
def test_svc_rbf_curve_matches_the_data_guide(kr):
    # data guide 4.1 (seed 0/0): 0.663 at 16, 0.875 at 91, 0.972 at 2588; we average seeds
    c = {"learner": "SVC_rbf"}
    acc = [1 - kr.evaluate(c, a).loss for a in (16, 91, 2588)]
    assert acc[0] < acc[1] < acc[2]
    assert abs(acc[2] - 0.972) < 0.02 and abs(acc[1] - 0.875) < 0.06
    # nearest anchor <= budget
    assert kr.evaluate(c, 90.9).info["anchor"] == 64
    assert kr.evaluate(c, 91).loss == kr.evaluate(c, 127).loss
    anchors, losses = kr.curve(c)
    assert len(anchors) == len(losses) == 16


@needs_data
def test_cost_and_optimum_are_consistent(kr):
    finals = [kr.test_loss({"learner": name}) for name in kr.learners]
    assert kr.optimum == pytest.approx(min(finals))
    assert kr.f_rand == pytest.approx(np.mean(finals))
    assert kr.test_loss({"learner": kr.best_learner}) == kr.optimum
    for name in kr.learners:
        for b in (16, 500, 2588):
            r = kr.evaluate({"learner": name}, b)
            assert r.status == "ok" and r.cost >= 0 and 0 <= r.loss <= 1


@needs_data
def test_bad_inputs_raise_clear_errors(kr):
    with pytest.raises(ValueError, match="learner"):
        kr.evaluate({"learner": "xgboost"}, 100)
    with pytest.raises(ValueError, match="budget"):
        kr.evaluate({"learner": "SVC_rbf"}, 10)
    with pytest.raises(TypeError, match="config"):
        kr.evaluate("SVC_rbf", 100)
    with pytest.raises(ValueError, match="openmlid"):
        lcdb_mod.lcdb("kr-vs-kp")
    with pytest.raises(ValueError, match="openmlid"):
        lcdb_mod.lcdb(999999)


def test_missing_data_gives_a_clear_error(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="data_path"):
        lcdb_mod.LCDB(3, data_path=tmp_path)
    monkeypatch.setenv(lcdb_mod.ENV, str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match=lcdb_mod.ENV):
        lcdb_mod.LCDB(3)
    monkeypatch.delenv(lcdb_mod.ENV)
    monkeypatch.setenv(lcdb_mod.ENV_ALIAS, str(tmp_path / "elsewhere"))
    with pytest.raises(FileNotFoundError, match="elsewhere"):
        lcdb_mod.LCDB(3)


def test_one_environment_variable_serves_the_benchmark_and_the_curve_loader(tmp_path, monkeypatch):
    from lowfi.curves.data import lcdb_path

    monkeypatch.delenv(lcdb_mod.ENV_ALIAS, raising=False)
    table = tmp_path / "database-accuracy.csv.gz"
    table.write_bytes(b"")
    monkeypatch.setenv(lcdb_mod.ENV, str(tmp_path))
    assert lcdb_mod.data_file() == table == lcdb_path()
