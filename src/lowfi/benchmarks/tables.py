"""Tabular benchmarks from real recorded training runs.

NAS-Bench-201 (Dong & Yang 2020, "NAS-Bench-201: Extending the Scope of Reproducible Neural
Architecture Search"; NATS-Bench topology space, Dong et al. 2021): a cell with 4 nodes and 6
edges, each edge one of 5 operations, 15,625 architectures, trained on CIFAR-10, CIFAR-100 and
ImageNet16-120. Files (read-only, in the data folder given by ``data_path`` or ``LOWFI_DATA``):

- ``nats_bench_landscape/bca0282/nats_bench.csv``: test accuracy after the 12-epoch and the
  200-epoch schedules (apparently a single seed): the observed values at the two fidelities;
- ``nats_bench_landscape/3126803/nats_bench.csv``: 200-epoch test accuracy averaged over seeds:
  the noise-free value used for regret (``test_loss``), ``optimum`` and ``f_rand``;
- ``nas_landscapes/cifar10_avg.csv``: measured CIFAR-10 training time per epoch (seed average),
  the evaluation cost (epochs x seconds per epoch). Only CIFAR-10 times exist, so CIFAR-100
  and ImageNet16-120 use them as a cost proxy.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from lowfi.benchmarks._data import checkout_data
from lowfi.benchmarks.base import Benchmark
from lowfi.core.seeding import SeedLike
from lowfi.core.trial import Result

ENV = "LOWFI_DATA"
DEFAULT_ROOTS = checkout_data()
OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
#: edges in the order they appear in an architecture string |a~0|+|b~0|c~1|+|d~0|e~1|f~2|
EDGES = ("edge_0_1", "edge_0_2", "edge_1_2", "edge_0_3", "edge_1_3", "edge_2_3")
_DATASETS = {"cifar10": ("Cifar10", "CIFAR10"), "cifar100": ("Cifar100", "CIFAR100"),
             "imagenet16": ("ImageNet16", "ImageNet")}
FILES = {"two": "nats_bench_landscape/bca0282/nats_bench.csv",
         "avg": "nats_bench_landscape/3126803/nats_bench.csv",
         "time": "nas_landscapes/cifar10_avg.csv"}


def data_root(path: str | os.PathLike | None = None) -> Path:
    """The data folder: the argument, else ``$LOWFI_DATA`` (in a source checkout of lowfi also
    ``../shared/data`` beside the checkout)."""
    if path is not None or os.environ.get(ENV):
        p = Path(path if path is not None else os.environ[ENV])
        if not p.is_dir():
            raise FileNotFoundError(f"data_path: {str(p)!r} is not a folder (expected the folder "
                                    "holding nats_bench_landscape/ and nas_landscapes/)")
        return p
    for cand in DEFAULT_ROOTS:
        if Path(cand).is_dir():
            return Path(cand)
    raise FileNotFoundError(
        "NAS-Bench-201 tables not found: pass data_path=... (lowfi bench: set the environment "
        f"variable {ENV}) to the folder holding nats_bench_landscape/ and nas_landscapes/ "
        "(see the tabular-problems page of the documentation for the files)"
    )


def arch_string(config: dict[str, Any]) -> str:
    """NAS-Bench-201 architecture string of a config with the keys :data:`EDGES`."""
    a = [config[e] for e in EDGES]
    return f"|{a[0]}~0|+|{a[1]}~0|{a[2]}~1|+|{a[3]}~0|{a[4]}~1|{a[5]}~2|"


class NB201(Benchmark):
    """NAS-Bench-201 as a two-fidelity tabular benchmark: 12 or 200 training epochs.

    Parameters
    ----------
    dataset
        ``"cifar10"``, ``"cifar100"`` or ``"imagenet16"`` (ImageNet16-120).
    data_path
        Folder holding ``nats_bench_landscape/`` and ``nas_landscapes/`` (see
        :func:`data_root`).

    Notes
    -----
    Budgets below 200 get the 12-epoch schedule's result, 200 the 200-epoch one; ``eta`` is
    200/12 so that Hyperband-type schedulers use exactly the two recorded fidelities. Loss =
    1 - test accuracy / 100; cost = epochs x measured CIFAR-10 seconds per epoch of that
    architecture. Lookups are deterministic; the 200-epoch observation is a single-seed value
    while ``test_loss`` (used for regret) is the seed average.
    """

    tabular = True
    min_budget = 12.0
    max_budget = 200.0
    eta = 200.0 / 12.0

    def __init__(self, dataset: str = "cifar10", data_path: str | os.PathLike | None = None):
        if dataset not in _DATASETS:
            raise ValueError(f"dataset: got {dataset!r}; allowed are {', '.join(_DATASETS)}")
        import pandas as pd
        from ConfigSpace import Categorical, ConfigurationSpace

        root = data_root(data_path)
        paths = {k: root / v for k, v in FILES.items()}
        for p in paths.values():
            if not p.exists():
                raise FileNotFoundError(f"NAS-Bench-201 table missing: {p}")
        two_prefix, avg_prefix = _DATASETS[dataset]
        two = pd.read_csv(paths["two"], usecols=["ArchitectureString",
                                                 f"{two_prefix}TestAccuracy12Epochs",
                                                 f"{two_prefix}TestAccuracy200Epochs"])
        avg = pd.read_csv(paths["avg"], usecols=["ArchitectureString",
                                                 f"{avg_prefix}TestAccuracy200Epochs"])
        tim = pd.read_csv(paths["time"], usecols=["arch_str", "train-per-time"])
        t = (two.set_index("ArchitectureString")
             .join(avg.set_index("ArchitectureString"), how="inner")
             .join(tim.set_index("arch_str"), how="inner"))
        if len(t) != 15625:
            raise ValueError(f"NAS-Bench-201 tables under {root} join to {len(t)} architectures "
                             "instead of 15,625; are the files complete?")
        self.dataset = dataset
        self.name = f"nb201-{dataset}"
        self._index = {a: i for i, a in enumerate(t.index)}
        self._low = 1 - t[f"{two_prefix}TestAccuracy12Epochs"].to_numpy(float) / 100
        self._high = 1 - t[f"{two_prefix}TestAccuracy200Epochs"].to_numpy(float) / 100
        self._true = 1 - t[f"{avg_prefix}TestAccuracy200Epochs"].to_numpy(float) / 100
        self._epoch_s = t["train-per-time"].to_numpy(float)
        self.optimum = float(self._true.min())
        self.f_rand = float(self._true.mean())
        self.space = ConfigurationSpace(name=self.name,
                                        space=[Categorical(e, OPS) for e in EDGES])

    def __len__(self) -> int:
        return len(self._index)

    def _row(self, config: dict[str, Any]) -> int:
        try:
            return self._index[arch_string(config)]
        except KeyError as exc:
            raise ValueError(f"config: got {config!r}; needs keys {', '.join(EDGES)} with "
                             f"values in {', '.join(OPS)}") from exc

    def evaluate(self, config: dict[str, Any], budget: float, seed: SeedLike = None) -> Result:
        """Look up the 12-epoch (budget < 200) or 200-epoch result (``seed`` unused)."""
        if not isinstance(budget, int | float) or not (0 < budget <= 200):
            raise ValueError(f"budget: got {budget!r}; allowed are epochs in (0, 200]")
        i = self._row(config)
        epochs = 200 if budget >= 200 - 1e-9 else 12
        loss = self._high[i] if epochs == 200 else self._low[i]
        return Result(loss=float(loss), cost=float(epochs * self._epoch_s[i]),
                      info={"epochs": epochs})

    def test_loss(self, config: dict[str, Any]) -> float:
        """Seed-averaged 200-epoch test error."""
        return float(self._true[self._row(config)])

    def table(self) -> dict[str, np.ndarray]:
        """The arrays behind the benchmark (architecture order of the tables)."""
        return {"arch": np.array(list(self._index)), "loss12": self._low, "loss200": self._high,
                "test_loss": self._true, "seconds_per_epoch": self._epoch_s}


def nb201_cifar10(data_path: str | os.PathLike | None = None) -> NB201:
    """NAS-Bench-201 on CIFAR-10."""
    return NB201("cifar10", data_path)


def nb201_cifar100(data_path: str | os.PathLike | None = None) -> NB201:
    """NAS-Bench-201 on CIFAR-100."""
    return NB201("cifar100", data_path)


def nb201_imagenet16(data_path: str | os.PathLike | None = None) -> NB201:
    """NAS-Bench-201 on ImageNet16-120."""
    return NB201("imagenet16", data_path)
