"""Resume from snapshots: the journal stores the optimizer every so many results and at a clean
stop; a resume loads the latest valid one and replays only later events, and a run killed
with SIGKILL at a random point resumes to exactly the uninterrupted run, for every optimizer."""

import json
import os
import subprocess
import sys

import pytest

import lowfi
from lowfi.optimizers import REGISTRY
from lowfi.run.resume import open_run, run_options
from lowfi.storage import Journal

HELPER = os.path.join(os.path.dirname(__file__), "_kill_resume.py")
#: every registered optimizer, by name (a new registration must be added here)
FAST = ["random", "sh", "hyperband", "asha", "bohb", "tpe", "re", "gp", "multi-hyperband"]
SLOW = ["auto", "smac", "mfbo", "freeze-thaw", "reinforce", "lemonade", "pbt", "bnn-bo",
        "bnn-mfbo", "multi-mfbo"]


def test_the_lists_name_every_registered_optimizer():
    assert sorted(FAST + SLOW) == sorted(REGISTRY)


def _kill_and_resume(names, tmp_path):
    out = subprocess.run([sys.executable, HELPER, str(tmp_path), ",".join(names)],
                         capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    rows = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    assert [r["name"] for r in rows] == names, out.stderr[-3000:]
    for r in rows:
        assert "error" not in r, r  # an optimizer that cannot be built fails the test
        assert r["killed"], r
        assert r["snapshot_upto"] > 0, r  # the resume started from a periodic snapshot
        assert r["same"] and r["n"] == 24, r


def test_sigkill_then_resume_is_exact_fast_optimizers(tmp_path):
    _kill_and_resume(FAST, tmp_path)


@pytest.mark.slow
def test_sigkill_then_resume_is_exact_other_optimizers(tmp_path):
    _kill_and_resume(SLOW, tmp_path)


def _f(config, budget):
    return (config["x"] - 0.3) ** 2 + 1.0 / budget


def _open(db, **kw):
    return open_run(db, _f, None, "hyperband", 1, 9, 3, 2, True, **kw)


def test_resume_loads_the_latest_snapshot_and_verify_replays_everything(tmp_path):
    db = str(tmp_path / "s.db")
    with run_options(snapshot_every=5):
        lowfi.minimize(_f, {"x": (0.0, 1.0)}, "hyperband", min_budget=1, max_budget=9,
                       seed=2, max_evaluations=23, storage=db, progress=False)
    with Journal(db, create=False) as j:
        snaps = [u for u, _ in j.snapshots()]
        last_tell = j.events(("tell",))[-1].seq
    assert len(snaps) == 2 and snaps[0] >= last_tell  # the newest is from the clean stop

    j, opt, info = _open(db)
    assert info["snapshot"] == snaps[0] and len(opt.history) == 23
    nxt = opt.ask()
    j.close()
    j, full, info = _open(db, verify=True)  # a full replay, checked against the snapshot
    assert info["snapshot"] is None and len(full.history) == 23
    other = full.ask()
    assert (nxt.id, nxt.config, nxt.budget) == (other.id, other.config, other.budget)
    # a snapshot that is not signed by this user is ignored: full replay instead
    j.conn.execute("UPDATE snapshots SET value = substr(value, 20)")
    j.close()
    j, again, info = _open(db)
    j.close()
    assert info["snapshot"] is None and len(again.history) == 23


def test_snapshots_pickle_by_reference_and_fall_back_to_cloudpickle_by_value():
    import pickle

    from lowfi.storage.journal import _dumps

    opt = lowfi.optimizers.get("bohb", {"x": (0.0, 1.0)}, min_budget=1, max_budget=9, seed=0)
    for _ in range(30):
        t = opt.ask()
        opt.tell(t, lowfi.Result(loss=t.config["x"] + 1.0 / t.budget))
    blob = _dumps(opt)
    assert b"__main__" not in blob
    again = pickle.loads(blob)  # the plain pickle of an importable optimizer
    assert [(a.config, a.budget) for a in (opt.ask(), opt.ask())] == \
        [(b.config, b.budget) for b in (again.ask(), again.ask())]

    class Local:  # not importable by name: pickled by value
        f = staticmethod(lambda v: v + 1)

    obj = {"local": Local(), "fn": lambda v: 2 * v}
    back = pickle.loads(_dumps(obj))
    assert back["fn"](3) == 6 and back["local"].f(1) == 2


def test_a_history_pickles_without_its_caches_and_gives_the_same_observations():
    import pickle

    import numpy as np

    opt = lowfi.optimizers.get("bohb", {"x": (0.0, 1.0), "c": ["a", "b"]}, min_budget=1,
                               max_budget=9, seed=0)
    for _ in range(40):
        t = opt.ask()
        opt.tell(t, lowfi.Result(loss=t.config["x"] + 1.0 / t.budget))
    h = opt.history
    X, y = h.observations(9.0)
    V = h.vectors()
    assert h._cache and len(h._vectors) == len(h.records)
    back = pickle.loads(pickle.dumps(h))
    assert back._cache == {} and isinstance(back._vectors, list)
    assert all(np.array_equal(a, b) for a, b in zip(back._vectors, h._vectors, strict=True))
    X2, y2 = back.observations(9.0)
    assert np.array_equal(X, X2) and np.array_equal(y, y2) and np.array_equal(V, back.vectors())
    assert h._cache  # pickling left the original's caches alone


def test_a_gp_past_max_exact_snapshots_only_its_sparse_posterior():
    import pickle

    import numpy as np

    from lowfi.storage.journal import _dumps

    def run(max_exact):
        opt = lowfi.optimizers.get("gp", {"x": (0.0, 1.0), "y": (0.0, 1.0)}, max_budget=1,
                                   seed=0, n_candidates=16, n_local=0,
                                   gp_kwargs={"max_exact": max_exact, "n_inducing": 8,
                                              "n_hyper": 8, "restart_every": 100})
        for _ in range(40):
            t = opt.ask()
            opt.tell(t, lowfi.Result(loss=(t.config["x"] - 0.3) ** 2 + t.config["y"]))
        return opt

    opt = run(30)  # exact up to 30 results, then sparse (DTC)
    gp = opt.proposer.gp
    assert gp.sparse
    back = pickle.loads(_dumps(opt))
    # the exact posterior's factor (max_exact x max_exact) is gone, from the optimizer and
    # from its snapshot; the sparse posterior predicts as before
    assert not hasattr(gp, "_L") and not hasattr(back.proposer.gp, "_L")
    Xq = np.random.default_rng(1).random((5, gp.X_train.shape[1]))
    for a, b in zip(gp.predict(Xq), back.proposer.gp.predict(Xq), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    assert (opt.ask().config, opt.ask().config) == (back.ask().config, back.ask().config)
    # and an exact GP keeps no sparse factors
    exact = run(1000).proposer.gp
    assert not exact.sparse and not hasattr(exact, "_La") and hasattr(exact, "_L")
