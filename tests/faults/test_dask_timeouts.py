"""Dask executor: a trial that times out and a trial whose worker process exits, at once.

Each failure keeps its own cause (the dead worker's trial is not reported as a timeout), the
restarted workers keep the cluster at its size, and the run finishes every trial."""

from __future__ import annotations

import os
import time

import pytest

import lowfi

pytestmark = [pytest.mark.faults, pytest.mark.timeout(300)]


def _objective(trial):
    k = trial.id % 6
    if k == 2:
        time.sleep(60)  # ended by trial_timeout (its worker is restarted)
    if k == 4:
        os._exit(3)  # kills its worker process, every time the scheduler retries it
    time.sleep(0.2)
    return trial.config["x"]


def test_a_timeout_and_a_dying_worker_at_once_keep_their_causes():
    pytest.importorskip("distributed")
    from lowfi.execution import make_executor

    ex = make_executor("dask", 2, trial_timeout=2, lost_workers_timeout=60)
    res = lowfi.minimize(_objective, {"x": (0.0, 1.0)}, "random", executor=ex,
                         max_evaluations=12, progress=False, seed=0, error_on_all_failed=False)
    df = res.trials.sort_values("trial_id")
    assert len(df) == 12
    for tid, status, error in zip(df["trial_id"], df["status"], df["error"]):
        k = tid % 6
        if k == 2:
            assert status == "failed" and "trial_timeout" in error
        elif k == 4:
            assert status == "failed" and "trial_timeout" not in error and "died" in error
        else:
            assert status == "ok"


def test_a_start_mark_from_a_dead_worker_is_not_a_timeout():
    """The trial's start mark names a worker that no longer exists: the trial is not ended as
    timed out (the scheduler retries it elsewhere, which sends a new mark), and no restart of
    the dead worker is attempted."""
    pytest.importorskip("distributed")
    from lowfi import Trial
    from lowfi.execution import make_executor

    ex = make_executor("dask", 1, trial_timeout=1)
    ex.start(lambda c, b: 0.0)
    try:
        fut = ex.client.submit(time.sleep, 30, pure=False)
        trial = Trial(7, {"x": 0.5}, 1.0, 7)
        ex._futures[fut] = trial
        ex._started[trial.id] = (time.monotonic() - 100.0, "tcp://127.0.0.1:1")
        assert ex._expire() == []
        assert trial.id not in ex._started and fut in ex._futures
        alive = next(iter(ex.client.nthreads()))
        ex._started[trial.id] = (time.monotonic() - 100.0, alive)  # a live worker: a timeout
        (done,) = ex._expire()
        assert done.trial is trial and "trial_timeout" in done.result.error
    finally:
        ex.close()


def test_a_nanny_dask_closed_for_good_is_brought_back():
    """Dask closes a nanny for good when its worker is down at the moment it checks (trials
    that keep killing their worker); the executor's own cluster is brought back to its size
    instead of shrinking to no worker."""
    pytest.importorskip("distributed")
    from lowfi.execution import make_executor

    ex = make_executor("dask", 2)
    ex.start(lambda c, b: 0.0)
    try:
        cluster = ex._own_cluster
        name = next(iter(cluster.workers))
        nanny = cluster.workers.pop(name)  # what distributed's lost-worker check does
        cluster.sync(nanny.close)
        deadline = time.monotonic() + 60
        while len(ex.client.nthreads()) > 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(ex.client.nthreads()) == 1
        ex._check_workers(time.monotonic())
        ex.client.wait_for_workers(2, timeout=60)
        # the new worker can register with the scheduler before the cluster records its
        # nanny: wait for the cluster's own record too
        deadline = time.monotonic() + 60
        while len(cluster.workers) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(cluster.workers) == 2 and len(ex.client.nthreads()) == 2
    finally:
        ex.close()


def test_a_done_future_that_as_completed_never_delivers_is_still_collected():
    """as_completed drops a future whose background result fetch failed (the worker holding
    the result died and the rerun ended otherwise); the executor collects such futures itself
    instead of waiting for them forever."""
    pytest.importorskip("distributed")
    from distributed import as_completed, wait

    from lowfi import Trial
    from lowfi.execution import make_executor

    ex = make_executor("dask", 1)
    ex.start(lambda c, b: c["x"])
    try:
        trial = Trial(3, {"x": 0.25}, 1.0, 3)
        ex.submit(trial)
        (fut,) = list(ex._futures)
        ex._completed = as_completed([], with_results=True, raise_errors=False)  # never told
        wait([fut], timeout=60)
        (done,) = ex.wait(timeout=30)
        assert done.trial.id == 3 and done.result.loss == 0.25 and not ex._futures
    finally:
        ex.close()
