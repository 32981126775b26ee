"""Executors: inline, simulated (virtual clock), process pool, Dask distributed, Ray."""

from __future__ import annotations

from typing import Any

from lowfi.execution.base import Executor, Finished, evaluate, takes_trial
from lowfi.execution.inline import InlineExecutor
from lowfi.execution.simulated import SimulatedExecutor

EXECUTORS = ("inline", "simulated", "processes", "dask", "ray")


def make_executor(executor: Any, n_workers: int = 1) -> Executor:
    """Build an executor from a name, a ``distributed.Client`` or an :class:`Executor`."""
    if isinstance(executor, Executor):
        return executor
    if executor == "inline":
        return InlineExecutor()
    if executor == "simulated":
        return SimulatedExecutor(n_workers)
    if executor == "processes":
        from lowfi.execution.processes import ProcessExecutor

        return ProcessExecutor(n_workers)
    if executor == "dask":
        from lowfi.execution.dask import DaskExecutor

        return DaskExecutor(n_workers)
    if executor == "ray":
        from lowfi.execution.ray import RayExecutor

        return RayExecutor(n_workers)
    if isinstance(executor, str) and executor.startswith("ray://"):
        from lowfi.execution.ray import RayExecutor

        return RayExecutor(n_workers, address=executor)
    if type(executor).__name__ == "Client" and type(executor).__module__.startswith("distributed"):
        from lowfi.execution.dask import DaskExecutor

        return DaskExecutor(None if n_workers is None else n_workers, address=executor)
    if isinstance(executor, str) and "://" in executor:
        from lowfi.execution.dask import DaskExecutor

        return DaskExecutor(n_workers, address=executor)
    raise ValueError(
        f"executor: got {executor!r}; allowed are {', '.join(map(repr, EXECUTORS))}, a Dask "
        "scheduler address ('tcp://host:port'), a Ray client address ('ray://host:port'), a "
        "distributed.Client or a lowfi Executor"
    )


__all__ = ["EXECUTORS", "Executor", "Finished", "InlineExecutor", "SimulatedExecutor",
           "evaluate", "make_executor", "takes_trial"]
