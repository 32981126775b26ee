"""NAS-Bench-101 (Ying et al., ICML 2019): cell space, enumeration, encodings, tables.

Nothing here imports torch; the network builder lives in
:mod:`lowfi.nas.nasbench101.builder` and is loaded on first use of
:func:`build_network` / :class:`NASBench101Network`.
"""

from __future__ import annotations

from typing import Any

from lowfi.nas.nasbench101.encodings import (
    ENCODINGS,
    OP_CHOICES,
    config_space,
    decode,
    encode,
    mutate_spec,
    random_spec,
)
from lowfi.nas.nasbench101.enumerate import Enumeration, count_cells, enumerate_cells
from lowfi.nas.nasbench101.spec import (
    CONV1X1,
    CONV3X3,
    INPUT,
    MAX_EDGES,
    MAX_VERTICES,
    MAXPOOL3X3,
    OPS,
    OUTPUT,
    ModelSpec,
    canonical_form,
)
from lowfi.nas.nasbench101.tabular import (
    NASBench101Benchmark,
    NASBench101Table,
    OutOfDomainError,
    mini_benchmark,
    regret_curve,
)

__all__ = [
    "CONV1X1", "CONV3X3", "ENCODINGS", "INPUT", "MAX_EDGES", "MAX_VERTICES", "MAXPOOL3X3",
    "OPS", "OP_CHOICES", "OUTPUT", "Enumeration", "ModelSpec", "NASBench101Benchmark",
    "NASBench101Network", "NASBench101Table", "OutOfDomainError", "build_network",
    "canonical_form", "config_space", "count_cells", "decode", "encode", "enumerate_cells",
    "mini_benchmark", "mutate_spec", "random_spec", "regret_curve",
]


def __getattr__(name: str) -> Any:
    if name in ("build_network", "NASBench101Network"):
        from lowfi.nas.nasbench101 import builder

        return builder.build_network if name == "build_network" else builder.Network
    raise AttributeError(f"module 'lowfi.nas.nasbench101' has no attribute {name!r}")
