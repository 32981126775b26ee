"""The tabular API, the Benchmark over an encoding, regret, and the shipped mini table."""

import json

import numpy as np
import pytest

from lowfi.core.trial import Result
from lowfi.nas import (
    NASBench101Benchmark,
    NASBench101Table,
    OutOfDomainError,
    encode,
    enumerate_cells,
    regret_curve,
)
from lowfi.nas.nasbench101.tabular import MINI_TABLES
from lowfi.space import Space


def synthetic_rows(max_vertices=4, epochs=(4, 12, 36), repeats=3):
    rows = []
    for i, spec in enumerate(enumerate_cells(max_vertices).specs()):
        for e in epochs:
            for r in range(repeats):
                acc = 0.5 + 0.4 * ((i * 37) % 91) / 91 * e / max(epochs) + 0.001 * r
                rows.append({"matrix": spec.matrix.tolist(), "ops": spec.ops, "epochs": e,
                             "trainable_parameters": 100 + i, "validation_accuracy": acc,
                             "test_accuracy": acc - 0.01, "training_time": e * (1 + 0.1 * r),
                             "train_accuracy": acc + 0.05})
    return rows


@pytest.fixture(scope="module")
def table():
    return NASBench101Table(synthetic_rows(), max_vertices=4, seed=0)


def test_query_draws_repeats_and_counts_budget(table):
    spec = next(iter(enumerate_cells(4).specs()))
    table.reset_budget_counters()
    times = [table.query(spec, 12)["training_time"] for _ in range(30)]
    assert sorted(set(np.round(times, 6))) == pytest.approx([12.0, 13.2, 14.4])
    assert table.total_epochs_spent == 30 * 12
    assert table.training_time_spent == pytest.approx(sum(times))
    r = table.query(spec)  # default: the largest budget
    assert set(r) >= {"validation_accuracy", "test_accuracy", "training_time",
                      "trainable_parameters", "module_adjacency", "module_operations"}
    assert np.isclose(r["training_time"], [36.0, 39.6, 43.2]).any()
    # an explicit seed makes a query reproducible
    assert table.query(spec, 4, seed=5)["training_time"] == table.query(spec, 4, seed=5)["training_time"]


def test_query_counts_time_exactly():
    t = NASBench101Table(synthetic_rows(repeats=1), max_vertices=4, seed=0)
    spec = next(iter(enumerate_cells(4).specs()))
    for e in (4, 12, 36):
        t.query(spec, e)
    assert t.training_time_spent == pytest.approx(52.0) and t.total_epochs_spent == 52
    t.reset_budget_counters()
    assert t.training_time_spent == 0


def test_out_of_domain_and_bad_epochs(table):
    from lowfi.nas import ModelSpec

    with pytest.raises(OutOfDomainError):
        table.query(ModelSpec([[0, 0], [0, 0]], ["input", "output"]))
    big = ModelSpec(np.eye(6, k=1, dtype=int), ["input", *["maxpool3x3"] * 4, "output"])
    with pytest.raises(OutOfDomainError, match="at most 4 vertices"):
        table.query(big)
    spec = next(iter(enumerate_cells(4).specs()))
    with pytest.raises(ValueError, match="epochs"):
        table.query(spec, 5)
    assert table.is_valid(spec) and not table.is_valid(big)
    fixed, computed = table.get_metrics_from_spec(spec)
    assert sorted(computed) == [4, 12, 36] and len(computed[36]) == 3


def test_benchmark_over_encodings(table):
    for enc in "ABC":
        bench = NASBench101Benchmark(table, encoding=enc, seed=0)
        assert (bench.min_budget, bench.max_budget, bench.tabular) == (4.0, 36.0, True)
        spec = list(enumerate_cells(4).specs())[10]
        cfg = encode(spec, enc, vertices=4)
        res = bench.evaluate(cfg, 12)
        assert isinstance(res, Result) and 0 < res.loss < 1 and res.cost > 0
        assert res.info["test_error"] == pytest.approx(table.mean_test_error(spec))
        assert bench.test_loss(cfg) == pytest.approx(table.mean_test_error(spec))
        # invalid: error 1 at cost 0
        space = Space(bench.space)
        rng = np.random.default_rng(0)
        invalid = [c for c in space.sample(rng, 200) if bench.decode(c) is None]
        assert invalid
        r = bench.evaluate(invalid[0], 36)
        assert (r.loss, r.cost) == (1.0, 0.0) and bench.test_loss(invalid[0]) == 1.0
    assert bench.optimum == pytest.approx(table.y_star_valid)
    with pytest.raises(ValueError, match="budget"):
        bench.evaluate(cfg, 100)


def test_regret_curve_follows_validation_incumbent():
    cost, regret = regret_curve([0.5, 0.3, 0.4, 0.2, 0.2], [0.6, 0.5, 0.1, 0.3, 0.0],
                                [1, 0, 2, 3, 4], y_star_test=0.1)
    assert cost.tolist() == [1, 1, 3, 6, 10]
    assert regret == pytest.approx([0.5, 0.4, 0.4, 0.2, 0.2])  # ties keep the first


def test_missing_data_path_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        NASBench101Table.from_path(tmp_path / "nope.tfrecord")
    with pytest.raises(ValueError, match="build-mini"):
        NASBench101Table.mini(tmp_path / "absent.jsonl.gz")
    with pytest.raises(ValueError, match="vertices: got 7"):
        NASBench101Table.mini(vertices=7)


def test_named_shipped_tables_route(monkeypatch, tmp_path):
    from lowfi.nas.nasbench101 import tabular

    monkeypatch.setitem(tabular.MINI_TABLES, 5, tmp_path / "absent5.jsonl.gz")
    with pytest.raises(ValueError, match="5-vertex mini .* --max-vertices 5"):
        NASBench101Table.from_path("mini5")
    rows = synthetic_rows()
    with open(tmp_path / "t5.jsonl", "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows)
    monkeypatch.setitem(tabular.MINI_TABLES, 5, tmp_path / "t5.jsonl")
    t = NASBench101Table.from_path("mini5", seed=0)
    assert t.name == "nasbench101-mini5" and t.max_vertices == 5
    from lowfi.benchmarks.base import get

    assert get("nasbench101-mini5").name == "nasbench101-mini5-a"


def test_shipped_mini_table():
    t = NASBench101Table.mini(seed=0)
    assert len(t) == 91 and t.epochs == (4, 12, 36)
    assert (t.n_repeats >= 1).all()
    acc = t.mean("validation_accuracy")
    assert 0.9 < acc.max() <= 1.0 and acc.min() < acc.max()
    # more epochs help on average
    assert t.mean("validation_accuracy", 36).mean() > t.mean("validation_accuracy", 4).mean()
    bench = NASBench101Benchmark(t, "A", seed=0)
    assert bench.space is not None and bench.max_budget == 36


def test_shipped_5_vertex_table():
    t = NASBench101Table.mini(vertices=5, seed=0)
    assert len(t) == 2532 and t.epochs == (4, 12, 36) and t.max_vertices == 5
    assert (t.n_repeats == 3).all()  # complete: 3 seeds at every budget
    small = NASBench101Table.mini(seed=0)
    for spec in small.specs[:20]:  # the 4-vertex runs are part of it
        assert t.mean_test_error(spec) == pytest.approx(small.mean_test_error(spec))
    assert t.mean("validation_accuracy", 36).mean() > t.mean("validation_accuracy", 4).mean()


@pytest.mark.parametrize("vertices", [4, 5])
def test_shipped_tables_hashes_are_the_canonical_ones(vertices):
    assert MINI_TABLES[vertices].exists()  # shipped in the package
    fast = NASBench101Table.mini(vertices=vertices)  # trusts the stored hashes
    checked = NASBench101Table.mini(MINI_TABLES[vertices], vertices=vertices, verify=True)
    assert fast.index == checked.index
    for k in fast.data:
        np.testing.assert_array_equal(fast.data[k], checked.data[k])
