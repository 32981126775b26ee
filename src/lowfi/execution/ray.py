"""A Ray executor (optional extra ``pip install lowfi[ray]``): one remote task per trial."""

from __future__ import annotations

import time
from collections.abc import Callable

from lowfi.core.trial import Result, Trial
from lowfi.execution.base import Executor, Finished, check_workers, evaluate


class RayExecutor(Executor):
    """Run trials as Ray tasks on a local or existing Ray cluster (``address``)."""

    name = "ray"

    def __init__(self, n_workers: int = 2, address: str | None = None):
        self.n_workers = check_workers(n_workers)
        self.address = address
        self._refs: dict = {}

    def start(self, objective: Callable) -> None:
        try:
            import ray
        except ImportError as exc:
            raise ImportError("executor='ray' needs Ray: pip install lowfi[ray]") from exc
        super().start(objective)
        self.ray = ray
        if not ray.is_initialized():
            ray.init(address=self.address, num_cpus=None if self.address else self.n_workers,
                     ignore_reinit_error=True, log_to_driver=False)
        self._remote = ray.remote(max_retries=2)(evaluate)
        self._obj_ref = ray.put(objective)

    def submit(self, trial: Trial) -> None:
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
            except Exception as exc:  # noqa: BLE001
                now = time.time()
                out.append(Finished(trial, Result.failed(f"ray: {exc!r}"), now, now, "lost"))
        return out

    @property
    def running(self) -> int:
        return len(self._refs)

    def cancel_all(self) -> list[Trial]:
        out = list(self._refs.values())
        for ref in self._refs:
            self.ray.cancel(ref)
        self._refs.clear()
        return out
