"""The NAS-Bench-101 tabular interface, for the official file and the shipped mini table.

:class:`NASBench101Table` answers ``query(spec, epochs)`` like NAS-Bench-101's API: the cell is
pruned, one of the recorded repeats is drawn at random, and the spent training time and epochs
are added to the budget counters. :class:`NASBench101Benchmark` puts a table behind one of the
ConfigSpace encodings as a lowfi :class:`~lowfi.benchmarks.base.Benchmark`, with the epoch
budgets as fidelities; :func:`regret_curve` computes the paper's regret over time.
"""

from __future__ import annotations

import gzip
import json
import os
from array import array
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from lowfi.benchmarks.base import Benchmark
from lowfi.core.seeding import SeedLike, as_generator
from lowfi.core.trial import Result
from lowfi.nas.nasbench101.encodings import config_space, decode
from lowfi.nas.nasbench101.spec import MAX_EDGES, MAX_VERTICES, ModelSpec

METRICS = ("validation_accuracy", "test_accuracy", "training_time", "train_accuracy")
#: reference optima of the official table (nas_benchmarks): lowest mean validation / test error
OFFICIAL_Y_STAR_VALID = 0.04944576819737756
OFFICIAL_Y_STAR_TEST = 0.056824247042338016
_DATA = Path(__file__).resolve().parents[2] / "data"
#: the tables shipped with lowfi, by vertex limit (every unique cell with at most that many
#: vertices, trained on digits at 4, 12 and 36 epochs with 3 seeds)
MINI_TABLES = {4: _DATA / "nasbench101_mini" / "table.jsonl.gz",
               5: _DATA / "nasbench101_mini5" / "table.jsonl.gz"}
MINI_TABLE = MINI_TABLES[4]
#: names accepted by :meth:`NASBench101Table.from_path` for the shipped tables
MINI_NAMES = {"mini": 4, "mini5": 5}


class OutOfDomainError(ValueError):
    """The queried cell is invalid or not in the table."""


class NASBench101Table:
    """A NAS-Bench-101-style table: per cell, per epoch budget, several repeats.

    Parameters
    ----------
    rows
        Dicts with ``matrix``, ``ops``, ``epochs``, ``trainable_parameters`` and the metrics
        ``validation_accuracy, test_accuracy, training_time, train_accuracy`` (optionally
        ``halfway_<metric>``). Rows of the same cell and epochs are its repeats.
    max_vertices, max_edges
        The space the table covers.
    seed
        Seed of the generator that draws the repeat of each query.
    name
        A label.
    verify
        Prune and hash every cell (default). False trusts the ``hash`` of rows that carry one
        (lowfi's builds store the pruned cell and its canonical hash): the shipped tables
        load so, their hashes being checked by the test suite.
    """

    def __init__(
        self,
        rows: Iterable[Mapping[str, Any]],
        *,
        max_vertices: int = MAX_VERTICES,
        max_edges: int = MAX_EDGES,
        seed: SeedLike = None,
        name: str = "nasbench101",
        verify: bool = True,
    ) -> None:
        self.name = name
        self.max_vertices = int(max_vertices)
        self.max_edges = int(max_edges)
        self.rng = as_generator(seed)
        index: dict[str, int] = {}
        specs: list[ModelSpec] = []
        params: list[int] = []
        cache: dict[Any, str] = {}
        # streamed into flat typed arrays: the official file has about 5 million rows
        cell_of = array("i")
        epochs_of = array("i")
        values: dict[str, array] | None = None
        for row in rows:
            m = np.asarray(row["matrix"], dtype=np.int8)
            trusted = not verify and "hash" in row  # lowfi-built: pruned cell + its hash
            key = None if trusted else (m.tobytes(), m.shape[0], tuple(row["ops"]))
            h = row["hash"] if trusted else cache.get(key)
            if h is None or (trusted and h not in index):
                spec = ModelSpec(m, row["ops"], max_vertices=self.max_vertices,
                                 max_edges=self.max_edges)
                if not trusted:
                    if not spec.is_valid:
                        raise ValueError(f"rows: row with an invalid cell ({spec.invalid_reason})")
                    h = cache[key] = spec.hash()
                if h not in index:
                    index[h] = len(specs)
                    specs.append(spec if trusted else spec.pruned())
                    params.append(int(row.get("trainable_parameters", 0)))
            if values is None:
                halfway = "halfway_validation_accuracy" in row
                names = list(METRICS) + ([f"halfway_{k}" for k in METRICS] if halfway else [])
                values = {k: array("d") for k in names}
            cell_of.append(index[h])
            epochs_of.append(int(row["epochs"]))
            for k, arr in values.items():
                arr.append(float(row[k]))
        if values is None:
            raise ValueError("rows: the table is empty")
        cells = np.frombuffer(cell_of, dtype=np.int32).astype(np.int64)
        eps = np.frombuffer(epochs_of, dtype=np.int32).astype(np.int64)
        self.epochs: tuple[int, ...] = tuple(int(e) for e in np.unique(eps))
        j = np.searchsorted(np.array(self.epochs), eps)
        n_e = len(self.epochs)
        counts = np.bincount(cells * n_e + j, minlength=len(specs) * n_e).reshape(len(specs), n_e)
        # repeat number of each row: its rank among earlier rows of the same (cell, epochs)
        flat = cells * n_e + j
        order = np.argsort(flat, kind="stable")
        starts = np.concatenate([[0], np.cumsum(np.bincount(flat, minlength=len(specs) * n_e))])
        rep = np.empty_like(flat)
        rep[order] = np.arange(len(flat)) - starts[flat[order]]
        R = int(counts.max())
        self.has_halfway = "halfway_validation_accuracy" in values
        self.data = {}
        for k, arr in values.items():
            d = np.full((len(specs), n_e, R), np.nan)
            d[cells, j, rep] = np.frombuffer(arr, dtype=np.float64)
            self.data[k] = d
        self.n_repeats = counts
        self.specs = specs
        self.index = index
        self.trainable_parameters = np.array(params, dtype=np.int64)
        self.reset_budget_counters()

    # ---------------------------------------------------------------- loading
    @classmethod
    def from_jsonl(cls, path: str | os.PathLike, **kwargs: Any) -> NASBench101Table:
        """Load rows written by the mini build (``.jsonl`` or ``.jsonl.gz``)."""
        path = Path(path)
        if not path.exists():
            raise ValueError(f"path: {path} does not exist")
        opener = gzip.open if path.suffix == ".gz" else open
        rows = []
        with opener(path, "rt") as f:
            for line in f:
                line = line.strip()
                if line:
                    try:
                        rows.append(json.loads(line))
                    except json.JSONDecodeError:  # a line cut by an interrupted build
                        continue
        settings = path.parent / "settings.json"
        kwargs.setdefault("name", f"nasbench101 ({path.parent.name}/{path.name})")
        if "max_vertices" not in kwargs:
            kwargs["max_vertices"] = max(len(r["ops"]) for r in rows) if rows else MAX_VERTICES
            if settings.exists():
                kwargs["max_vertices"] = json.loads(settings.read_text())["max_vertices"]
        return cls(rows, **kwargs)

    @classmethod
    def mini(cls, path: str | os.PathLike | None = None, vertices: int = 4,
             **kwargs: Any) -> NASBench101Table:
        """A mini table shipped with lowfi: every cell with at most ``vertices`` vertices
        (4: 91 cells, 5: 2,532 cells) trained on digits at 4, 12 and 36 epochs, 3 seeds."""
        if vertices not in MINI_TABLES:
            raise ValueError(f"vertices: got {vertices!r}; allowed are "
                             f"{', '.join(map(str, MINI_TABLES))} (the shipped mini tables)")
        p = Path(path) if path is not None else MINI_TABLES[vertices]
        if not p.exists():
            raise ValueError(
                f"path: the {vertices}-vertex mini NAS-Bench-101 table {p} is missing; build it "
                f"with `lowfi nas build-mini --resume --max-vertices {vertices} --work-dir DIR` "
                "and pass DIR/results.jsonl, or `--finalize` it into the package (see "
                "docs/benchmarks/nas-bench-101.md)"
            )
        kwargs.setdefault("name", "nasbench101-mini" + ("" if vertices == 4 else str(vertices)))
        kwargs.setdefault("max_vertices", vertices)
        kwargs.setdefault("verify", path is not None)  # shipped tables: hashes checked by tests
        return cls.from_jsonl(p, **kwargs)

    @classmethod
    def from_tfrecord(
        cls, path: str | os.PathLike, verify: bool = True, max_rows: int | None = None,
        **kwargs: Any,
    ) -> NASBench101Table:
        """Load the official NAS-Bench-101 file (``nasbench_full.tfrecord`` or
        ``nasbench_only108.tfrecord``) without TensorFlow."""
        from lowfi.nas.nasbench101.tfrecord import read_nasbench

        def rows():
            for i, r in enumerate(read_nasbench(path, verify=verify)):
                if max_rows is not None and i >= max_rows:
                    return
                out = {"matrix": r["matrix"], "ops": r["ops"], "epochs": r["epochs"],
                       "trainable_parameters": r["trainable_parameters"]}
                out.update(r["final"])
                out.update({f"halfway_{k}": v for k, v in r["halfway"].items()})
                yield out

        kwargs.setdefault("name", "nasbench101")
        return cls(rows(), **kwargs)

    @classmethod
    def from_path(cls, path: str | os.PathLike | None, **kwargs: Any) -> NASBench101Table:
        """``None``, ``"mini"`` or ``"mini5"``: a shipped table (4 or 5 vertices);
        ``*.tfrecord``: the official file; otherwise a JSON-lines table."""
        if path is None:
            return cls.mini(**kwargs)
        if str(path) in MINI_NAMES:
            return cls.mini(vertices=MINI_NAMES[str(path)], **kwargs)
        p = Path(path)
        if not p.exists():
            raise ValueError(
                f"path: {p} does not exist; pass the NAS-Bench-101 .tfrecord file, a mini-table "
                "results file, or 'mini' / 'mini5' for the tables shipped with lowfi"
            )
        if p.suffix == ".tfrecord":
            return cls.from_tfrecord(p, **kwargs)
        return cls.from_jsonl(p, **kwargs)

    # ---------------------------------------------------------------- the API
    def __len__(self) -> int:
        return len(self.specs)

    def __contains__(self, spec: ModelSpec) -> bool:
        return spec.is_valid and spec.hash() in self.index

    def reset_budget_counters(self) -> None:
        """Set ``training_time_spent`` and ``total_epochs_spent`` to 0."""
        self.training_time_spent = 0.0
        self.total_epochs_spent = 0

    def _row(self, spec: ModelSpec) -> int:
        if not isinstance(spec, ModelSpec):
            raise TypeError(f"spec: got {type(spec).__name__}; a ModelSpec is required")
        if not spec.is_valid:
            raise OutOfDomainError(f"spec: invalid cell ({spec.invalid_reason})")
        if spec.num_vertices > self.max_vertices or spec.num_edges > self.max_edges:
            raise OutOfDomainError(
                f"spec: {spec.num_vertices} vertices / {spec.num_edges} edges; this table "
                f"covers at most {self.max_vertices} vertices and {self.max_edges} edges"
            )
        c = self.index.get(spec.hash())
        if c is None:
            raise OutOfDomainError(f"spec: cell {spec.hash()} is not in table {self.name!r}")
        return c

    def _epoch_index(self, epochs: int | None) -> int:
        if epochs is None:
            return len(self.epochs) - 1
        try:
            return self.epochs.index(int(epochs))
        except (ValueError, TypeError):
            raise ValueError(f"epochs: got {epochs!r}; this table has {list(self.epochs)}") from None

    def is_valid(self, spec: ModelSpec) -> bool:
        """True when ``spec`` is a valid cell of this table."""
        try:
            self._row(spec)
        except OutOfDomainError:
            return False
        return True

    def query(
        self, spec: ModelSpec, epochs: int | None = None, stop_halfway: bool = False,
        seed: SeedLike = None,
    ) -> dict[str, Any]:
        """Metrics of one randomly drawn repeat of ``spec`` trained for ``epochs``.

        Adds the run's training time and epochs (half of them with ``stop_halfway``) to the
        budget counters.

        Returns
        -------
        dict
            ``module_adjacency, module_operations, trainable_parameters, training_time,
            train_accuracy, validation_accuracy, test_accuracy``.

        Raises
        ------
        OutOfDomainError
            For invalid cells and cells outside the table.
        """
        c = self._row(spec)
        j = self._epoch_index(epochs)
        rng = self.rng if seed is None else as_generator(seed)
        r = int(rng.integers(self.n_repeats[c, j]))
        prefix = ""
        if stop_halfway:
            if not self.has_halfway:
                raise ValueError("stop_halfway: this table has no halfway metrics")
            prefix = "halfway_"
        out = {"module_adjacency": self.specs[c].matrix.copy(),
               "module_operations": list(self.specs[c].ops),
               "trainable_parameters": int(self.trainable_parameters[c])}
        for k in METRICS:
            out[k] = float(self.data[prefix + k][c, j, r])
        self.training_time_spent += out["training_time"]
        e = self.epochs[j]
        self.total_epochs_spent += e // 2 if stop_halfway else e
        return out

    def get_metrics_from_spec(self, spec: ModelSpec) -> tuple[dict, dict]:
        """All repeats at all budgets without counting budget: ``(fixed, {epochs: [repeat dicts]})``."""
        c = self._row(spec)
        fixed = {"module_adjacency": self.specs[c].matrix.copy(),
                 "module_operations": list(self.specs[c].ops),
                 "trainable_parameters": int(self.trainable_parameters[c])}
        computed = {}
        for j, e in enumerate(self.epochs):
            computed[e] = [
                {k: float(self.data[k][c, j, r]) for k in self.data}
                for r in range(self.n_repeats[c, j])
            ]
        return fixed, computed

    def mean(self, metric: str, epochs: int | None = None) -> np.ndarray:
        """Per-cell mean of ``metric`` over repeats at ``epochs`` (default: the largest)."""
        if metric not in self.data:
            raise ValueError(f"metric: got {metric!r}; allowed are {sorted(self.data)}")
        return np.nanmean(self.data[metric][:, self._epoch_index(epochs)], axis=1)

    def mean_test_error(self, spec: ModelSpec) -> float:
        """Mean test error over repeats at the largest budget (what regret uses)."""
        return float(1.0 - self.mean("test_accuracy")[self._row(spec)])

    @property
    def y_star_valid(self) -> float:
        """Lowest mean validation error at the largest budget."""
        return float(1.0 - self.mean("validation_accuracy").max())

    @property
    def y_star_test(self) -> float:
        """Lowest mean test error at the largest budget."""
        return float(1.0 - self.mean("test_accuracy").max())

    def __repr__(self) -> str:
        return f"NASBench101Table({self.name!r}, cells={len(self)}, epochs={list(self.epochs)})"


def regret_curve(
    valid_errors: Iterable[float], test_errors: Iterable[float], costs: Iterable[float],
    y_star_test: float,
) -> tuple[np.ndarray, np.ndarray]:
    """The paper's regret over time.

    The incumbent after each evaluation is the one with the lowest validation error so far (at
    whatever budget it was evaluated); its test regret is its mean test error at the largest
    budget minus ``y_star_test``. Returns ``(cumulative cost, test regret)``.
    """
    v = np.asarray(list(valid_errors), dtype=float)
    t = np.asarray(list(test_errors), dtype=float)
    c = np.asarray(list(costs), dtype=float)
    if not (len(v) == len(t) == len(c)):
        raise ValueError("valid_errors, test_errors, costs: must have the same length")
    if len(v) == 0:
        return c, v
    best = np.minimum.accumulate(v)
    # index of the first occurrence of each running minimum (strict improvement only)
    improved = np.concatenate([[True], v[1:] < best[:-1]])
    inc = np.maximum.accumulate(np.where(improved, np.arange(len(v)), 0))
    return np.cumsum(c), t[inc] - y_star_test


class NASBench101Benchmark(Benchmark):
    """A NAS-Bench-101 table behind a ConfigSpace encoding, with epochs as the budget.

    ``evaluate`` returns the validation error of a drawn repeat with its training time as
    cost; invalid cells give error 1 at cost 0, as in the paper's code. ``test_loss`` is the
    cell's mean test error at the largest budget (1 for invalid cells).

    Parameters
    ----------
    table
        A :class:`NASBench101Table`, a path (see :meth:`NASBench101Table.from_path`) or None
        for the shipped mini table.
    encoding
        ``"A"``, ``"B"`` or ``"C"``.
    seed
        Seed for the repeats drawn when ``evaluate`` gets no seed.
    """

    tabular = True

    def __init__(
        self, table: NASBench101Table | str | os.PathLike | None = None, encoding: str = "A",
        seed: SeedLike = None,
    ) -> None:
        if not isinstance(table, NASBench101Table):
            table = NASBench101Table.from_path(table)
        self.table = table
        self.encoding = str(encoding).upper()
        self.name = f"{table.name}-{self.encoding.lower()}"
        self.vertices = table.max_vertices
        self.space = config_space(self.encoding, table.max_vertices, table.max_edges)
        self.min_budget = float(table.epochs[0])
        self.max_budget = float(table.epochs[-1])
        self.eta = 3.0
        self.optimum = table.y_star_valid
        self.y_star_test = table.y_star_test
        self.f_rand = float(1.0 - np.nanmean(table.mean("validation_accuracy")))
        self.rng = as_generator(seed)

    def decode(self, config: Mapping[str, Any]) -> ModelSpec | None:
        """The cell of ``config`` or None when invalid."""
        spec = decode(dict(config), self.encoding, self.table.max_vertices, self.table.max_edges)
        return spec if spec is not None and spec in self.table else None

    def _epochs(self, budget: float) -> int:
        eps = np.array(self.table.epochs, dtype=float)
        ok = eps >= float(budget) - 1e-9
        if not ok.any():
            raise ValueError(
                f"budget: got {budget!r}; this table's epochs are {list(self.table.epochs)}"
            )
        return int(eps[ok][0])

    def evaluate(self, config: dict[str, Any], budget: float | None = None,
                 seed: int | None = None) -> Result:
        epochs = self._epochs(self.max_budget if budget is None else budget)
        spec = self.decode(config)
        if spec is None:
            return Result(loss=1.0, cost=0.0, info={"invalid": True, "epochs": epochs,
                                                    "test_error": 1.0})
        r = self.table.query(spec, epochs, seed=self.rng if seed is None else seed)
        return Result(
            loss=1.0 - r["validation_accuracy"],
            cost=r["training_time"],
            info={"epochs": epochs, "test_error": self.table.mean_test_error(spec),
                  "hash": spec.hash(), "trainable_parameters": r["trainable_parameters"]},
        )

    def test_loss(self, config: dict[str, Any]) -> float:
        spec = self.decode(config)
        return 1.0 if spec is None else self.table.mean_test_error(spec)


def mini_benchmark(encoding: str = "A", seed: SeedLike = None,
                   vertices: int = 4) -> NASBench101Benchmark:
    """The shipped mini table with at most ``vertices`` vertices (4 or 5) behind encoding
    ``encoding``."""
    return NASBench101Benchmark(NASBench101Table.mini(vertices=vertices), encoding=encoding,
                                seed=seed)


def mini5_benchmark(encoding: str = "A", seed: SeedLike = None) -> NASBench101Benchmark:
    """The shipped 5-vertex mini table (2,532 cells) behind encoding ``encoding``."""
    return mini_benchmark(encoding, seed, vertices=5)
