"""The Dask distributed executor.

With no address it starts a ``distributed.LocalCluster`` of ``n_workers`` single-threaded
processes; given a scheduler address or a ``distributed.Client`` it uses that cluster (so a
run scales out on SLURM or Kubernetes through dask-jobqueue or dask-kubernetes unchanged).
A new trial is asked the moment any worker is free. If a worker dies mid-trial, Dask's
scheduler runs the task again on another worker (up to ``distributed.scheduler.allowed-failures``
times); a trial that exhausts them becomes a failed result, never a lost one. Results are
fetched the moment a trial finishes, so a worker that dies later does not take them along.

A run whose cluster has no worker for ``lost_workers_timeout`` seconds stops with
:class:`WorkersLost` (its running trials run again on resume) instead of waiting forever.
``trial_timeout`` ends a trial that runs too long: its task is cancelled, its worker process
restarted through its nanny, and the trial recorded as failed. ``dashboard_address`` (e.g.
``":8787"``) turns on the LocalCluster's dashboard (needs ``bokeh``); ``dashboard_link`` gives
its address.
"""

from __future__ import annotations

import logging
import sys
import time
import uuid
import warnings
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

from lowfi.core.trial import Result, Trial
from lowfi.execution._worker import (
    check_trial_timeout,
    guarded_evaluate,
    install_sigterm_handler,
    remove_sigterm_handler,
)
from lowfi.execution.base import Executor, Finished, check_workers

_STARTED = "__lowfi_started__"
#: seconds between two reads of the queue of reported curve points (trials send theirs in
#: batches every CURVE_FLUSH_SECONDS; a finished trial's result carries its whole curve)
_DRAIN_SECONDS = 0.5


class WorkersLost(RuntimeError):
    """The cluster had no worker for ``lost_workers_timeout`` seconds."""


def _run(objective: Callable, trial: Trial) -> Finished:
    started = getattr(trial.channel, "started", None)
    if started is not None:
        started(trial.id)
    return guarded_evaluate(objective, trial)


@contextmanager
def _quiet_distributed():
    """Keep distributed's shutdown chatter (killed workers, closed comms) out of the user's
    terminal while lowfi closes a cluster it started."""
    names = ["distributed"] + [n for n in logging.root.manager.loggerDict
                               if n.startswith("distributed.")]
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


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

    def __init__(self, name: str, timed: bool = False):
        self.name = name
        self.timed = timed
        self._queue = None

    def __getstate__(self) -> dict:
        return {"name": self.name, "timed": self.timed}

    def __setstate__(self, state: dict) -> None:
        self.name, self.timed, self._queue = state["name"], state.get("timed", False), None

    def _put(self, item: Any) -> None:
        from distributed import Queue

        if self._queue is None:
            self._queue = Queue(self.name)
        self._queue.put(item)

    def started(self, trial_id: int) -> None:
        """Tell the run loop when and where a trial began (for ``trial_timeout``)."""
        if not self.timed:
            return
        from distributed import get_worker

        try:
            self._put((_STARTED, trial_id, get_worker().address))
        except Exception:  # noqa: BLE001 - the trial is then timed from its submission
            pass

    def __call__(self, trial_id: int, points: list) -> None:
        try:
            self._put((trial_id, [list(p) for p in points]))
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
    trial_timeout
        Seconds a trial may run (from the moment a worker starts it); a longer one is ended
        (its task cancelled, its worker process restarted by its nanny) and recorded as failed.
    lost_workers_timeout
        Seconds the run waits while the cluster has no worker at all (default 60) before it
        stops with :class:`WorkersLost`; running trials stay unfinished and run again on resume.
    dashboard_address
        Address of the LocalCluster's dashboard, e.g. ``":8787"`` (default None: off; needs
        ``bokeh``). See :attr:`dashboard_link`.
    cluster_kwargs
        Passed to ``distributed.LocalCluster``.
    """

    name = "dask"

    def __init__(self, n_workers: int | None = 2, address: Any = None, prefetch: int | None = None,
                 trial_timeout: float | None = None, lost_workers_timeout: float = 60.0,
                 dashboard_address: str | None = None, **cluster_kwargs: Any):
        try:
            import distributed  # noqa: F401
        except ImportError as exc:  # pragma: no cover - dask is a core dependency
            raise ImportError("the dask executor needs `pip install dask[distributed]`") from exc
        self.n_workers = check_workers(n_workers) if n_workers is not None else None
        self.address = address
        if prefetch is not None and (not isinstance(prefetch, int) or prefetch < 0):
            raise ValueError(f"prefetch: got {prefetch!r}; allowed are None or an int >= 0")
        self.prefetch = prefetch
        self.trial_timeout = check_trial_timeout(trial_timeout)
        if isinstance(lost_workers_timeout, bool) or not isinstance(lost_workers_timeout, (int, float)) \
                or not 0 <= lost_workers_timeout < float("inf"):
            raise ValueError(f"lost_workers_timeout: got {lost_workers_timeout!r}; allowed is a "
                             "number of seconds >= 0")
        self.lost_workers_timeout = float(lost_workers_timeout)
        if dashboard_address is not None and not isinstance(dashboard_address, str):
            raise ValueError(f"dashboard_address: got {dashboard_address!r}; allowed are None "
                             "or an address like ':8787' or '127.0.0.1:8787'")
        self.dashboard_address = dashboard_address
        self._dashboard_link: str | None = None
        if cluster_kwargs:  # a typo would otherwise reach the worker processes and fail there
            import inspect

            from distributed import LocalCluster, Nanny, Worker

            known = set()
            for f in (LocalCluster.__init__, Nanny.__init__, Worker.__init__):
                known |= set(inspect.signature(f).parameters) - {"self", "kwargs"}
            bad = sorted(set(cluster_kwargs) - known)
            if bad:
                raise TypeError(f"{bad[0]}: not an option of the dask executor (n_workers, "
                                "address, prefetch, trial_timeout, lost_workers_timeout, "
                                "dashboard_address) nor of distributed.LocalCluster and its "
                                "workers")
        self.cluster_kwargs = cluster_kwargs
        self._started: dict[int, tuple[float, str | None]] = {}
        self._points: list[tuple] = []
        self._no_workers_since: float | None = None
        self._next_health = 0.0
        self._next_drain = 0.0
        self._sigterm = False
        self._own_client = False
        self._own_cluster = None
        self._futures: dict[Any, Trial] = {}
        self._restarts: list[Any] = []
        self._curves = None
        self._run_key = uuid.uuid4().hex[:8]

    def start(self, objective: Callable) -> None:
        from distributed import Client, LocalCluster

        super().start(objective)
        if isinstance(self.address, Client):
            self.client = self.address
        elif self.address is None:
            if self.dashboard_address is not None:
                try:
                    import bokeh  # noqa: F401
                except ImportError as exc:
                    raise ImportError(f"dashboard_address={self.dashboard_address!r}: the Dask "
                                      "dashboard needs bokeh: pip install 'bokeh>=3.1'") from exc
            # lowfi reports what happens to trials itself: only Dask's errors reach the terminal
            kw = dict(n_workers=self.n_workers or 2, threads_per_worker=1, processes=True,
                      dashboard_address=self.dashboard_address, silence_logs=logging.ERROR)
            kw.update(self.cluster_kwargs)
            try:
                self._own_cluster = LocalCluster(**kw)
            except Exception as exc:
                main = sys.modules.get("__main__")
                if "Nanny failed to start" in str(exc) and getattr(main, "__file__", None):
                    raise RuntimeError(
                        "executor: the Dask LocalCluster's workers could not start. Dask's "
                        "worker processes import the main script: if it calls lowfi.minimize "
                        "at import, put the call under `if __name__ == \"__main__\":`, or use "
                        "executor=\"processes\" (the default for several workers), which "
                        "does not import it") from exc
                raise
            self.client = Client(self._own_cluster)
            self._own_client = True
            self.client.wait_for_workers(kw["n_workers"], timeout=120)
            if kw["dashboard_address"] is not None:
                self._dashboard_link = self._own_cluster.dashboard_link
        else:
            self.client = Client(self.address)
            self._own_client = True
        if self._dashboard_link is None and self._own_cluster is None:
            try:
                if "dashboard" in (self.client.scheduler_info().get("services") or {}):
                    self._dashboard_link = self.client.dashboard_link
            except Exception:  # noqa: BLE001 - the link is informative only
                pass
        if self.n_workers is None:
            self.n_workers = max(sum(self.client.nthreads().values()), 1)
        from distributed import Queue

        self._curve_name = f"lowfi-curves-{self._run_key}"
        self._curves = Queue(self._curve_name, client=self.client)
        self._state_name = f"lowfi-state-{self._run_key}"
        from distributed import as_completed

        # results are fetched as soon as a trial finishes (a worker that dies later keeps none)
        self._completed = as_completed([], with_results=True, raise_errors=False)
        from distributed import Variable

        # something to read before the first publish (an empty Variable makes readers time out)
        Variable(self._state_name, client=self.client).set({})
        self._sigterm = install_sigterm_handler()
        # sent with each task (not scattered: scattered data dies with the worker holding it)
        self._payload = objective
        self._attempts: dict[int, int] = {}
        self._undelivered: dict[Any, float] = {}

    def submit(self, trial: Trial) -> None:
        self._attempts[trial.id] = self._attempts.get(trial.id, 0) + 1
        trial = trial.connected(channel=_DaskChannel(self._curve_name,
                                                     timed=self.trial_timeout is not None),
                                state_source=_DaskState(self._state_name))
        self._started.pop(trial.id, None)
        fut = self.client.submit(_run, self._payload, trial, pure=False,
                                 key=f"lowfi-{self._run_key}-trial-{trial.id}-{uuid.uuid4().hex[:6]}")
        self._futures[fut] = trial
        self._completed.add(fut)

    def wait(self, timeout: float | None = None) -> list[Finished]:
        if not self._futures:
            return []
        deadline = None if timeout is None else time.monotonic() + timeout
        out: list[Finished] = []
        next_poll = 0.0
        while not self._completed.has_ready():  # as_completed collects finishes as they happen
            now = time.monotonic()
            if self.trial_timeout is not None and now >= next_poll:
                self._poll()
                out.extend(self._expire())
                next_poll = now + 0.1
                if out:
                    return out
            if now >= self._next_health:
                self._check_workers(now)
                out.extend(self._undelivered_done(now))
                if out:
                    return out
            if deadline is not None and now >= deadline:
                return out
            time.sleep(0.002)
        self._no_workers_since = None
        for fut, value in self._completed.next_batch(block=False):
            self._finish(fut, value, out)
        return out

    def _finish(self, fut: Any, value: Any, out: list[Finished]) -> None:
        """Record what a done future gave: its result, a retry, or a failure."""
        trial = self._futures.pop(fut, None)
        self._undelivered.pop(fut, None)
        if trial is None:  # cancelled earlier, or handled already
            return
        if fut.status == "finished":
            self._started.pop(trial.id, None)
            out.append(value)
            fut.release()
            return
        exc = value[1] if isinstance(value, tuple) and len(value) == 3 else value
        if fut.status == "cancelled" and self._attempts.get(trial.id, 0) < 3:
            self.submit(trial)  # lost with a worker before it could be retried: run again
            return
        now = time.time()
        name = type(exc).__name__
        if name == "KilledWorker":
            why = (f"dask: the worker process running this trial died every time the "
                   f"scheduler ran it (allowed-failures={_allowed_failures()}; KilledWorker): "
                   f"{exc}")
        else:
            why = f"dask: {name}: {exc}"
        out.append(Finished(trial, Result.failed(why), now, now, "lost"))

    def _undelivered_done(self, now: float) -> list[Finished]:
        """Futures that are done but that ``as_completed`` never delivered: it fetches a result
        in the background, and when the worker holding it dies first (the task is then run
        again, possibly until KilledWorker) the failed fetch is dropped and the future never
        reaches its queue. A future seen done at two health checks in a row is taken here."""
        out: list[Finished] = []
        for fut in list(self._futures):
            if fut.status not in ("finished", "error", "cancelled", "lost"):
                self._undelivered.pop(fut, None)
                continue
            first = self._undelivered.setdefault(fut, now)
            if now - first < 1.5:
                continue
            if fut.status == "finished":
                try:
                    value = fut.result(timeout=10)
                except Exception as exc:  # noqa: BLE001 - lost again: a failure below
                    value = (type(exc), exc, None)
                    self._finish_failed(fut, exc, out)
                    continue
            else:
                try:
                    exc = fut.exception(timeout=5)
                except Exception as err:  # noqa: BLE001 - cancelled futures raise here
                    exc = err
                value = (type(exc), exc, None)
            self._finish(fut, value, out)
        return out

    def _finish_failed(self, fut: Any, exc: BaseException, out: list[Finished]) -> None:
        trial = self._futures.pop(fut, None)
        self._undelivered.pop(fut, None)
        if trial is not None:
            now = time.time()
            out.append(Finished(trial, Result.failed(
                f"dask: the result of this trial was lost with its worker "
                f"({type(exc).__name__}: {exc})"), now, now, "lost"))

    def _poll(self) -> None:
        """Move what running trials sent (curve points, start marks) out of the queue."""
        try:
            if self._curves is None or self._curves.qsize() == 0:
                return
            items = self._curves.get(batch=True)
        except Exception:  # noqa: BLE001 - progress reports are best effort
            return
        for x in items:
            if x[0] == _STARTED:
                self._started[x[1]] = (time.monotonic(), x[2])
            else:
                self._points.append(tuple(x))

    def _expire(self) -> list[Finished]:
        """End trials running longer than ``trial_timeout``; return them as failed."""
        now = time.monotonic()
        out = []
        alive: set | None = None
        for fut, trial in list(self._futures.items()):
            began, addr = self._started.get(trial.id, (None, None))
            if began is None or now - began < self.trial_timeout:
                continue
            if alive is None:
                try:
                    alive = set(self.client.nthreads())
                except Exception:  # noqa: BLE001 - scheduler unreachable: judge by the clock
                    alive = None
            if alive is not None and addr is not None and addr not in alive:
                # the worker it started on died (the scheduler retries the task elsewhere, or
                # reports KilledWorker): not a timeout; a retry sends a new start mark
                self._started.pop(trial.id, None)
                continue
            del self._futures[fut]
            self._started.pop(trial.id, None)
            self.client.cancel([fut])  # forgotten by the scheduler: never run again
            # restarted in the background: the driver goes on collecting and timing the other
            # trials meanwhile (a restart takes seconds)
            ended = self._restart_in_background(addr)
            end = time.time()
            msg = (f"trial_timeout: the trial ran longer than {self.trial_timeout:g} s and was "
                   "ended" + (" (its worker process is restarted)" if ended else
                              "; its worker is unknown, so the objective may go on running "
                              "there until it returns"))
            out.append(Finished(trial, Result.failed(msg), end - (now - began), end, addr or "timeout"))
        return out

    def _restart_in_background(self, addr: str | None) -> bool:
        """Ask the worker's nanny to restart it, on the client's event loop (no waiting)."""
        if addr is None:
            return False
        import asyncio

        try:
            fut = asyncio.run_coroutine_threadsafe(
                self.client._restart_workers([addr], timeout=60, raise_for_error=False),
                self.client.loop.asyncio_loop)
        except Exception:  # noqa: BLE001 - no event loop to run it on: restart here
            return self._restart_worker(addr)
        self._restarts.append(fut)
        return True

    def _restart_worker(self, addr: str | None) -> bool:
        if addr is None:
            return False
        try:
            with _quiet_distributed():
                self.client.restart_workers([addr], timeout=60, raise_for_error=True)
            return True
        except Exception:  # noqa: BLE001 - no nanny, or the worker is already gone
            return False

    def _check_workers(self, now: float) -> None:
        """Raise :class:`WorkersLost` once the cluster had no worker for lost_workers_timeout."""
        self._next_health = now + 1.0
        cluster = self._own_cluster
        if cluster is not None and len(getattr(cluster, "workers", {})) < (self.n_workers or 1):
            # Dask closes a nanny for good when its worker is down at the moment it looks
            # (lost-worker-timeout after a removal): with trials that keep killing their
            # worker, the cluster would shrink to none. The cluster this executor owns is
            # brought back to its size.
            try:
                cluster.scale(self.n_workers or 1)
            except Exception:  # noqa: BLE001 - the check below reports a cluster that is gone
                pass
        try:
            n = len(self.client.nthreads())
        except Exception:  # noqa: BLE001 - the scheduler itself is unreachable: no workers either
            n = 0
        if n:
            self._no_workers_since = None
            return
        if self._no_workers_since is None:
            self._no_workers_since = now
        if now - self._no_workers_since >= self.lost_workers_timeout:
            raise WorkersLost(
                f"dask: the cluster has had no worker for {now - self._no_workers_since:.0f} s "
                f"(lost_workers_timeout={self.lost_workers_timeout:g}); the run stops here. "
                f"{len(self._futures)} running trials stay unfinished in the journal and run "
                "again when the run is resumed")

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
            try:
                self.client.cancel(list(self._futures))
            except Exception:  # noqa: BLE001 - the scheduler is gone: nothing left to cancel
                pass
        self._futures.clear()
        return out

    def publish(self, state: dict) -> None:
        from distributed import Variable

        Variable(self._state_name, client=self.client).set(dict(state))

    def drain(self) -> list[tuple[int, list]]:
        now = time.monotonic()
        if now >= self._next_drain:  # a queue read is a round trip to the scheduler (tens of
            self._next_drain = now + _DRAIN_SECONDS  # ms on a busy machine): not per result
            self._poll()
        out, self._points = self._points, []
        return out

    @property
    def dashboard_link(self) -> str | None:
        """The URL of the cluster's dashboard, if one runs (None otherwise)."""
        return self._dashboard_link

    def close(self) -> None:
        for fut in getattr(self, "_restarts", []):  # restarts in flight end before the cluster
            try:
                with _quiet_distributed():
                    fut.result(timeout=60)
            except Exception:  # noqa: BLE001 - a worker that is gone needs no restart
                pass
        try:
            with _quiet_distributed(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if getattr(self, "client", None) is not None and self._own_client:
                    self.client.close()
                if self._own_cluster is not None:
                    self._own_cluster.close()
                    self._own_cluster = None
        finally:
            self.client = None
            if self._sigterm:
                remove_sigterm_handler()
                self._sigterm = False


def _allowed_failures() -> int:
    import dask

    return int(dask.config.get("distributed.scheduler.allowed-failures", 3))
