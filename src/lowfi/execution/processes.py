"""A process-pool executor: ``n_workers`` spawned worker processes, one trial at a time each.

Each worker is a separate process (``spawn`` start method: safe with threads) that loads the
cloudpickled objective once and then runs the trials it is sent, streaming reported curve
points back over its own pipe. The executor watches every worker on its own, which gives:

* **Workers die with the driver.** A worker asks Linux for SIGKILL when the driver ends
  (``prctl(PR_SET_PDEATHSIG)``), exits when its pipe to the driver closes, and also polls the
  driver's pid (the fallback on other systems): after SIGKILL or SIGTERM of the driver no
  worker finishes a trial the journal will not record. Workers ignore SIGINT, so Ctrl-C in the
  terminal reaches the driver only, which ends them.
* **A dead worker costs only its own trial a retry.** When a worker dies (segfault, the
  out-of-memory killer, SIGKILL) the trial it was running is sent to a fresh worker; after
  ``max_attempts`` deaths *of that trial* it becomes a failed result. The other workers and
  their trials are not touched, and a trial never runs in two processes at once.
* **Exits from the objective are failed trials.** ``sys.exit()``, ``KeyboardInterrupt`` and
  ``os._exit()`` inside the objective fail that trial (``os._exit`` at once, without retry: it
  is the objective's own doing).
* **trial_timeout** (seconds, from the moment the worker starts the trial): a trial that runs
  longer is ended by killing its worker, recorded as failed with a message naming the limit,
  and a fresh worker takes its place.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import multiprocessing as mp
import multiprocessing.connection as mpc
import os
import pickle
import queue
import signal
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import cloudpickle

from lowfi.core.trial import Result, Trial
from lowfi.execution._worker import (
    check_trial_timeout,
    die_with_parent,
    guarded_evaluate,
    install_sigterm_handler,
    remove_sigterm_handler,
)
from lowfi.execution.base import Executor, Finished, check_workers

# ---------------------------------------------------------------------------------- worker side
_CONN: Any = None
_SEND_LOCK = threading.Lock()
_STATE: dict[str, Any] = {"state": None}


def _send(msg: tuple) -> None:
    data = cloudpickle.dumps(msg)
    with _SEND_LOCK:
        _CONN.send_bytes(data)


class _PipeChannel:
    """Curve channel of a trial running in a worker: points go to the driver over the pipe."""

    def __call__(self, trial_id: int, points: list) -> None:
        try:
            _send(("curve", trial_id, [tuple(p) for p in points]))
        except Exception:  # noqa: BLE001 - a lost progress report must never fail the trial
            pass


class _PipeState:
    """State source of a trial running in a worker: what the driver published last."""

    def __call__(self) -> dict | None:
        return _STATE["state"]


_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _share_cores(threads: int) -> None:
    """Limit this worker's numerical libraries (BLAS/OpenMP pools, PyTorch's intra-op
    threads) to ``threads``, so that the workers together use the machine's cores instead of
    each starting one thread per core -- unless the user set ``OMP_NUM_THREADS`` & co."""
    if any(v in os.environ for v in _THREAD_VARS):
        return
    for v in _THREAD_VARS:  # libraries the objective imports later read these
        os.environ[v] = str(threads)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(threads)  # pools already loaded (numpy's BLAS)
    except Exception:  # noqa: BLE001 - best effort: threadpoolctl is scikit-learn's dependency
        pass
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)


def _worker_main(conn: Any, payload: bytes, driver_pid: int, threads: int = 0) -> None:
    global _CONN
    _CONN = conn
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle
    die_with_parent(driver_pid)
    try:
        objective = cloudpickle.loads(payload)
    except BaseException:  # noqa: BLE001 - tell the driver why every trial here would fail
        _send(("broken", traceback.format_exc()))
        return
    if threads:
        _share_cores(threads)
    tasks: queue.SimpleQueue = queue.SimpleQueue()

    def reader() -> None:
        while True:
            try:
                msg = pickle.loads(conn.recv_bytes())
            except (EOFError, OSError):  # the driver closed the pipe or is gone
                os._exit(0)
            if msg[0] == "state":
                _STATE["state"] = msg[1]
            else:
                tasks.put(msg)

    threading.Thread(target=reader, name="lowfi-worker-reader", daemon=True).start()
    while True:
        msg = tasks.get()
        if msg[0] != "task":
            return
        trial = msg[1].connected(channel=_PipeChannel(), state_source=_PipeState())
        _send(("started", trial.id))
        fin = guarded_evaluate(objective, trial)
        fin.trial.channel = fin.trial.state_source = None
        try:
            _send(("done", trial.id, fin))
        except Exception:  # noqa: BLE001 - e.g. an unpicklable result
            fin.result = Result.failed(f"the result could not be sent back to the driver:\n"
                                       f"{traceback.format_exc()}")
            _send(("done", trial.id, fin))


# ---------------------------------------------------------------------------------- driver side
class _Slot:
    """One worker process and the trial it runs."""

    def __init__(self, proc: Any, conn: Any):
        self.proc = proc
        self.conn = conn
        self.trial: Trial | None = None
        self.started: float | None = None  # monotonic time the worker began the trial
        self.dead = False
        self.broken: str | None = None  # traceback if the objective could not be loaded


def _kill_all(slots: list) -> None:
    for slot in list(slots):
        try:
            if slot.proc.is_alive():
                slot.proc.kill()
        except Exception:  # noqa: BLE001 - already gone
            pass


@contextlib.contextmanager
def _main_not_imported() -> Iterator[None]:
    """Start worker processes without importing the driver's main module in them.

    ``spawn`` normally runs the main script (or ``python -m`` module) again in every child
    before its target, so a script that calls ``lowfi.minimize`` at import would start the run
    again in each worker and needs ``if __name__ == "__main__":``. The objective reaches the
    workers cloudpickled, and cloudpickle sends what is defined in ``__main__`` by value, so
    the workers do not need the main module: while a worker starts, ``__main__`` shows no
    file and no module spec, which is what ``multiprocessing`` reads to decide what to import
    (as for ``python -c`` or a notebook). Scripts read from stdin work the same way.
    """
    main = sys.modules.get("__main__")
    if main is None:
        yield
        return
    saved = {k: main.__dict__[k] for k in ("__file__", "__spec__") if k in main.__dict__}
    main.__dict__.pop("__file__", None)
    if "__spec__" in saved:
        main.__dict__["__spec__"] = None
    try:
        yield
    finally:
        main.__dict__.update(saved)


@contextlib.contextmanager
def _standard_start_method(method: str) -> Iterator[None]:
    """While a worker starts, the process-wide start method is one the child knows.

    ``spawn`` hands the parent's default start method to the child, which sets it again; inside
    a joblib/loky worker (a scikit-learn search run by ``cross_validate(..., n_jobs=2)``) that
    default is ``"loky"``, which a plain child cannot find, so every worker would die at start.
    """
    current = mp.get_start_method(allow_none=True)
    if current is None or current in mp.get_all_start_methods():
        yield
        return
    mp.set_start_method(method, force=True)
    try:
        yield
    finally:
        mp.set_start_method(current, force=True)


class ProcessExecutor(Executor):
    """``n_workers`` local worker processes, each running one trial at a time.

    Each worker limits its numerical libraries (BLAS and OpenMP pools, PyTorch's threads) to
    its share of the cores, ``cpu_count // n_workers`` (at least 1), so that the workers do not
    each start a thread per core; set ``OMP_NUM_THREADS`` (or ``OPENBLAS_NUM_THREADS``,
    ``MKL_NUM_THREADS``) to choose yourself.

    Parameters
    ----------
    n_workers
        Worker processes (trials running at once).
    max_attempts
        How many times a trial may lose its worker process (killed by a signal) before it
        is recorded as failed (default 2: one retry).
    mp_context
        ``multiprocessing`` start method (default ``"spawn"``).
    trial_timeout
        Seconds a trial may run; longer ones are ended and recorded as failed (None: no limit).
    """

    name = "processes"

    def __init__(self, n_workers: int = 2, max_attempts: int = 2, mp_context: str = "spawn",
                 trial_timeout: float | None = None):
        self.n_workers = check_workers(n_workers)
        if not isinstance(max_attempts, int) or isinstance(max_attempts, bool) or max_attempts < 1:
            raise ValueError(f"max_attempts: got {max_attempts!r}; allowed is an int >= 1")
        self.max_attempts = max_attempts
        self.mp_context = mp_context
        self.trial_timeout = check_trial_timeout(trial_timeout)
        #: threads each worker's numerical libraries may use: the cores shared out among the
        #: workers (unless OMP_NUM_THREADS & co. are set), at least 1
        self.threads = max(1, (os.cpu_count() or 1) // self.n_workers)
        self._slots: list[_Slot] = []
        self._queue: deque[Trial] = deque()
        self._deaths: dict[int, int] = {}
        self._done: list[Finished] = []
        self._points: list[tuple[int, list]] = []
        self._received: dict[int, list] = {}
        self._ctx: Any = None
        self._broken: str | None = None  # why workers cannot load the objective

    # -- workers
    def start(self, objective: Callable) -> None:
        super().start(objective)
        try:
            self._payload = cloudpickle.dumps(objective)
        except Exception as exc:  # noqa: BLE001 - any pickling failure: say what to do
            raise TypeError(
                f"objective: cannot be sent to worker processes ({type(exc).__name__}: {exc}); "
                "it or something it uses (a lock, an open file or connection, a thread) cannot "
                "be pickled. Create such objects inside the objective, or run with "
                "executor='inline'") from exc
        self._ctx = mp.get_context(self.mp_context)
        self._slots = [self._spawn() for _ in range(self.n_workers)]
        # at interpreter exit, before multiprocessing joins its children
        self._atexit = functools.partial(_kill_all, self._slots)
        atexit.register(self._atexit)
        self._sigterm = install_sigterm_handler()

    def _spawn(self) -> _Slot:
        parent, child = self._ctx.Pipe(duplex=True)
        proc = self._ctx.Process(target=_worker_main, name="lowfi-worker",
                                 args=(child, self._payload, os.getpid(), self.threads))
        with _main_not_imported(), _standard_start_method(self.mp_context):
            proc.start()
        child.close()
        return _Slot(proc, parent)

    def _replace(self, slot: _Slot) -> None:
        """End ``slot``'s process (if still alive) and put a fresh worker in its place (none
        once workers are known not to load the objective: the slot stays dead)."""
        self._end(slot)
        if self._broken is None:
            i = self._slots.index(slot)
            self._slots[i] = self._spawn()

    @staticmethod
    def _end(slot: _Slot) -> None:
        slot.dead = True
        try:
            if slot.proc.is_alive():
                slot.proc.kill()
            slot.proc.join(5)
        except Exception:  # noqa: BLE001
            pass
        try:
            slot.conn.close()
        except Exception:  # noqa: BLE001
            pass

    # -- the Executor API
    def submit(self, trial: Trial) -> None:
        self._queue.append(trial)
        self._dispatch()

    def _dispatch(self) -> None:
        if self._broken is not None:  # nothing can run: every trial fails with the reason
            while self._queue:
                trial, now = self._queue.popleft(), time.time()
                self._done.append(Finished(trial, self._failed(trial, (
                    f"the objective could not be loaded in a worker process:\n{self._broken}")),
                    now, now, "lost"))
        for i, slot in enumerate(self._slots):
            if not self._queue:
                return
            if slot.dead and self._broken is None:  # ended by cancel_all: start a fresh one
                slot = self._slots[i] = self._spawn()
            if slot.trial is None and not slot.dead:
                trial = self._queue.popleft()
                try:
                    slot.conn.send_bytes(cloudpickle.dumps(("task", trial)))
                except (OSError, EOFError, BrokenPipeError):
                    self._queue.appendleft(trial)  # the worker died: found by wait()
                    continue
                slot.trial, slot.started = trial, None

    def _busy(self) -> list[_Slot]:
        return [s for s in self._slots if s.trial is not None]

    @property
    def running(self) -> int:
        # finished trials not yet returned by wait() count as running until they are
        return len(self._queue) + len(self._busy()) + len(self._done)

    def wait(self, timeout: float | None = None) -> list[Finished]:
        deadline = None if timeout is None else time.monotonic() + timeout
        self._dispatch()
        while not self._done and (self._queue or self._busy()):
            now = time.monotonic()
            ends = [d for d in (deadline, self._next_expiry()) if d is not None]
            remaining = None if not ends else max(min(ends) - now, 0.0)
            handles = {}
            for slot in self._slots:
                if slot.dead:
                    continue
                handles[slot.conn] = slot
                handles[slot.proc.sentinel] = slot
            if not handles:
                break
            ready = mpc.wait(list(handles), remaining)
            for slot in {id(handles[h]): handles[h] for h in ready}.values():
                self._service(slot)
            self._expire()
            self._dispatch()
            if deadline is not None and time.monotonic() >= deadline:
                break
        out, self._done = self._done, []
        return out

    def _service(self, slot: _Slot) -> None:
        """Read what ``slot``'s worker sent; handle its death."""
        try:
            while slot.conn.poll():
                self._handle(slot, pickle.loads(slot.conn.recv_bytes()))
        except (EOFError, OSError):
            pass
        if slot.dead or slot.proc.is_alive():
            return
        slot.proc.join(5)
        slot.dead = True
        trial, code, began = slot.trial, slot.proc.exitcode, slot.started
        slot.trial = None
        if slot.broken is not None:
            self._broken = slot.broken
        if slot in self._slots:
            self._replace(slot)
        if trial is None:
            return
        deaths = self._deaths[trial.id] = self._deaths.get(trial.id, 0) + 1
        now = time.time()
        if slot.broken is not None:
            why = f"the objective could not be loaded in a worker process:\n{slot.broken}"
        elif began is not None and code is not None and code >= 0:
            why = (f"the objective ended its worker process (exit code {code}, e.g. os._exit); "
                   "the trial is not run again")
        elif deaths >= self.max_attempts:
            sig = _signal_name(code)
            why = f"worker process died {deaths} times running this trial (last: {sig})"
        else:
            self._queue.appendleft(trial)  # a fresh worker runs it again
            return
        self._done.append(Finished(trial, self._failed(trial, why), now, now, "lost"))

    def _handle(self, slot: _Slot, msg: tuple) -> None:
        kind = msg[0]
        if kind == "curve":
            self._points.append((msg[1], msg[2]))
            self._received.setdefault(msg[1], []).extend(msg[2])
        elif kind == "started":
            slot.started = time.monotonic()
        elif kind == "done":
            if slot.trial is not None and slot.trial.id == msg[1]:
                slot.trial = slot.started = None
                self._received.pop(msg[1], None)
                self._done.append(msg[2])
        elif kind == "broken":
            slot.broken = msg[1]

    def _failed(self, trial: Trial, why: str) -> Result:
        result = Result.failed(why)
        result.curve = [tuple(p) for p in self._received.pop(trial.id, [])]
        return result

    def _next_expiry(self) -> float | None:
        if self.trial_timeout is None:
            return None
        starts = [s.started for s in self._slots if s.trial is not None and s.started is not None]
        return min(starts) + self.trial_timeout if starts else None

    def _expire(self) -> None:
        if self.trial_timeout is None:
            return
        now = time.monotonic()
        for slot in list(self._slots):
            if slot.trial is None or slot.started is None or now - slot.started < self.trial_timeout:
                continue
            trial, began = slot.trial, time.time() - (now - slot.started)
            slot.trial = slot.started = None
            self._replace(slot)
            self._done.append(Finished(trial, self._failed(trial, (
                f"trial_timeout: the trial ran longer than {self.trial_timeout:g} s and was ended "
                "(its worker process was killed)")), began, time.time(), "timeout"))

    def cancel_all(self) -> list[Trial]:
        out = list(self._queue)
        self._queue.clear()
        for slot in list(self._slots):
            if slot.trial is not None:
                out.append(slot.trial)
                slot.trial = slot.started = None
                self._end(slot)  # a running trial cannot be interrupted: end its process
        return out

    def publish(self, state: dict) -> None:
        data = cloudpickle.dumps(("state", dict(state)))
        for slot in self._slots:
            if not slot.dead:
                try:
                    slot.conn.send_bytes(data)
                except (OSError, EOFError, BrokenPipeError):
                    pass

    def drain(self) -> list[tuple[int, list]]:
        for slot in list(self._slots):  # pick up points sent since the last wait
            if not slot.dead:
                try:
                    while slot.conn.poll():
                        self._handle(slot, pickle.loads(slot.conn.recv_bytes()))
                except (EOFError, OSError):
                    pass
        out, self._points = self._points, []
        return out

    def close(self) -> None:
        slots, self._slots = self._slots, []
        for slot in slots:  # a closed pipe ends an idle worker at once
            try:
                slot.conn.close()
            except Exception:  # noqa: BLE001
                pass
        deadline = time.monotonic() + 2.0
        for slot in slots:
            slot.proc.join(max(deadline - time.monotonic(), 0.0))
            if slot.proc.is_alive():
                slot.proc.kill()
                slot.proc.join(5)
        if getattr(self, "_atexit", None) is not None:
            atexit.unregister(self._atexit)
            self._atexit = None
        if getattr(self, "_sigterm", False):
            remove_sigterm_handler()
            self._sigterm = False

    @property
    def worker_pids(self) -> list[int]:
        """Process ids of the live workers."""
        return [s.proc.pid for s in self._slots if not s.dead]


def _signal_name(code: int | None) -> str:
    if code is None or code >= 0:
        return f"exit code {code}"
    try:
        return f"killed by {signal.Signals(-code).name}"
    except ValueError:
        return f"killed by signal {-code}"

