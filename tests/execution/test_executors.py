"""Executors: process pool and Dask LocalCluster, including workers that die mid-trial."""

import importlib.util
import os
import signal
import time

import pytest

import lowfi
from lowfi.execution import SimulatedExecutor, make_executor
from lowfi.run.callbacks import Callback

SPACE = {"x": (0.0, 1.0)}


def f(config, budget):
    return config["x"] + 1.0 / budget


def suicidal_once(config, budget, marker_dir):
    """Kills its own worker process the first time any worker runs a budget-1 trial (once in
    the whole run: the marker is created atomically, so two workers never both die); then
    works."""
    if budget == 1:
        try:
            fd = os.open(os.path.join(marker_dir, "killed"), os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return config["x"]
        os.close(fd)
        os.kill(os.getpid(), signal.SIGKILL)
    return config["x"]


class Suicidal:
    def __init__(self, marker_dir):
        self.marker_dir = marker_dir

    def __call__(self, config, budget):
        return suicidal_once(config, budget, self.marker_dir)


def test_make_executor_names():
    assert make_executor("inline").name == "inline"
    assert make_executor("simulated", 3).n_workers == 3
    with pytest.raises(ValueError, match="executor"):
        make_executor("quantum")


def test_ray_addresses_go_to_the_ray_executor():
    ex = make_executor("ray://head:10001", 3)  # built without connecting
    assert ex.name == "ray" and ex.address == "ray://head:10001" and ex.n_workers == 3
    assert make_executor("tcp://head:8786", 2).name == "dask"
    from lowfi.execution.ray import RayExecutor

    with pytest.raises(ValueError, match="max_retries"):
        RayExecutor(max_retries=-1)


def test_simulated_executor_orders_by_finish_time():
    ex = SimulatedExecutor(2)
    from lowfi import Result, Trial

    ex.start(lambda c, b: Result(0.0, cost=c["d"]))
    ex.submit(Trial(0, {"d": 5.0}, 1.0, 0))
    ex.submit(Trial(1, {"d": 1.0}, 1.0, 1))
    first = ex.wait()
    assert [d.trial.id for d in first] == [1] and ex.now() == 1.0
    ex.submit(Trial(2, {"d": 1.0}, 1.0, 2))
    assert [d.trial.id for d in ex.wait()] == [2] and ex.now() == 2.0
    assert [d.trial.id for d in ex.wait()] == [0] and ex.now() == 5.0


def test_process_pool_runs_and_survives_a_killed_worker(tmp_path):
    res = lowfi.minimize(Suicidal(str(tmp_path)), SPACE, "hyperband", min_budget=1, max_budget=9,
                         n_workers=2, executor="processes", max_evaluations=15, progress=False)
    assert len(res.trials) == 15
    assert set(res.trials["status"]) == {"ok"}  # the killed trial ran again elsewhere
    assert len(os.listdir(tmp_path)) == 1  # a worker really was killed once
    assert res.trials["worker"].nunique() >= 2


def test_dask_local_cluster_two_workers_with_one_killed(tmp_path):
    pytest.importorskip("distributed")
    res = lowfi.minimize(Suicidal(str(tmp_path)), SPACE, "asha", min_budget=1, max_budget=9,
                         n_workers=2, executor="dask", max_evaluations=12, progress=False)
    assert len(res.trials) == 12
    assert set(res.trials["status"]) == {"ok"}
    assert len(os.listdir(tmp_path)) == 1
    assert all(not w.endswith(f":{os.getpid()}") for w in res.trials["worker"])  # ran on Dask workers


def test_ray_two_workers_with_one_killed(tmp_path):
    pytest.importorskip("ray")
    res = lowfi.minimize(Suicidal(str(tmp_path)), SPACE, "asha", min_budget=1, max_budget=9,
                         n_workers=2, executor="ray", max_evaluations=12, progress=False)
    assert len(res.trials) == 12
    assert set(res.trials["status"]) == {"ok"}  # Ray re-ran the trial whose worker died
    assert len(os.listdir(tmp_path)) == 1
    assert all(not w.endswith(f":{os.getpid()}") for w in res.trials["worker"])


class UntilRunning(Callback):
    """Holds the driver after a wait until ``n`` trials have started (their pid files exist),
    so a short walltime ends running trials however slowly the workers start."""

    def __init__(self, folder, n=2):
        self.folder, self.n = folder, n

    def on_start(self, run):
        import time

        run.state.t_start = time.monotonic()  # the walltime counts from here, not cluster start

    def on_batch(self, run, finished, curves):
        import time

        deadline = time.monotonic() + 120
        while len(os.listdir(self.folder)) < self.n and time.monotonic() < deadline:
            time.sleep(0.02)


def test_ray_walltime_ends_running_trials(tmp_path):
    pytest.importorskip("ray")
    import time

    t0 = time.monotonic()
    res = lowfi.minimize(Sleepy(str(tmp_path), 900), SPACE, "random", n_workers=2, executor="ray",
                         walltime=5, progress=False, callbacks=[UntilRunning(str(tmp_path))])
    assert res.stop_reason == "walltime" and (res.trials["status"] == "cancelled").all()
    assert len(res.trials) == 2 and len(os.listdir(tmp_path)) == 2
    assert time.monotonic() - t0 < 450  # did not wait for the 900 s sleeps


def slow_reporter(trial):
    import time

    for step in range(1, 6):
        trial.report(step, 1.0 / step)
        time.sleep(0.15)
    return trial.curve[-1][1]


EXECUTORS = ["processes", "dask",
             pytest.param("ray", marks=pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                                                          reason="Ray is not installed"))]


@pytest.mark.parametrize("executor", EXECUTORS)
def test_running_trials_stream_their_curves_to_the_journal(tmp_path, monkeypatch, executor):
    import lowfi.run.loop as loop
    from lowfi.storage import Journal

    monkeypatch.setattr(loop, "CURVE_FLUSH_SECONDS", 0.1)
    db = str(tmp_path / "c.db")
    res = lowfi.minimize(slow_reporter, SPACE, "random", n_workers=2, executor=executor,
                         max_evaluations=2, storage=db, progress=False)
    assert all(len(c) == 5 for c in res.trials["curve"])
    events = Journal(db, create=False).events()
    first_tell = min(e.seq for e in events if e.kind == "tell")
    assert any(e.kind == "curve" and e.seq < first_tell for e in events)


class StopWhenOthersFinished(lowfi.StoppingRule):
    """Stops a trial once the run loop has published that some other trial finished."""

    def __init__(self):
        self.n_done = 0

    def shared(self, history):
        return {"n_done": len(history.records)}

    def update(self, state):
        self.n_done = state["n_done"]

    def should_stop(self, trial):
        return self.n_done >= 1


def quick_or_long(trial):
    """Trial 0 returns at once; trial 1 runs until its rule sees that (at most 2 minutes)."""
    import time

    if trial.id == 0:
        return 0.0
    deadline = time.monotonic() + 120
    step = 0
    while time.monotonic() < deadline:
        step += 1
        trial.report(step, 1.0)
        if trial.should_stop():
            break
        time.sleep(0.02)
    return 1.0


@pytest.mark.parametrize("executor", EXECUTORS)
def test_running_trials_see_what_the_loop_publishes(monkeypatch, executor):
    import lowfi.run.loop as loop

    monkeypatch.setattr(loop, "CURVE_FLUSH_SECONDS", 0.05)
    res = lowfi.minimize(quick_or_long, SPACE, "random", n_workers=2, executor=executor,
                         max_evaluations=2, progress=False, stopping=StopWhenOthersFinished())
    long = res.trials[res.trials["trial_id"] == 1].iloc[0]
    assert long["status"] == "stopped"


def test_simulated_worker_labels_are_the_free_workers():
    from lowfi import Result

    res = lowfi.minimize(lambda c, b: Result(c["x"], cost=1 + 10 * c["x"]), SPACE, "random",
                         n_workers=3, executor="simulated", max_evaluations=40, progress=False)
    df = res.trials
    assert df["worker"].nunique() == 3
    for _, g in df.groupby("worker"):  # one worker never runs two trials at once
        g = g.sort_values("start")
        assert (g["start"].to_numpy()[1:] >= g["end"].to_numpy()[:-1] - 1e-12).all()


class Sleepy:
    def __init__(self, folder, seconds=60):
        self.folder, self.seconds = folder, seconds

    def __call__(self, config, budget):
        import time

        open(os.path.join(self.folder, str(os.getpid())), "w").close()
        time.sleep(self.seconds)
        return config["x"]


def test_walltime_ends_trials_still_running_in_worker_processes(tmp_path):
    import time

    res = lowfi.minimize(Sleepy(str(tmp_path)), SPACE, "random", n_workers=2, executor="processes",
                         walltime=1, progress=False, callbacks=[UntilRunning(str(tmp_path))])
    assert res.stop_reason == "walltime" and (res.trials["status"] == "cancelled").all()
    pids = [int(p) for p in os.listdir(tmp_path)]
    assert len(pids) == 2
    for _ in range(100):  # the workers were terminated, not left sleeping for a minute
        alive = []
        for pid in pids:
            try:
                os.kill(pid, 0)
                alive.append(pid)
            except ProcessLookupError:
                pass
        if not alive:
            break
        time.sleep(0.05)
    assert not alive


def test_worker_processes_do_not_run_the_main_script_again(tmp_path):
    import subprocess
    import sys
    import textwrap

    script = tmp_path / "run.py"
    script.write_text(textwrap.dedent("""
        import os
        import lowfi

        SCALE = 2.0  # a module-level value the objective uses
        print("top level ran in", os.getpid(), flush=True)

        def f(config, budget):
            return SCALE * config["x"]

        res = lowfi.minimize(f, {"x": (0.0, 1.0)}, "random", min_budget=1, max_budget=1,
                             max_evaluations=4, n_workers=2, progress=False)  # no guard
        print("workers", res.trials["worker"].nunique(), "ok", (res.trials["status"] == "ok").sum())
        print("scaled", bool((res.trials["loss"] == 2.0 * res.trials["config.x"]).all()))
    """))
    for cmd in ([sys.executable, str(script)], [sys.executable, "-"]):  # a file, and stdin
        out = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=300,
                             input=script.read_text() if cmd[-1] == "-" else None)
        assert out.returncode == 0, out.stderr[-2000:]
        assert out.stdout.count("top level ran") == 1  # the workers never imported it
        assert "workers 2 ok 4" in out.stdout and "scaled True" in out.stdout


def test_an_objective_that_cannot_be_pickled_says_what_to_do():
    import threading

    lock = threading.Lock()

    def objective(config, budget):
        with lock:
            return config["x"]

    with pytest.raises(TypeError, match=r"objective: cannot be sent to worker processes .*lock"):
        lowfi.minimize(objective, SPACE, "random", min_budget=1, max_budget=1,
                       max_evaluations=2, n_workers=2, executor="processes", progress=False)


def test_an_unguarded_script_with_a_dask_cluster_gets_the_guard_hint(tmp_path):
    pytest.importorskip("distributed")
    import subprocess
    import sys
    import textwrap

    script = tmp_path / "run.py"
    script.write_text(textwrap.dedent("""
        import lowfi

        def f(config, budget):
            return config["x"]

        lowfi.minimize(f, {"x": (0.0, 1.0)}, "random", min_budget=1, max_budget=1,
                       max_evaluations=2, n_workers=2, executor="dask", progress=False)
    """))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         cwd=tmp_path, timeout=300)
    assert out.returncode != 0
    assert "executor: the Dask LocalCluster's workers could not start" in out.stderr
    assert 'if __name__ == "__main__":' in out.stderr


def test_ray_attempt_whose_worker_died_is_not_a_timeout():
    """A start mark from a worker process that no longer exists is dropped (Ray retries the
    task, whose start sends a new mark); a live one past trial_timeout is a timeout."""
    import os
    import socket
    import subprocess
    import sys
    from types import SimpleNamespace as NS

    from lowfi import Trial
    from lowfi.execution.ray import RayExecutor

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    marks = [(7, socket.gethostname(), gone.pid)]
    ex = RayExecutor(2, trial_timeout=1)
    ex._hub = NS(take_started=NS(remote=lambda: None))
    ex.ray = NS(get=lambda ref, timeout=None: marks.copy(), cancel=lambda ref, force: None)
    trial = Trial(7, {"x": 0.5}, 1.0, 7)
    ex._refs = {"ref": trial}
    now = time.monotonic()
    assert ex._expire(now) == [] and ex._started[7] == now  # the attempt started
    marks.clear()
    assert ex._expire(now + 100) == [] and 7 not in ex._started and "ref" in ex._refs
    marks[:] = [(7, socket.gethostname(), os.getpid())]  # a retry on a live worker
    ex._expire(now + 100)
    marks.clear()
    (done,) = ex._expire(now + 200)
    assert done.trial is trial and "trial_timeout" in done.result.error


def test_a_mistyped_dask_option_is_named_at_once():
    with pytest.raises(TypeError, match="lost_worker_timeout: not an option of the dask executor"):
        lowfi.execution.make_executor("dask", 2, lost_worker_timeout=120)
    assert lowfi.execution.make_executor("dask", 2, memory_limit="1GB").cluster_kwargs == {
        "memory_limit": "1GB"}


def _thread_settings(config, budget):
    from threadpoolctl import threadpool_info

    blas = [p["num_threads"] for p in threadpool_info()]
    return lowfi.Result(config["x"], info={"omp": os.environ.get("OMP_NUM_THREADS"),
                                           "blas": blas})


def test_process_workers_share_the_cores_unless_told_otherwise(monkeypatch):
    for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(v, raising=False)
    share = str(max(1, (os.cpu_count() or 1) // 2))
    res = lowfi.minimize(_thread_settings, {"x": (0.0, 1.0)}, "random", n_workers=2,
                         executor="processes", max_evaluations=2, seed=0, progress=False)
    for info in res.trials["info"]:
        assert info["omp"] == share and all(n <= int(share) for n in info["blas"])
    monkeypatch.setenv("OMP_NUM_THREADS", "3")  # the user's choice stands
    res = lowfi.minimize(_thread_settings, {"x": (0.0, 1.0)}, "random", n_workers=2,
                         executor="processes", max_evaluations=2, seed=0, progress=False)
    assert all(info["omp"] == "3" for info in res.trials["info"])
