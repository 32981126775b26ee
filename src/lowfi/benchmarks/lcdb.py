"""LCDB 1.0: real training-set-size learning curves as a tabular multi-fidelity benchmark.

LCDB (Mohr, Viering, Loog & van Rijn 2022, "LCDB 1.0: An Extensive Learning Curves Database
for Classification Tasks") holds the accuracy of 20 scikit-learn classifiers (default
settings) trained on growing subsets of 248 OpenML datasets, on an anchor grid of training
sizes 16, 23, 32, 45, ... (about x sqrt(2)) up to the full training set, for 5 outer x 25
inner seeds. Here the configuration is the learner, the budget the training-set size.

Data: ``database-accuracy.csv.gz`` (or ``database-accuracy.csv``, as shipped by
``pip install lcdb==0.1.0`` in ``lcdb/``) is looked up in the ``data_path`` argument (a
folder or the file itself), else the ``LOWFI_LCDB`` environment variable (the same one
:func:`lowfi.curves.load_lcdb_curves` reads; ``LOWFI_LCDB_DATA`` is accepted too); in a
source checkout of lowfi also ``../shared/data/lcdb`` beside the checkout.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import numpy as np

from lowfi.benchmarks._data import checkout_data
from lowfi.benchmarks.base import Benchmark
from lowfi.core.trial import Result

ENV = "LOWFI_LCDB"
ENV_ALIAS = "LOWFI_LCDB_DATA"
DEFAULT_PATHS = checkout_data("lcdb")
FILES = ("database-accuracy.csv.gz", "database-accuracy.csv")
_COLS = ["openmlid", "learner", "size_train", "traintime", "score_valid", "score_test"]


def data_file(data_path: str | os.PathLike | None = None) -> Path:
    """The LCDB accuracy table (argument, then ``$LOWFI_LCDB`` or ``$LOWFI_LCDB_DATA``; in a
    source checkout of lowfi also ``../shared/data/lcdb``)."""

    def find(p: Path) -> Path | None:
        if p.is_file():
            return p
        for f in FILES:
            if (p / f).is_file():
                return p / f
        return None

    hint = ("the LCDB 1.0 accuracy table database-accuracy.csv[.gz] (from `pip install "
            "lcdb==0.1.0`, file lcdb/database-accuracy.csv, or https://github.com/fmohr/lcdb)")
    for label, given in (("data_path", data_path), (ENV, os.environ.get(ENV)),
                         (ENV_ALIAS, os.environ.get(ENV_ALIAS))):
        if given is not None and given != "":
            found = find(Path(given))
            if found is None:
                raise FileNotFoundError(f"{label}: {str(given)!r} holds no {' or '.join(FILES)}; "
                                        f"expected {hint}")
            return found
    for cand in DEFAULT_PATHS:
        found = find(Path(cand))
        if found is not None:
            return found
    raise FileNotFoundError(f"LCDB data not found: pass data_path=..., or set the environment "
                            f"variable {ENV} to {hint}")


@functools.lru_cache(maxsize=16)
def _load(path: str, openmlid: int) -> tuple[Any, tuple[int, ...]]:
    """Rows of one dataset, aggregated over seeds per (learner, size_train); also all ids.

    Reads the table in chunks with only the needed columns, so memory stays at one chunk.
    """
    import pandas as pd

    parts, ids = [], set()
    reader = pd.read_csv(path, usecols=_COLS, chunksize=400_000,
                         dtype={"openmlid": np.int64, "learner": "category"})
    for chunk in reader:
        ids.update(np.unique(chunk["openmlid"].to_numpy()).tolist())
        sel = chunk[chunk["openmlid"].to_numpy() == openmlid]
        if len(sel):
            parts.append(sel.assign(learner=sel["learner"].astype(str)))
    if not parts:
        return None, tuple(sorted(ids))
    df = pd.concat(parts, ignore_index=True)
    agg = (df.groupby(["learner", "size_train"], sort=True)
             .agg(score_valid=("score_valid", "mean"), score_test=("score_test", "mean"),
                  traintime=("traintime", "mean"), n=("score_valid", "size"))
             .reset_index())
    return agg, tuple(sorted(ids))


class LCDB(Benchmark):
    """LCDB 1.0 learning curves of one OpenML dataset (Mohr et al. 2022) as a tabular
    multi-fidelity problem: choose the learner; the budget is the training-set size.

    Parameters
    ----------
    openmlid
        OpenML dataset id (e.g. ``3`` = kr-vs-kp); any id present in the table.
    data_path
        Folder holding ``database-accuracy.csv[.gz]`` or the file itself (see the module
        docstring for the fallbacks).
    eta
        Reduction factor suggested to multi-fidelity optimizers.

    Attributes
    ----------
    learners
        The learners with curves on this dataset (the choices of the ``learner`` parameter).
    anchors
        The training-set sizes of the dataset's grid; ``min_budget`` / ``max_budget`` are the
        first and last.

    Notes
    -----
    ``evaluate(config, budget)`` looks up the largest anchor ``a <= budget`` and returns
    loss = 1 - mean ``score_valid`` (accuracy on the validation split) over all seeds at
    ``a``, cost = mean ``traintime`` (s) there; deterministic (``seed`` unused), so
    ``tabular = True``. When a learner's curve stops before ``a`` (LCDB ran out of time or
    memory for it), its last anchor below ``a`` is used and ``info["anchor"]`` says which.
    A budget below the learner's first anchor gives a failed result. ``optimum`` = the best
    learner's loss at ``max_budget``; ``f_rand`` = the mean over learners there;
    ``test_loss`` = the loss at ``max_budget``.
    """

    tabular = True

    def __init__(self, openmlid: int | str, data_path: str | os.PathLike | None = None,
                 eta: float = 3):
        try:
            oid = int(openmlid)
        except (TypeError, ValueError):
            raise ValueError(f"openmlid: got {openmlid!r}; expected an integer OpenML dataset "
                             "id such as 3") from None
        path = data_file(data_path)
        agg, ids = _load(str(path), oid)
        if agg is None:
            shown = ", ".join(map(str, ids[:40])) + (", ..." if len(ids) > 40 else "")
            raise ValueError(f"openmlid: got {openmlid!r}; the LCDB table {path} has "
                             f"{len(ids)} datasets: {shown}")
        from ConfigSpace import CategoricalHyperparameter, ConfigurationSpace

        self.openmlid = oid
        self.name = f"lcdb-{oid}"
        self.learners = sorted(agg["learner"].unique().tolist())
        self.anchors = np.sort(agg["size_train"].unique()).astype(float)
        li = {name: i for i, name in enumerate(self.learners)}
        rows = agg["learner"].map(li).to_numpy()
        cols = np.searchsorted(self.anchors, agg["size_train"].to_numpy(float))
        shape = (len(self.learners), len(self.anchors))
        tables = {}
        for key in ("score_valid", "score_test", "traintime"):
            t = np.full(shape, np.nan)
            t[rows, cols] = agg[key].to_numpy(float)
            tables[key] = t
        # index of the learner's largest anchor <= each grid anchor (-1: none yet)
        have = ~np.isnan(tables["score_valid"])
        idx = np.where(have, np.arange(shape[1]), -1)
        self._last = np.maximum.accumulate(idx, axis=1)
        self._loss = 1.0 - tables["score_valid"]
        self._test = 1.0 - tables["score_test"]
        self._cost = np.maximum(tables["traintime"], 0.0)
        self.min_budget, self.max_budget = float(self.anchors[0]), float(self.anchors[-1])
        self.eta = float(eta)
        self.space = ConfigurationSpace(name=self.name)
        self.space.add(CategoricalHyperparameter("learner", self.learners))
        final = self._at(np.arange(shape[0]), shape[1] - 1)
        ok = ~np.isnan(final)
        self.optimum = float(np.min(final[ok]))
        self.f_rand = float(np.mean(final[ok]))
        self.best_learner = self.learners[int(np.flatnonzero(ok)[np.argmin(final[ok])])]

    def _at(self, learner: np.ndarray, col: int) -> np.ndarray:
        j = self._last[learner, col]
        out = np.full(len(learner), np.nan)
        m = j >= 0
        out[m] = self._loss[learner[m], j[m]]
        return out

    def _learner(self, config: Any) -> int:
        if not isinstance(config, dict):
            raise TypeError(f"config: got {type(config).__name__}; expected a dict with key "
                            "'learner'")
        name = config.get("learner")
        try:
            return self.learners.index(name)
        except ValueError:
            raise ValueError(f"config['learner']: got {name!r}; allowed on dataset "
                             f"{self.openmlid} are {', '.join(self.learners)}") from None

    def _column(self, budget: Any) -> int:
        if (isinstance(budget, bool) or not isinstance(budget, int | float | np.integer
                                                      | np.floating)
                or not (self.min_budget * (1 - 1e-9) <= budget <= self.max_budget * (1 + 1e-9))):
            raise ValueError(f"budget: got {budget!r}; allowed are training-set sizes in "
                             f"[{self.min_budget:g}, {self.max_budget:g}]")
        return int(np.searchsorted(self.anchors, float(budget) * (1 + 1e-9), side="right") - 1)

    def curve(self, config: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        """``(anchors, losses)`` of the learner's mean curve (only anchors it reached)."""
        i = self._learner(config)
        m = ~np.isnan(self._loss[i])
        return self.anchors[m], self._loss[i, m]

    def evaluate(self, config: dict[str, Any], budget: float, seed: Any = None) -> Result:
        """Seed-averaged validation error at the largest anchor ``<= budget``."""
        i, col = self._learner(config), self._column(budget)
        j = int(self._last[i, col])
        if j < 0:
            return Result.failed(f"learner {self.learners[i]!r} has no LCDB anchor <= "
                                 f"{budget!r} on dataset {self.openmlid}")
        return Result(loss=float(self._loss[i, j]), cost=float(self._cost[i, j]),
                      info={"anchor": int(self.anchors[j]),
                            "test_error": float(self._test[i, j])})

    def test_loss(self, config: dict[str, Any]) -> float:
        i = self._learner(config)
        return float(self._at(np.array([i]), len(self.anchors) - 1)[0])


def lcdb(openmlid: int | str, data_path: str | os.PathLike | None = None,
         **kwargs: Any) -> LCDB:
    """The LCDB benchmark of OpenML dataset ``openmlid`` (see :class:`LCDB`)."""
    return LCDB(openmlid, data_path=data_path, **kwargs)
