"""Architecture search in the NAS-Bench-101 cell space (``lowfi nas search``).

Two kinds of objective behind one command:

* a **table** (the shipped ``"mini"`` / ``"mini5"`` tables, a mini-build results file or the
  official ``.tfrecord``): every evaluation is a look-up (:class:`NASBench101Benchmark`), so a
  search over the table is the reproducible experiment of Ying et al. (2019);
* **real training** (``data="train"``): :class:`DigitsCells` trains the cell a configuration
  encodes on scikit-learn's digits with the network and schedule of the mini tables, for
  ``budget`` epochs. It is a benchmark like any other (``lowfi bench --benchmarks
  nasbench101-digits``) and shows what a search costs when nothing is tabulated.

Both run through :func:`lowfi.minimize` (journal, resume, executors), with any lowfi optimizer:
regularized evolution, REINFORCE, SMAC, BOHB, Hyperband, TPE, random search...
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from lowfi.benchmarks.base import Benchmark
from lowfi.core.trial import Result
from lowfi.nas.nasbench101.encodings import config_space, decode
from lowfi.nas.nasbench101.tabular import NASBench101Benchmark, NASBench101Table


class DigitsCells(Benchmark):
    """Train NAS-Bench-101 cells for real on digits; budget = epochs (4..36 by default).

    Loss = validation error of one training run (1,000 train / 397 validation images), cost =
    its training CPU seconds; ``info`` keeps the test error (400 images), the parameter count
    and the cell (pruned matrix, ops, hash). Invalid cells give error 1 at cost 0, as in the
    paper's code. The network and training are those of the mini tables
    (:data:`lowfi.nas.nasbench101.build_mini.DEFAULTS`), so a cell's result here is one more
    repeat of its table entry (the same seed gives the same numbers).

    Parameters
    ----------
    encoding
        ``"A"``, ``"B"`` or ``"C"`` (the paper's ConfigSpace encodings).
    max_vertices
        Vertex limit of the cell space, 3..7 (default 5; 7 is the full NAS-Bench-101 space).
    min_budget, max_budget
        Epoch range (default 4 and 36).
    seed
        Training seed when ``evaluate`` gets none (default 0).
    """

    def __init__(self, encoding: str = "A", max_vertices: int = 5, min_budget: float = 4,
                 max_budget: float = 36, eta: float = 3, seed: int = 0):
        from lowfi.nas._torch import require_torch

        require_torch("training NAS-Bench-101 cells on digits (data='train')")
        if isinstance(max_vertices, bool) or not isinstance(max_vertices, int) \
                or not 3 <= max_vertices <= 7:
            raise ValueError(f"max_vertices: got {max_vertices!r}; allowed are integers 3..7")
        if not (isinstance(min_budget, int | float) and isinstance(max_budget, int | float)
                and 1 <= min_budget <= max_budget):
            raise ValueError(f"min_budget, max_budget: got {min_budget!r}, {max_budget!r}; "
                             "allowed are epochs with 1 <= min_budget <= max_budget")
        self.encoding = str(encoding).upper()
        self.max_vertices = max_vertices
        self.space = config_space(self.encoding, max_vertices, 9)
        self.min_budget, self.max_budget, self.eta = float(min_budget), float(max_budget), eta
        self.seed = int(seed)
        self.name = f"nasbench101-digits-{max_vertices}v-{self.encoding.lower()}"
        self._data: dict | None = None

    def __getstate__(self) -> dict[str, Any]:  # workers load the data themselves
        return {**self.__dict__, "_data": None}

    def spec(self, config: dict[str, Any]):
        """The cell ``config`` encodes (None when invalid)."""
        return decode(config, self.encoding, self.max_vertices, 9)

    def evaluate(self, config: dict[str, Any], budget: float, seed: int | None = None) -> Result:
        from lowfi.nas.nasbench101.build_mini import load_digits_split, train_cell

        spec = self.spec(config)
        epochs = int(round(float(budget)))
        if spec is None:
            return Result(loss=1.0, cost=0.0, info={"invalid": True, "epochs": epochs})
        if self._data is None:
            self._data = load_digits_split(0)
        r = train_cell(spec, epochs, self.seed if seed is None else int(seed), self._data)
        return Result(loss=1.0 - r["validation_accuracy"], cost=r["training_time"],
                      info={"epochs": epochs, "test_error": 1.0 - r["test_accuracy"],
                            "trainable_parameters": r["trainable_parameters"],
                            "hash": spec.hash(), "matrix": spec.matrix.tolist(),
                            "ops": list(spec.ops)})


def digits_cells(**kwargs: Any) -> DigitsCells:
    """Registry factory of :class:`DigitsCells` (``nasbench101-digits``)."""
    return DigitsCells(**kwargs)


class _PerTrialRepeats:
    """The table as an objective whose drawn repeat depends only on ``(seed, trial id)``: a run
    resumed from its journal draws the same repeats as one never stopped (a generator of the
    benchmark would start again from its seed)."""

    def __init__(self, bench: NASBench101Benchmark, seed: int):
        self.bench, self.seed = bench, int(seed)

    def __call__(self, trial: Any) -> Any:
        rng = np.random.default_rng([self.seed, int(trial.id)])
        return self.bench.evaluate(dict(trial.config), trial.budget, seed=rng)


def search(
    data: str | os.PathLike | NASBench101Table = "mini",
    optimizer: str = "re",
    encoding: str = "A",
    max_evaluations: int | None = 100,
    total_budget: float | None = None,
    seed: int = 0,
    storage: str | os.PathLike | None = None,
    resume: bool = False,
    n_workers: int = 1,
    max_vertices: int = 5,
    progress: bool = False,
) -> dict[str, Any]:
    """Search the cell space with ``optimizer``; return a summary of the best cell found.

    Parameters
    ----------
    data
        ``"mini"``, ``"mini5"``, a table file (see :meth:`NASBench101Table.from_path`), a
        table, or ``"train"`` for real training on digits (:class:`DigitsCells`).
    optimizer
        Any name of :func:`lowfi.optimizers.get` (``"re"``, ``"reinforce"``, ``"smac"``,
        ``"bohb"``, ``"hyperband"``, ``"tpe"``, ``"random"``...).
    max_evaluations, total_budget
        Stop after this many evaluations / this many epochs in total (either or both).
    storage, resume
        SQLite journal of the run (resumable), as in :func:`lowfi.minimize`.
    max_vertices
        Cell-space vertex limit for ``data="train"`` (tables bring their own).

    Returns
    -------
    dict
        ``best`` (cell matrix, ops, hash, validation error found; with a table also its mean
        validation and test error and the test regret), ``evaluations``, ``epochs`` (sum of
        budgets), ``cost`` (sum of recorded training time), ``stop_reason`` and the
        ``result`` (:class:`lowfi.run.loop.RunResult`).
    """
    import lowfi

    if max_evaluations is None and total_budget is None:
        raise ValueError("max_evaluations, total_budget: got None and None; give at least one")
    if optimizer == "lemonade":  # it evolves network descriptions, not NAS-Bench-101 cells
        raise ValueError("optimizer: got 'lemonade'; it searches network descriptions "
                         "(lowfi.nas.Network), not NAS-Bench-101 cells; allowed are the "
                         "optimizers of configuration spaces (re, reinforce, smac, bohb, "
                         "hyperband, tpe, random, ...)")
    if isinstance(data, str) and data == "train":
        bench: Benchmark = DigitsCells(encoding, max_vertices=max_vertices, seed=seed)
    else:
        bench = NASBench101Benchmark(data, encoding, seed=seed)
    objective: Any = bench
    if isinstance(bench, NASBench101Benchmark):  # the repeat of each trial from (seed, trial id)
        objective = _PerTrialRepeats(bench, seed)
    res = lowfi.minimize(objective, bench.space, optimizer, min_budget=bench.min_budget,
                         max_budget=bench.max_budget, eta=getattr(bench, "eta", 3),
                         n_workers=n_workers, storage=storage,
                         resume=resume, max_evaluations=max_evaluations,
                         total_budget=total_budget, seed=seed, progress=progress)
    df = res.trials
    out: dict[str, Any] = {
        "optimizer": optimizer, "benchmark": bench.name, "evaluations": int(len(df)),
        "epochs": float(df["budget"].sum()) if len(df) else 0.0,
        "cost": float(np.nansum(df["cost"])) if len(df) else 0.0,
        "stop_reason": res.stop_reason, "result": res, "best": None,
    }
    if res.best_config is None:
        return out
    spec = decode(res.best_config, bench.encoding,
                  getattr(bench, "vertices", getattr(bench, "max_vertices", 7)), 9)
    best: dict[str, Any] = {"validation_error": float(res.best_loss)}
    if spec is not None:
        best.update(matrix=spec.matrix.tolist(), ops=list(spec.ops), hash=spec.hash())
    if isinstance(bench, NASBench101Benchmark) and spec is not None:
        t = bench.table
        best["mean_validation_error"] = 1.0 - float(t.mean("validation_accuracy")[t._row(spec)])
        best["mean_test_error"] = float(t.mean_test_error(spec))
        best["test_regret"] = best["mean_test_error"] - float(bench.y_star_test)
    else:
        rows = df[df["budget"] == df["budget"].max()]
        row = rows.loc[rows["loss"].idxmin()]
        info = row.get("info") or {}
        if "test_error" in info:
            best["test_error"] = float(info["test_error"])
        if "trainable_parameters" in info:
            best["trainable_parameters"] = int(info["trainable_parameters"])
    out["best"] = best
    return out
