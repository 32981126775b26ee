"""The inline executor: trials run one at a time in the calling process (deterministic)."""

from __future__ import annotations

from collections import deque

from lowfi.core.trial import CurveChannel, Trial
from lowfi.execution._worker import guarded_evaluate
from lowfi.execution.base import Executor, Finished


class InlineExecutor(Executor):
    """Same process, one trial at a time; ``trial.report`` reaches the journal directly."""

    name = "inline"
    in_process = True

    def __init__(self, n_workers: int = 1):
        self.n_workers = 1
        self._queue: deque[Trial] = deque()
        #: set by the runner (see :attr:`Executor.in_process`)
        self.channel: CurveChannel | None = None

    def submit(self, trial: Trial) -> None:
        self._queue.append(trial.connected(channel=self.channel))

    def wait(self, timeout: float | None = None) -> list[Finished]:
        if not self._queue:
            return []
        # SystemExit from the objective fails its trial; KeyboardInterrupt (Ctrl-C) stops the run
        return [guarded_evaluate(self.objective, self._queue.popleft(), catch=(SystemExit,))]

    @property
    def running(self) -> int:
        return len(self._queue)

    def cancel_all(self) -> list[Trial]:
        out = list(self._queue)
        self._queue.clear()
        return out
