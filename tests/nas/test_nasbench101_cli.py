"""``lowfi nas`` subcommands, the resumable mini build and the comparison driver."""

import json

import numpy as np
import pytest

from lowfi.nas import NASBench101Table
from lowfi.nas.cli import main
from lowfi.nas.nasbench101 import build_mini


def test_enumerate_prints_counts(capsys):
    assert main(["nas", "enumerate", "--max-vertices", "5"]) == 0
    out = capsys.readouterr().out
    assert "2,441" in out and "2,532" in out


def test_build_is_resumable_and_served(tmp_path, capsys):
    pytest.importorskip("torch")
    work = tmp_path / "w"
    build_mini.build(work, limit=2, log=lambda s: None, max_vertices=3, epochs=(1,), seeds=(0,))
    lines = (work / "results.jsonl").read_text().splitlines()
    assert len(lines) == 2
    # an unfinished build is not compressed into a table unless asked for
    with pytest.raises(ValueError, match="holds 2 of the 7 runs"):
        build_mini.finalize(work, out=tmp_path / "p.jsonl.gz")
    part = build_mini.finalize(work, out=tmp_path / "p.jsonl.gz", partial=True)
    assert len(NASBench101Table.mini(part, max_vertices=3)) == 2
    # a table file must be named, and a shipped table is never overwritten by this build
    with pytest.raises(ValueError, match="out: got None"):
        build_mini.finalize(work, partial=True)
    for shipped in build_mini.SHIPPED_TABLES.values():
        with pytest.raises(ValueError, match="is a table shipped with lowfi"):
            build_mini.finalize(work, out=shipped, partial=True)
    with pytest.raises(SystemExit, match="holds 2 of the 7"):
        main(["nas", "build-mini", "--work-dir", str(work), "--finalize-only",
              "--out", str(tmp_path / "q.jsonl.gz")])
    with pytest.raises(ValueError, match="resume"):
        build_mini.build(work, resume=False, log=lambda s: None, max_vertices=3)
    # a line cut by a kill is ignored and redone
    with open(work / "results.jsonl", "a") as f:
        f.write('{"hash": "trunc')
    build_mini.build(work, log=lambda s: None, max_vertices=3, epochs=(1,), seeds=(0,))
    rows = [json.loads(x) for x in (work / "results.jsonl").read_text().splitlines()
            if x.endswith("}")]
    assert len(rows) == 7  # every cell with at most 3 vertices, once
    assert len({r["hash"] for r in rows}) == 7
    r = rows[0]
    assert 0 <= r["validation_accuracy"] <= 1 and r["trainable_parameters"] > 0
    out = build_mini.finalize(work, out=tmp_path / "t.jsonl.gz")
    table = NASBench101Table.mini(out, max_vertices=3, seed=0)
    assert len(table) == 7 and table.epochs == (1,)
    # the query subcommand reads the same file
    assert main(["nas", "query", "--data", str(out), "--matrix", "[[0,1],[0,0]]",
                 "--ops", "input,output"]) == 0
    assert '"validation_accuracy"' in capsys.readouterr().out


def test_compare_writes_plot_and_summary(tmp_path):
    from test_nasbench101_tabular import synthetic_rows

    from lowfi.nas.nasbench101.compare import compare

    table = NASBench101Table(synthetic_rows(), max_vertices=4, seed=0)
    res = compare(table, ["random"], seeds=3, out=tmp_path, log=lambda s: None)
    assert (tmp_path / "regret.png").stat().st_size > 1000
    r = res["optimizers"]["random"]
    mean = np.array(r["mean"])
    ok = ~np.isnan(mean)
    assert (np.diff(mean[ok]) <= 1e-12).all()  # the regret of the incumbent never rises
    assert r["final_mean"] >= 0


def test_parallel_build_writes_the_same_runs(tmp_path):
    pytest.importorskip("torch")
    kw = dict(log=lambda s: None, max_vertices=3, epochs=(1,), seeds=(0,))
    build_mini.build(tmp_path / "one", **kw)
    build_mini.build(tmp_path / "two", workers=2, **kw)

    def rows(folder):
        out = {}
        for line in (tmp_path / folder / "results.jsonl").read_text().splitlines():
            r = json.loads(line)
            out[(r["hash"], r["epochs"], r["seed"])] = (r["validation_accuracy"], r["test_accuracy"])
        return out

    assert rows("one") == rows("two") and len(rows("two")) == 7  # seeded: same accuracies
    with pytest.raises(ValueError, match="workers"):
        build_mini.build(tmp_path / "x", workers=0, **kw)


def test_compare_in_parallel_gives_the_same_runs(tmp_path):
    from test_nasbench101_tabular import synthetic_rows

    from lowfi.nas.nasbench101.compare import compare

    table = NASBench101Table(synthetic_rows(), max_vertices=4, seed=0)
    kw = dict(seeds=4, out=tmp_path, log=lambda s: None, plot=False)
    one = compare(table, ["random", "re"], **kw)
    two = compare(table, ["random", "re"], jobs=2, **kw)
    for name in ("random", "re"):
        np.testing.assert_array_equal(one["optimizers"][name]["mean"],
                                      two["optimizers"][name]["mean"])  # NaN == NaN here
        assert one["optimizers"][name]["final_mean"] == two["optimizers"][name]["final_mean"]
    with pytest.raises(ValueError, match="jobs: got 0"):
        compare(table, ["random"], jobs=0, **kw)


def test_training_cells_without_torch_names_the_extra(monkeypatch, capsys):
    import sys

    from lowfi.cli import main
    from lowfi.nas.nasbench101.search import DigitsCells

    monkeypatch.setitem(sys.modules, "torch", None)  # as if not installed
    with pytest.raises(ImportError, match=r"pip install 'lowfi\[nas\]'"):
        DigitsCells()
    assert main(["nas", "search", "--data", "train", "--max-evaluations", "2"]) == 2
    err = capsys.readouterr().err
    assert "needs PyTorch" in err and "Traceback" not in err
