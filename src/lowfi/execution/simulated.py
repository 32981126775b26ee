"""A simulated executor: ``n_workers`` asynchronous workers replayed in virtual time.

Each trial is evaluated at once, in this process, and finishes at ``start + result.cost`` on
the virtual clock, where ``start`` is when a worker became free. Results reach the optimizer
in the order they would finish, so tabular and surrogate benchmarks with many workers run
in seconds and deterministically; tests of asynchronous behaviour use it instead of sleeps.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence

from lowfi.core.trial import Trial, TrialRecord
from lowfi.execution.base import Executor, Finished, check_workers, evaluate


class SimulatedExecutor(Executor):
    """Virtual-time workers; ``cost`` of each result is its simulated duration (seconds)."""

    name = "simulated"

    def __init__(self, n_workers: int = 1):
        self.n_workers = check_workers(n_workers)
        self.clock = 0.0
        self._events: list[tuple[float, int, Finished]] = []
        self._seq = 0
        self._free_workers = list(range(self.n_workers))  # a heap of idle worker numbers
        #: per worker, the virtual time it is busy until
        self.busy_time = 0.0

    def now(self) -> float:
        return self.clock

    def submit(self, trial: Trial) -> None:
        if self.running >= self.n_workers:
            raise RuntimeError("simulated executor: all workers are busy; wait() first")
        start = self.clock
        done = evaluate(self.objective, trial, clock=lambda: start)
        duration = float(done.result.cost or 0.0)
        done.start, done.end = start, start + duration
        done.worker = f"sim-{heapq.heappop(self._free_workers)}"
        self.busy_time += duration
        heapq.heappush(self._events, (done.end, self._seq, done))
        self._seq += 1

    def wait(self, timeout: float | None = None) -> list[Finished]:
        if not self._events:
            return []
        end, _, done = heapq.heappop(self._events)
        self.clock = max(self.clock, end)
        out = [done]
        while self._events and self._events[0][0] <= self.clock:  # simultaneous finishes
            out.append(heapq.heappop(self._events)[2])
        for d in out:
            heapq.heappush(self._free_workers, int(d.worker.split("-")[1]))
        return out

    @property
    def running(self) -> int:
        return len(self._events)

    def cancel_all(self) -> Sequence[Trial | TrialRecord]:
        out = [e[2].trial for e in self._events]
        self._events.clear()
        self._free_workers = list(range(self.n_workers))
        return out
