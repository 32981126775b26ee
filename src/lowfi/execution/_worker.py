"""Worker-side helpers shared by the process, Dask and Ray executors.

* :func:`guarded_evaluate` runs a trial like :func:`lowfi.execution.base.evaluate` and also turns
  ``SystemExit`` and ``KeyboardInterrupt`` raised by the objective into a failed result, so an
  objective that calls ``sys.exit()`` costs its own trial, not the worker or the run.
* :func:`die_with_parent` makes a worker process end when the driver process ends, however it
  ends (SIGKILL included): on Linux through ``prctl(PR_SET_PDEATHSIG, SIGKILL)``, everywhere
  through a watchdog thread that checks the parent's pid twice a second.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable

from lowfi.core.trial import Result, Trial
from lowfi.execution.base import Finished, evaluate, worker_name

PR_SET_PDEATHSIG = 1


def guarded_evaluate(objective: Callable, trial: Trial,
                     catch: tuple[type[BaseException], ...] = (SystemExit, KeyboardInterrupt),
                     ) -> Finished:
    """:func:`evaluate`, with the exceptions in ``catch`` (default ``SystemExit`` and
    ``KeyboardInterrupt``) raised by the objective turned into a failed result."""
    start = time.time()
    try:
        return evaluate(objective, trial)
    except catch as exc:
        if isinstance(exc, DriverTerminated):  # the driver's own SIGTERM: not the trial's doing
            raise
        code = f" (code {exc.code!r})" if isinstance(exc, SystemExit) else ""
        result = Result.failed(f"the objective raised {type(exc).__name__}{code}; this fails "
                               "the trial, not the run\n" + traceback.format_exc())
        if getattr(trial, "curve", None):
            result.curve = list(trial.curve)
        return Finished(trial, result, start, time.time(), worker_name())


class DriverTerminated(SystemExit):
    """Raised in the driver's main thread when it receives SIGTERM while an executor runs
    trials: the run loop then cancels running trials and closes the executor (ending its
    workers) before the process exits with status 143; the cancelled trials run again on
    resume."""


_PREVIOUS: list = []


def install_sigterm_handler() -> bool:
    """Turn SIGTERM into :class:`DriverTerminated` while an executor runs (main thread only,
    and only where SIGTERM has its default action). Returns whether it was installed."""
    if threading.current_thread() is not threading.main_thread():
        return False
    try:
        if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
            return False

        def handler(signum: int, frame: object) -> None:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends at once
            raise DriverTerminated(128 + signal.SIGTERM)

        signal.signal(signal.SIGTERM, handler)
    except (ValueError, OSError):  # not the main interpreter
        return False
    _PREVIOUS.append(handler)
    return True


def remove_sigterm_handler() -> None:
    """Undo :func:`install_sigterm_handler` (if the handler is still ours)."""
    if not _PREVIOUS:
        return
    handler = _PREVIOUS.pop()
    try:
        if signal.getsignal(signal.SIGTERM) is handler:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
    except (ValueError, OSError):
        pass


def set_parent_death_signal(sig: int = signal.SIGKILL) -> bool:
    """Ask Linux to send ``sig`` to this process when its parent thread ends; False elsewhere."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except Exception:  # noqa: BLE001 - no prctl: the watchdog still covers it
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def die_with_parent(parent_pid: int, interval: float = 0.5) -> None:
    """End this process (``os._exit``) as soon as ``parent_pid`` is gone."""
    set_parent_death_signal()
    ppid = os.getppid()
    if not _alive(parent_pid):  # the driver died before prctl took effect
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(interval)
            if os.getppid() != ppid or not _alive(parent_pid):
                os._exit(1)

    threading.Thread(target=watch, name="lowfi-parent-watchdog", daemon=True).start()


def check_trial_timeout(value: object) -> float | None:
    """``trial_timeout``: None or a finite number of seconds > 0."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
        raise ValueError(f"trial_timeout: got {value!r}; allowed are None or a number of "
                         "seconds > 0")
    return float(value)
