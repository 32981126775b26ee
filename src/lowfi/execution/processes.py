"""A process-pool executor (``concurrent.futures`` with cloudpickled objectives).

If a worker process dies (segfault, out of memory, SIGKILL), the pool is rebuilt and the
trials that were running are submitted again; a trial that kills its worker twice becomes a
failed result. Finished results are never lost.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp
import time
from collections.abc import Callable
from typing import Any

import cloudpickle

from lowfi.core.trial import Result, Trial
from lowfi.execution.base import (
    Executor,
    Finished,
    MappingSource,
    QueueChannel,
    check_workers,
    drain_queue,
    evaluate,
    worker_name,
)

_OBJECTIVE: Any = None


def _init_worker(payload: bytes) -> None:
    global _OBJECTIVE
    _OBJECTIVE = cloudpickle.loads(payload)


def _run(trial: Trial) -> Finished:
    return evaluate(_OBJECTIVE, trial)


class ProcessExecutor(Executor):
    """``n_workers`` local processes (``spawn`` start method: safe with threads)."""

    name = "processes"

    def __init__(self, n_workers: int = 2, max_attempts: int = 2, mp_context: str = "spawn"):
        self.n_workers = check_workers(n_workers)
        self.max_attempts = max_attempts
        self.mp_context = mp_context
        self._pool: cf.ProcessPoolExecutor | None = None
        self._futures: dict[cf.Future, Trial] = {}
        self._attempts: dict[int, int] = {}

    def start(self, objective: Callable) -> None:
        super().start(objective)
        self._payload = cloudpickle.dumps(objective)
        self._manager = mp.get_context(self.mp_context).Manager()
        self._curves = self._manager.Queue()
        self._shared = self._manager.dict()
        self._make_pool()

    def _make_pool(self) -> None:
        self._pool = cf.ProcessPoolExecutor(
            self.n_workers, mp_context=mp.get_context(self.mp_context),
            initializer=_init_worker, initargs=(self._payload,),
        )

    def submit(self, trial: Trial) -> None:
        self._attempts[trial.id] = self._attempts.get(trial.id, 0) + 1
        trial._channel = QueueChannel(self._curves)
        trial._state_source = MappingSource(self._shared)
        try:
            fut = self._pool.submit(_run, trial)
        except cf.process.BrokenProcessPool:
            self._rebuild()
            fut = self._pool.submit(_run, trial)
        self._futures[fut] = trial

    def _rebuild(self) -> None:
        try:
            self._pool.shutdown(wait=False, cancel_futures=True)
        except Exception:  # noqa: BLE001 - a broken pool may fail to shut down cleanly
            pass
        self._make_pool()

    def wait(self, timeout: float | None = None) -> list[Finished]:
        if not self._futures:
            return []
        done, _ = cf.wait(list(self._futures), timeout=timeout, return_when=cf.FIRST_COMPLETED)
        out: list[Finished] = []
        lost: list[Trial] = []
        for fut in done:
            trial = self._futures.pop(fut)
            try:
                out.append(fut.result())
            except cf.process.BrokenProcessPool:
                lost.append(trial)
            except Exception as exc:  # noqa: BLE001 - e.g. an unpicklable result
                now = time.time()
                out.append(Finished(trial, Result.failed(f"worker error: {exc!r}"), now, now, worker_name()))
        if lost:
            # every running future of a broken pool fails: resubmit all that had not finished
            for fut, trial in list(self._futures.items()):
                if fut.done() and fut.exception() is None:
                    out.append(fut.result())
                else:
                    lost.append(trial)
                del self._futures[fut]
            self._rebuild()
            for trial in lost:
                if self._attempts.get(trial.id, 0) >= self.max_attempts:
                    now = time.time()
                    out.append(Finished(trial, Result.failed(
                        f"worker process died {self._attempts[trial.id]} times running this trial"),
                        now, now, "lost"))
                else:
                    self.submit(trial)
        return out

    @property
    def running(self) -> int:
        return len(self._futures)

    def cancel_all(self) -> list[Trial]:
        out = list(self._futures.values())
        for fut in self._futures:
            fut.cancel()
        self._futures.clear()
        if out and self._pool is not None:
            # trials already running cannot be cancelled: end their processes, so a walltime
            # stop returns now instead of when they finish (they run again on resume)
            for proc in list(getattr(self._pool, "_processes", {}).values()):
                proc.terminate()
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
        return out

    def publish(self, state: dict) -> None:
        if getattr(self, "_shared", None) is not None:
            self._shared.update(state)

    def drain(self) -> list[tuple[int, list]]:
        return drain_queue(self._curves) if getattr(self, "_curves", None) is not None else []

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
        if getattr(self, "_manager", None) is not None:
            self._manager.shutdown()
            self._manager = self._curves = self._shared = None
