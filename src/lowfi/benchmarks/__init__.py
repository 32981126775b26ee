"""Benchmark problems: objects with ``space``, ``min_budget``, ``max_budget``,
``evaluate(config, budget, seed=None) -> Result`` and ``optimum``.

``lowfi.benchmarks.get(name)`` builds one by registered name; ``names()`` lists them.
"""

from lowfi.benchmarks.base import REGISTRY, Benchmark, get, names, register

__all__ = ["Benchmark", "REGISTRY", "get", "names", "register"]
