"""Executors: inline, simulated (virtual clock), process pool, Dask distributed, Ray."""

from __future__ import annotations

import importlib.util
from typing import Any

from lowfi.execution.base import Executor, Finished, check_workers, evaluate, takes_trial
from lowfi.execution.inline import InlineExecutor
from lowfi.execution.simulated import SimulatedExecutor

EXECUTORS = ("inline", "simulated", "processes", "dask", "ray")


def make_executor(executor: Any, n_workers: int = 1, trial_timeout: float | None = None,
                  **options: Any) -> Executor:
    """Build an executor from a name, an address, a ``distributed.Client`` or an :class:`Executor`.

    Parameters
    ----------
    executor
        ``"inline"``, ``"simulated"``, ``"processes"``, ``"dask"``, ``"ray"``, a Dask scheduler
        address (``"tcp://host:8786"``), a Ray client address (``"ray://host:10001"``), a
        ``distributed.Client`` or an :class:`Executor` (returned as it is).
    n_workers
        Trials running at once (an int >= 1).
    trial_timeout
        Seconds a trial may run before it is ended and recorded as failed (processes, Dask and
        Ray executors; None: no limit).
    options
        Passed to the executor's constructor, e.g. ``max_attempts=`` (processes),
        ``dashboard_address=":8787"`` and ``lost_workers_timeout=`` (Dask, Ray).
    """
    from lowfi.execution._worker import check_trial_timeout

    if isinstance(executor, Executor):
        if trial_timeout is not None or options:
            raise ValueError("trial_timeout and executor options apply to executors built from a "
                             f"name or address, not to the ready-made {type(executor).__name__}; "
                             "pass them to its constructor")
        return executor
    trial_timeout = check_trial_timeout(trial_timeout)
    if n_workers is not None:
        check_workers(n_workers)
    if executor in ("inline", "simulated"):
        if trial_timeout is not None:
            raise ValueError(f"trial_timeout: got {trial_timeout!r} with executor={executor!r}; "
                             "a trial running in this process cannot be ended from outside: use "
                             "executor='processes', 'dask' or 'ray' for a per-trial timeout")
        if options:
            raise TypeError(f"executor={executor!r} takes no options; got "
                            f"{', '.join(sorted(options))}")
        return InlineExecutor() if executor == "inline" else SimulatedExecutor(n_workers)
    if trial_timeout is not None:
        options["trial_timeout"] = trial_timeout
    if isinstance(executor, str) and (executor == "ray" or executor.startswith("ray://")) \
            and importlib.util.find_spec("ray") is None:  # said before anything is written
        raise ImportError(f"executor={executor!r} needs Ray: pip install 'lowfi[ray]'")
    if executor == "processes":
        from lowfi.execution.processes import ProcessExecutor

        return ProcessExecutor(n_workers, **options)
    if executor == "dask":
        from lowfi.execution.dask import DaskExecutor

        return DaskExecutor(n_workers, **options)
    if executor == "ray":
        from lowfi.execution.ray import RayExecutor

        return RayExecutor(n_workers, **options)
    if isinstance(executor, str) and executor.startswith("ray://"):
        from lowfi.execution.ray import RayExecutor

        return RayExecutor(n_workers, address=executor, **options)
    if type(executor).__name__ == "Client" and type(executor).__module__.startswith("distributed"):
        from lowfi.execution.dask import DaskExecutor

        return DaskExecutor(None if n_workers is None else n_workers, address=executor, **options)
    if isinstance(executor, str) and "://" in executor:
        from lowfi.execution.dask import DaskExecutor

        return DaskExecutor(n_workers, address=executor, **options)
    raise ValueError(
        f"executor: got {executor!r}; allowed are {', '.join(map(repr, EXECUTORS))}, a Dask "
        "scheduler address ('tcp://host:port'), a Ray client address ('ray://host:port'), a "
        "distributed.Client or a lowfi Executor"
    )


__all__ = ["EXECUTORS", "Executor", "Finished", "InlineExecutor", "SimulatedExecutor",
           "evaluate", "make_executor", "takes_trial"]
