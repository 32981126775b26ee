"""The inline executor: trials run one at a time in the calling process (deterministic)."""

from __future__ import annotations

from collections import deque

from lowfi.core.trial import Trial
from lowfi.execution.base import Executor, Finished, evaluate


class InlineExecutor(Executor):
    """Same process, one trial at a time; ``trial.report`` reaches the journal directly."""

    name = "inline"

    def __init__(self, n_workers: int = 1):
        self.n_workers = 1
        self._queue: deque[Trial] = deque()
        self.channel = None  # set by the run loop: callable(trial_id, points)

    def submit(self, trial: Trial) -> None:
        trial._channel = self.channel
        self._queue.append(trial)

    def wait(self, timeout: float | None = None) -> list[Finished]:
        if not self._queue:
            return []
        return [evaluate(self.objective, self._queue.popleft())]

    @property
    def running(self) -> int:
        return len(self._queue)

    def cancel_all(self) -> list[Trial]:
        out = list(self._queue)
        self._queue.clear()
        return out
