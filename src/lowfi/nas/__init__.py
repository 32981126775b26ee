"""Neural architecture search: the NAS-Bench-101 cell space and tools.

Importing :mod:`lowfi.nas` imports nothing heavy (no torch, no ConfigSpace); every name loads
on first access. ``Network`` (:mod:`lowfi.nas.network`),
``morphisms`` (:mod:`lowfi.nas.morphisms`), ``build_network`` and ``NASBench101Network``
(:mod:`lowfi.nas.nasbench101.builder`) are loaded on first access. DARTS lives in
:mod:`lowfi.nas.darts` (needs torch); ``compare_nas_hpo`` (NAS then HPO against HPO around NAS at
equal compute, :mod:`lowfi.nas.darts.nas_hpo`) is loaded from there on first access.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lowfi.nas.nasbench101 import (
        OPS,
        Enumeration,
        ModelSpec,
        NASBench101Benchmark,
        NASBench101Table,
        OutOfDomainError,
        config_space,
        count_cells,
        decode,
        encode,
        enumerate_cells,
        mini_benchmark,
        mutate_spec,
        random_spec,
        regret_curve,
    )

__all__ = [
    "OPS", "Enumeration", "ModelSpec", "NASBench101Benchmark", "NASBench101Network",
    "NASBench101Table", "Network", "OutOfDomainError", "build_network", "compare_nas_hpo",
    "config_space", "count_cells", "decode", "encode", "enumerate_cells", "mini_benchmark",
    "morphisms", "mutate_spec", "random_spec", "regret_curve",
]

_LAZY = {
    "OPS": ("lowfi.nas.nasbench101", "OPS"),
    "Enumeration": ("lowfi.nas.nasbench101", "Enumeration"),
    "ModelSpec": ("lowfi.nas.nasbench101", "ModelSpec"),
    "NASBench101Benchmark": ("lowfi.nas.nasbench101", "NASBench101Benchmark"),
    "NASBench101Table": ("lowfi.nas.nasbench101", "NASBench101Table"),
    "OutOfDomainError": ("lowfi.nas.nasbench101", "OutOfDomainError"),
    "config_space": ("lowfi.nas.nasbench101", "config_space"),
    "count_cells": ("lowfi.nas.nasbench101", "count_cells"),
    "decode": ("lowfi.nas.nasbench101", "decode"),
    "encode": ("lowfi.nas.nasbench101", "encode"),
    "enumerate_cells": ("lowfi.nas.nasbench101", "enumerate_cells"),
    "mini_benchmark": ("lowfi.nas.nasbench101", "mini_benchmark"),
    "mutate_spec": ("lowfi.nas.nasbench101", "mutate_spec"),
    "random_spec": ("lowfi.nas.nasbench101", "random_spec"),
    "regret_curve": ("lowfi.nas.nasbench101", "regret_curve"),
    "Network": ("lowfi.nas.network", "Network"),
    "morphisms": ("lowfi.nas.morphisms", None),
    "build_network": ("lowfi.nas.nasbench101.builder", "build_network"),
    "NASBench101Network": ("lowfi.nas.nasbench101.builder", "Network"),
    "compare_nas_hpo": ("lowfi.nas.darts.nas_hpo", "compare_nas_hpo"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name]
        mod = importlib.import_module(module)
        return mod if attr is None else getattr(mod, attr)
    raise AttributeError(f"module 'lowfi.nas' has no attribute {name!r}")
