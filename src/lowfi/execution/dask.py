"""The Dask distributed executor.

With no address it starts a ``distributed.LocalCluster`` of ``n_workers`` single-threaded
processes; given a scheduler address or a ``distributed.Client`` it uses that cluster (so a
run scales out on SLURM or Kubernetes through dask-jobqueue or dask-kubernetes unchanged).
A new trial is asked the moment any worker is free. If a worker dies mid-trial, Dask's
scheduler runs the task again on another worker (up to ``distributed.scheduler.allowed-failures``
times); a trial that exhausts them becomes a failed result, never a lost one.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from lowfi.core.trial import Result, Trial
from lowfi.execution.base import Executor, Finished, check_workers, evaluate


def _run(objective: Callable, trial: Trial) -> Finished:
    return evaluate(objective, trial)


class _DaskState:
    """Reads what the run loop published in a named ``distributed.Variable``."""

    def __init__(self, name: str):
        self.name = name

    def __call__(self) -> dict | None:
        from distributed import Variable

        try:
            return Variable(self.name).get(timeout=0.5)
        except Exception:  # noqa: BLE001 - nothing published yet, or the scheduler is busy
            return None


class _DaskChannel:
    """Sends reported curve points to the run loop through a named ``distributed.Queue``."""

    def __init__(self, name: str):
        self.name = name
        self._queue = None

    def __getstate__(self) -> dict:
        return {"name": self.name}

    def __setstate__(self, state: dict) -> None:
        self.name, self._queue = state["name"], None

    def __call__(self, trial_id: int, points: list) -> None:
        from distributed import Queue

        try:
            if self._queue is None:
                self._queue = Queue(self.name)
            self._queue.put((trial_id, [list(p) for p in points]))
        except Exception:  # noqa: BLE001 - a lost progress report must never fail the trial
            pass


class DaskExecutor(Executor):
    """Run trials on a Dask cluster.

    Parameters
    ----------
    n_workers
        Worker processes for the LocalCluster started when ``address`` is None; for an existing
        cluster, how many trials run at once (default: the cluster's worker threads).
    address
        None, a scheduler address (``"tcp://host:8786"``) or a ``distributed.Client``.
    prefetch
        Trials queued on the cluster beyond one per worker, so a worker that finishes starts
        its next trial without waiting for the round trip through this process (default
        0, asking only when a worker is free; see benchmarks/asha_utilization.py).
    """

    name = "dask"

    def __init__(self, n_workers: int | None = 2, address: Any = None, prefetch: int | None = None,
                 **cluster_kwargs: Any):
        try:
            import distributed  # noqa: F401
        except ImportError as exc:  # pragma: no cover - dask is a core dependency
            raise ImportError("the dask executor needs `pip install dask[distributed]`") from exc
        self.n_workers = check_workers(n_workers) if n_workers is not None else None
        self.address = address
        if prefetch is not None and (not isinstance(prefetch, int) or prefetch < 0):
            raise ValueError(f"prefetch: got {prefetch!r}; allowed are None or an int >= 0")
        self.prefetch = prefetch
        self.cluster_kwargs = cluster_kwargs
        self._own_client = False
        self._own_cluster = None
        self._futures: dict[Any, Trial] = {}
        self._curves = None
        self._run_key = uuid.uuid4().hex[:8]

    def start(self, objective: Callable) -> None:
        from distributed import Client, LocalCluster

        super().start(objective)
        if isinstance(self.address, Client):
            self.client = self.address
        elif self.address is None:
            kw = dict(n_workers=self.n_workers or 2, threads_per_worker=1, processes=True,
                      dashboard_address=None)
            kw.update(self.cluster_kwargs)
            self._own_cluster = LocalCluster(**kw)
            self.client = Client(self._own_cluster)
            self._own_client = True
            self.client.wait_for_workers(kw["n_workers"], timeout=120)
        else:
            self.client = Client(self.address)
            self._own_client = True
        if self.n_workers is None:
            self.n_workers = max(sum(self.client.nthreads().values()), 1)
        from distributed import Queue

        self._curve_name = f"lowfi-curves-{self._run_key}"
        self._curves = Queue(self._curve_name, client=self.client)
        self._state_name = f"lowfi-state-{self._run_key}"
        from distributed import as_completed

        self._completed = as_completed([], with_results=False)
        # sent with each task (not scattered: scattered data dies with the worker holding it)
        self._payload = objective
        self._attempts: dict[int, int] = {}

    def submit(self, trial: Trial) -> None:
        self._attempts[trial.id] = self._attempts.get(trial.id, 0) + 1
        trial._channel = _DaskChannel(self._curve_name)
        trial._state_source = _DaskState(self._state_name)
        fut = self.client.submit(_run, self._payload, trial, pure=False,
                                 key=f"lowfi-{self._run_key}-trial-{trial.id}-{uuid.uuid4().hex[:6]}")
        self._futures[fut] = trial
        self._completed.add(fut)

    def wait(self, timeout: float | None = None) -> list[Finished]:
        if not self._futures:
            return []
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._completed.has_ready():  # as_completed collects finishes as they happen
            if deadline is not None and time.monotonic() >= deadline:
                return []
            time.sleep(0.002)
        out = []
        for fut in self._completed.next_batch(block=False):
            trial = self._futures.pop(fut, None)
            if trial is None:  # cancelled earlier
                continue
            try:
                out.append(fut.result())
            except Exception as exc:  # noqa: BLE001 - KilledWorker, unpicklable results...
                if "Cancelled" in type(exc).__name__ and self._attempts.get(trial.id, 0) < 3:
                    self.submit(trial)  # lost with a worker before it could be retried: run again
                    continue
                now = time.time()
                out.append(Finished(trial, Result.failed(f"dask: {type(exc).__name__}: {exc}"),
                                    now, now, "lost"))
        return out

    @property
    def running(self) -> int:
        return len(self._futures)

    @property
    def free(self) -> int:
        extra = self.prefetch or 0
        return max((self.n_workers or 1) + extra - self.running, 0)

    def cancel_all(self) -> list[Trial]:
        out = list(self._futures.values())
        if self._futures:
            self.client.cancel(list(self._futures))
        self._futures.clear()
        return out

    def publish(self, state: dict) -> None:
        from distributed import Variable

        Variable(self._state_name, client=self.client).set(dict(state))

    def drain(self) -> list[tuple[int, list]]:
        try:
            if self._curves is None or self._curves.qsize() == 0:
                return []
            return [tuple(x) for x in self._curves.get(batch=True)]
        except Exception:  # noqa: BLE001 - progress reports are best effort
            return []

    def close(self) -> None:
        if getattr(self, "client", None) is not None and self._own_client:
            self.client.close()
        if self._own_cluster is not None:
            self._own_cluster.close()
        self.client = None
