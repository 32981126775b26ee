"""A Ray executor (optional extra ``pip install lowfi[ray]``): one remote task per trial.

With no address it starts a local Ray instance with ``n_workers`` CPUs (and shuts it down at
the end); with an address (``"auto"``, ``"ray://host:10001"``) it joins that cluster. A task
whose worker process dies is retried by Ray (``max_retries``); one that exhausts its retries
becomes a failed result, never a lost one. Running trials stream reported curve points and
read the run loop's published stopping state through one small actor per run.

``trial_timeout`` ends a trial that runs too long (its task is force-cancelled, which ends its
worker process) and records it as failed. A run whose cluster has had no CPU for
``lost_workers_timeout`` seconds stops with :class:`~lowfi.execution.dask.WorkersLost`.
``dashboard_address`` (e.g. ``":8265"``) starts the Ray dashboard of the local instance (needs
``pip install 'ray[default]'``); ``dashboard_link`` gives its address.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable
from typing import Any

from lowfi.core.trial import Result, Trial
from lowfi.execution._worker import (
    check_trial_timeout,
    guarded_evaluate,
    install_sigterm_handler,
    remove_sigterm_handler,
)
from lowfi.execution.base import Executor, Finished, check_workers


class _Hub:
    """Actor body: a buffer of curve points and the latest published state."""

    def __init__(self) -> None:
        self.points: list = []
        self.state: dict | None = None
        self.started: list = []

    def mark(self, trial_id: int, host: str | None = None, pid: int | None = None) -> None:
        self.started.append((trial_id, host, pid))

    def take_started(self) -> list:
        out, self.started = self.started, []
        return out

    def put(self, trial_id: int, points: list) -> None:
        self.points.append((trial_id, points))

    def take(self) -> list:
        out, self.points = self.points, []
        return out

    def set_state(self, state: dict) -> None:
        self.state = state

    def get_state(self) -> dict | None:
        return self.state


class _RayChannel:
    """A curve channel (``trial.connected(channel=...)``): fire-and-forget curve points to the hub actor."""

    def __init__(self, hub: Any):
        self.hub = hub

    def __call__(self, trial_id: int, points: list) -> None:
        try:
            self.hub.put.remote(trial_id, [list(p) for p in points])
        except Exception:  # noqa: BLE001 - a lost progress report must never fail the trial
            pass

    def started(self, trial_id: int) -> None:
        import os
        import socket

        try:  # where the attempt runs: a dead worker's attempt is not a timeout
            self.hub.mark.remote(trial_id, socket.gethostname(), os.getpid())
        except Exception:  # noqa: BLE001 - the trial is then timed from its submission
            pass


class _RayState:
    """A ``state_source`` (``trial.connected(state_source=...)``): what the run loop published last (None if nothing yet)."""

    def __init__(self, hub: Any):
        self.hub = hub

    def __call__(self) -> dict | None:
        import ray

        try:
            return ray.get(self.hub.get_state.remote(), timeout=0.5)
        except Exception:  # noqa: BLE001 - the actor is busy or gone: act on the local snapshot
            return None


def _dead_here(host: str | None, pid: int | None) -> bool:
    """Whether the worker process ``pid`` of this machine ``host`` no longer exists (False
    when it may be alive or runs elsewhere: then only time tells)."""
    import os
    import socket

    if pid is None or host != socket.gethostname():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OSError):
        return False
    return False


def _run(objective: Callable, trial: Trial) -> Finished:
    started = getattr(trial.channel, "started", None)
    if started is not None:
        started(trial.id)
    return guarded_evaluate(objective, trial)


class RayExecutor(Executor):
    """Run trials as Ray tasks on a local or existing Ray cluster.

    Parameters
    ----------
    n_workers
        Trials running at once; also the CPUs of the local instance started when ``address``
        is None.
    address
        None (start a local instance), or a Ray address passed to ``ray.init``.
    max_retries
        How often Ray re-runs a trial whose worker process died (default 2).
    trial_timeout
        Seconds a trial may run (from the moment its task starts); a longer one is
        force-cancelled and recorded as failed.
    lost_workers_timeout
        Seconds the run waits while the cluster has no CPU (default 60) before it stops with
        :class:`~lowfi.execution.dask.WorkersLost`.
    dashboard_address
        ``"host:port"`` or ``":port"`` of the Ray dashboard of the local instance (default
        None: off).
    """

    name = "ray"

    def __init__(self, n_workers: int = 2, address: str | None = None, max_retries: int = 2,
                 trial_timeout: float | None = None, lost_workers_timeout: float = 60.0,
                 dashboard_address: str | None = None):
        self.n_workers = check_workers(n_workers)
        self.address = address
        if not isinstance(max_retries, int) or isinstance(max_retries, bool) or max_retries < 0:
            raise ValueError(f"max_retries: got {max_retries!r}; allowed is an int >= 0")
        self.max_retries = max_retries
        self.trial_timeout = check_trial_timeout(trial_timeout)
        if isinstance(lost_workers_timeout, bool) or not isinstance(lost_workers_timeout, (int, float)) \
                or not 0 <= lost_workers_timeout < float("inf"):
            raise ValueError(f"lost_workers_timeout: got {lost_workers_timeout!r}; allowed is a "
                             "number of seconds >= 0")
        self.lost_workers_timeout = float(lost_workers_timeout)
        if dashboard_address is not None and (not isinstance(dashboard_address, str)
                                              or ":" not in dashboard_address):
            raise ValueError(f"dashboard_address: got {dashboard_address!r}; allowed are None "
                             "or 'host:port' / ':port', e.g. ':8265'")
        self.dashboard_address = dashboard_address
        self._dashboard_link: str | None = None
        self._started: dict[int, float] = {}
        self._where: dict[int, tuple[str | None, int | None]] = {}
        self._no_cpu_since: float | None = None
        self._sigterm = False
        self._refs: dict = {}
        self._own_ray = False
        self._hub = None

    def start(self, objective: Callable) -> None:
        try:
            import ray
        except ImportError as exc:
            raise ImportError("executor='ray' needs Ray: pip install lowfi[ray]") from exc
        super().start(objective)
        self.ray = ray
        if not ray.is_initialized():
            kw: dict[str, Any] = dict(ignore_reinit_error=True, log_to_driver=False,
                                      logging_level=logging.WARNING,
                                      include_dashboard=self.dashboard_address is not None)
            if self.dashboard_address is not None:
                host, _, port = self.dashboard_address.rpartition(":")
                kw["dashboard_host"] = host or "127.0.0.1"
                kw["dashboard_port"] = int(port)
            if self.address is None:  # local workers import what this process can import
                import os
                import sys

                kw["num_cpus"] = self.n_workers
                path = os.pathsep.join(p for p in sys.path if p)
                kw["runtime_env"] = {"env_vars": {"PYTHONPATH": path}}
            ctx = ray.init(address=self.address, **kw)
            self._own_ray = True
            url = getattr(ctx, "dashboard_url", None)
            if url:
                self._dashboard_link = url if "://" in url else f"http://{url}"
            elif self.dashboard_address is not None:
                warnings.warn(f"dashboard_address={self.dashboard_address!r}: Ray started no "
                              "dashboard; it needs pip install 'ray[default]'", RuntimeWarning,
                              stacklevel=2)
        self._remote = ray.remote(num_cpus=1, max_retries=self.max_retries)(_run)
        self._obj_ref = ray.put(objective)
        self._hub = ray.remote(num_cpus=0)(_Hub).remote()
        self._sigterm = install_sigterm_handler()

    def submit(self, trial: Trial) -> None:
        trial = trial.connected(channel=_RayChannel(self._hub), state_source=_RayState(self._hub))
        self._refs[self._remote.remote(self._obj_ref, trial)] = trial
        self._started.pop(trial.id, None)

    def wait(self, timeout: float | None = None) -> list[Finished]:
        if not self._refs:
            return []
        deadline = None if timeout is None else time.monotonic() + timeout
        out: list[Finished] = []
        while True:
            step = 1.0 if self.trial_timeout is None else 0.2
            if deadline is not None:
                step = min(step, max(deadline - time.monotonic(), 0.0))
            ready, _ = self.ray.wait(list(self._refs), num_returns=1, timeout=step)
            if ready:
                break
            now = time.monotonic()
            if self.trial_timeout is not None:
                out.extend(self._expire(now))
                if out or not self._refs:
                    return out
            self._check_workers(now)
            if deadline is not None and now >= deadline:
                return out
        self._no_cpu_since = None
        for ref in ready:
            trial = self._refs.pop(ref)
            try:
                out.append(self.ray.get(ref))
            except Exception as exc:  # noqa: BLE001 - worker died more often than max_retries
                now = time.time()
                out.append(Finished(trial, Result.failed(f"ray: {type(exc).__name__}: {exc}"),
                                    now, now, "lost"))
        return out

    def _expire(self, now: float) -> list[Finished]:
        try:
            for mark in self.ray.get(self._hub.take_started.remote(), timeout=5):
                tid, host, pid = mark if isinstance(mark, tuple | list) else (mark, None, None)
                self._started[tid] = now
                self._where[tid] = (host, pid)
        except Exception:  # noqa: BLE001 - the hub is busy: time from submission meanwhile
            pass
        out = []
        for ref, trial in list(self._refs.items()):
            began = self._started.get(trial.id)
            if began is None or now - began < self.trial_timeout:
                continue
            if _dead_here(*self._where.get(trial.id, (None, None))):
                # the attempt's worker process died: Ray retries the task, whose start sends
                # a new mark; the time since is not the trial's run time
                self._started.pop(trial.id, None)
                continue
            del self._refs[ref]
            self._started.pop(trial.id, None)
            try:
                self.ray.cancel(ref, force=True)  # ends the worker process; never retried
            except Exception:  # noqa: BLE001 - it finished meanwhile
                pass
            end = time.time()
            out.append(Finished(trial, Result.failed(
                f"trial_timeout: the trial ran longer than {self.trial_timeout:g} s and was ended "
                "(its Ray task was force-cancelled)"), end - (now - began), end, "timeout"))
        return out

    def _check_workers(self, now: float) -> None:
        try:
            cpus = float(self.ray.cluster_resources().get("CPU", 0))
        except Exception:  # noqa: BLE001
            cpus = 0.0
        if cpus > 0:
            self._no_cpu_since = None
            return
        if self._no_cpu_since is None:
            self._no_cpu_since = now
        if now - self._no_cpu_since >= self.lost_workers_timeout:
            from lowfi.execution.dask import WorkersLost

            raise WorkersLost(
                f"ray: the cluster has had no CPU for {now - self._no_cpu_since:.0f} s "
                f"(lost_workers_timeout={self.lost_workers_timeout:g}); the run stops here. "
                f"{len(self._refs)} running trials stay unfinished in the journal and run again "
                "when the run is resumed")

    @property
    def dashboard_link(self) -> str | None:
        """The URL of the Ray dashboard, if one runs (None otherwise)."""
        return self._dashboard_link

    @property
    def running(self) -> int:
        return len(self._refs)

    def cancel_all(self) -> list[Trial]:
        out = list(self._refs.values())
        for ref in self._refs:
            try:
                self.ray.cancel(ref, force=True)
            except Exception:  # noqa: BLE001 - already finished
                pass
        self._refs.clear()
        return out

    def publish(self, state: dict) -> None:
        if self._hub is not None:
            self._hub.set_state.remote(dict(state))

    def drain(self) -> list[tuple[int, list]]:
        if self._hub is None:
            return []
        try:
            return [tuple(x) for x in self.ray.get(self._hub.take.remote(), timeout=5)]
        except Exception:  # noqa: BLE001 - progress reports are best effort
            return []

    def close(self) -> None:
        if self._hub is not None:
            try:
                self.ray.kill(self._hub)
            except Exception:  # noqa: BLE001
                pass
            self._hub = None
        if self._own_ray:
            self.ray.shutdown()
            self._own_ray = False
        if self._sigterm:
            remove_sigterm_handler()
            self._sigterm = False
