"""``lowfi nas search``: optimizers over a table or over real training of cells."""

import json
import pickle

import pytest

from lowfi.nas import NASBench101Table
from lowfi.nas.cli import main
from lowfi.nas.nasbench101.encodings import encode
from lowfi.nas.nasbench101.search import DigitsCells, search
from lowfi.nas.nasbench101.spec import ModelSpec


def test_search_on_a_table_reports_the_papers_regret():
    from test_nasbench101_tabular import synthetic_rows

    table = NASBench101Table(synthetic_rows(), max_vertices=4, seed=0)
    out = search(table, "re", max_evaluations=40, seed=3)
    assert out["evaluations"] == 40 and out["stop_reason"] == "max_evaluations"
    b = out["best"]
    spec = ModelSpec(b["matrix"], b["ops"])
    assert spec.hash() == b["hash"]
    assert b["mean_test_error"] == pytest.approx(table.mean_test_error(spec))
    assert b["test_regret"] == pytest.approx(b["mean_test_error"] - table.y_star_test)
    assert b["test_regret"] >= 0
    # the incumbent is the lowest validation error the run saw at the top budget
    df = out["result"].trials
    assert b["validation_error"] == pytest.approx(df[df["budget"] == 36]["loss"].min())
    with pytest.raises(ValueError, match="max_evaluations, total_budget"):
        search(table, "re", max_evaluations=None)


def test_search_cli_on_the_shipped_table(capsys, tmp_path):
    assert main(["nas", "search", "--optimizer", "random", "--max-evaluations", "20",
                 "--json", "--storage", str(tmp_path / "s.db")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["evaluations"] == 20 and out["best"]["test_regret"] >= 0
    assert main(["nas", "search", "--optimizer", "random", "--max-evaluations", "25",
                 "--storage", str(tmp_path / "s.db"), "--resume"]) == 0
    assert "random on nasbench101-mini-a: 25 evaluations" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="optimizer"):
        main(["nas", "search", "--optimizer", "nope", "--max-evaluations", "2"])


def test_digits_cells_trains_the_encoded_cell():
    pytest.importorskip("torch")
    from lowfi.nas.nasbench101.build_mini import load_digits_split, train_cell

    bench = DigitsCells(max_vertices=3)
    spec = ModelSpec([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", "conv1x1-bn-relu", "output"])
    config = encode(spec, "A", 3, 9)
    r = bench.evaluate(config, 1, seed=2)
    ref = train_cell(spec, 1, 2, load_digits_split(0))
    assert r.loss == pytest.approx(1 - ref["validation_accuracy"])
    assert r.info["test_error"] == pytest.approx(1 - ref["test_accuracy"])
    assert r.info["hash"] == spec.hash() and r.cost > 0
    invalid = dict(config, edge_0=0, edge_1=0, edge_2=0)
    assert bench.evaluate(invalid, 1).loss == 1.0 and bench.evaluate(invalid, 1).cost == 0.0
    assert pickle.loads(pickle.dumps(bench))._data is None  # workers load digits themselves
    with pytest.raises(ValueError, match="max_vertices: got 8"):
        DigitsCells(max_vertices=8)


def test_a_resumed_table_search_draws_the_repeats_of_an_uninterrupted_one(tmp_path):
    """The repeat a trial gets depends on (seed, trial id), not on a generator restarted with
    the process: 20 + 20 resumed evaluations equal 40 straight ones."""
    from lowfi.nas.nasbench101.search import search

    a, b = str(tmp_path / "a.db"), str(tmp_path / "b.db")
    search("mini5", "re", max_evaluations=20, storage=a, seed=3)
    search("mini5", "re", max_evaluations=40, storage=a, seed=3, resume=True)
    search("mini5", "re", max_evaluations=40, storage=b, seed=3)
    from lowfi.storage import load_trials

    la, lb = load_trials(a), load_trials(b)
    assert la["loss"].tolist() == lb["loss"].tolist() and len(la) == 40


def test_lemonade_is_refused_for_cells_and_survives_a_failed_generation():
    import lowfi
    from lowfi import Result
    from lowfi.nas.nasbench101.search import search

    with pytest.raises(ValueError, match="optimizer: got 'lemonade'; it searches network descriptions"):
        search("mini", "lemonade", max_evaluations=5)
    opt = lowfi.optimizers.get("lemonade", None, n_init=2, n_children=4, n_accept=2, seed=0)
    asked = []
    while (t := opt.ask()) is not None:
        asked.append(t)
        opt.tell(t, Result(loss=None, status="failed", error="worker crashed"))
    assert len(asked) == 2  # the initial networks; no parent to morph after they all failed


def test_compare_needs_at_least_one_seed(tmp_path):
    from lowfi.nas.nasbench101.compare import compare

    with pytest.raises(ValueError, match="seeds: got 0; allowed is an int >= 1"):
        compare("mini", ["re"], seeds=0, out=str(tmp_path), plot=False)
