"""A Ray executor (optional extra ``pip install lowfi[ray]``): one remote task per trial.

With no address it starts a local Ray instance with ``n_workers`` CPUs (and shuts it down at
the end); with an address (``"auto"``, ``"ray://host:10001"``) it joins that cluster. A task
whose worker process dies is retried by Ray (``max_retries``); one that exhausts its retries
becomes a failed result, never a lost one. Running trials stream reported curve points and
read the run loop's published stopping state through one small actor per run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from lowfi.core.trial import Result, Trial
from lowfi.execution.base import Executor, Finished, check_workers, evaluate


class _Hub:
    """Actor body: a buffer of curve points and the latest published state."""

    def __init__(self) -> None:
        self.points: list = []
        self.state: dict | None = None

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
    """``trial._channel``: fire-and-forget curve points to the hub actor."""

    def __init__(self, hub: Any):
        self.hub = hub

    def __call__(self, trial_id: int, points: list) -> None:
        try:
            self.hub.put.remote(trial_id, [list(p) for p in points])
        except Exception:  # noqa: BLE001 - a lost progress report must never fail the trial
            pass


class _RayState:
    """``trial._state_source``: what the run loop published last (None if nothing yet)."""

    def __init__(self, hub: Any):
        self.hub = hub

    def __call__(self) -> dict | None:
        import ray

        try:
            return ray.get(self.hub.get_state.remote(), timeout=0.5)
        except Exception:  # noqa: BLE001 - the actor is busy or gone: act on the local snapshot
            return None


def _run(objective: Callable, trial: Trial) -> Finished:
    return evaluate(objective, trial)


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
    """

    name = "ray"

    def __init__(self, n_workers: int = 2, address: str | None = None, max_retries: int = 2):
        self.n_workers = check_workers(n_workers)
        self.address = address
        if not isinstance(max_retries, int) or isinstance(max_retries, bool) or max_retries < 0:
            raise ValueError(f"max_retries: got {max_retries!r}; allowed is an int >= 0")
        self.max_retries = max_retries
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
                                      include_dashboard=False)
            if self.address is None:  # local workers import what this process can import
                import os
                import sys

                kw["num_cpus"] = self.n_workers
                path = os.pathsep.join(p for p in sys.path if p)
                kw["runtime_env"] = {"env_vars": {"PYTHONPATH": path}}
            ray.init(address=self.address, **kw)
            self._own_ray = True
        self._remote = ray.remote(num_cpus=1, max_retries=self.max_retries)(_run)
        self._obj_ref = ray.put(objective)
        self._hub = ray.remote(num_cpus=0)(_Hub).remote()

    def submit(self, trial: Trial) -> None:
        trial._channel = _RayChannel(self._hub)
        trial._state_source = _RayState(self._hub)
        self._refs[self._remote.remote(self._obj_ref, trial)] = trial

    def wait(self, timeout: float | None = None) -> list[Finished]:
        if not self._refs:
            return []
        ready, _ = self.ray.wait(list(self._refs), num_returns=1, timeout=timeout)
        out = []
        for ref in ready:
            trial = self._refs.pop(ref)
            try:
                out.append(self.ray.get(ref))
            except Exception as exc:  # noqa: BLE001 - worker died more often than max_retries
                now = time.time()
                out.append(Finished(trial, Result.failed(f"ray: {type(exc).__name__}: {exc}"),
                                    now, now, "lost"))
        return out

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
