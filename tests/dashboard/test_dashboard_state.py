"""The dashboard's data and server, without a browser."""

import json
import urllib.error
import urllib.request

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from lowfi.dashboard import DashboardServer  # noqa: E402
from lowfi.dashboard.state import RunWatcher  # noqa: E402


def _get(url):
    with urllib.request.urlopen(url, timeout=30) as r:
        return r.status, r.read()


def test_view_of_a_finished_run(tmp_path, make_run):
    db = tmp_path / "a.db"
    res = make_run(db, 40)
    w = RunWatcher(db, "0")
    v = w.snapshot()
    st = res.trials["status"].astype(str)
    assert v["n_trials"] == 40 and len(v["trials"]) == 40
    assert v["counts"]["stopped"] == int((st == "stopped").sum()) > 0
    assert v["counts"]["failed"] == int((st == "failed").sum()) > 0
    assert v["stop_reason"] == "max_evaluations"
    # failures carry their tracebacks
    assert len(v["failures"]) == v["counts"]["failed"]
    assert all("Traceback" in f["error"] and "diverged with dropout" in f["error"]
               for f in v["failures"])
    cols = v["columns"]
    for c in ("status", "budget reached", "epochs trained", "stopped by"):
        assert c in cols
    stopped = [r for r in v["trials"] if r[cols.index("status")] == "stopped"]
    assert all(r[cols.index("stopped by")] == "rung" for r in stopped)
    assert all(r[cols.index("budget reached")] < r[cols.index("budget")] for r in stopped)
    inc = np.array([x for x in v["incumbent"]["best_any"] if x is not None])
    assert len(inc) and np.all(np.diff(inc) <= 0)
    assert sum(r["trials"] for r in v["rungs"]) == 40
    assert v["best"]["loss"] == pytest.approx(res.best_loss)
    json.dumps(v, allow_nan=False)  # what the server sends
    w.close()


def test_reading_follows_a_growing_journal_without_writing(tmp_path, make_run):
    db = tmp_path / "g.db"
    make_run(db, 6)
    before = db.read_bytes()
    w = RunWatcher(db, "0")
    v1 = w.snapshot()
    assert v1["n_trials"] == 6
    assert db.read_bytes() == before  # reading changed nothing
    # the writer appends while the dashboard's read-only connection stays open
    make_run(db, 20, resume=True)
    v2 = w.snapshot()
    assert v2["n_trials"] == 20 and v2["seq"] > v1["seq"]
    assert w.snapshot()["seq"] == v2["seq"]  # nothing new: same view
    w.close()


def test_running_trials_curves_are_shown(tmp_path, dash_space):
    import lowfi
    from lowfi.storage import Journal

    db = tmp_path / "s.db"
    with lowfi.Study(str(db), dash_space, "hyperband", min_budget=1, max_budget=9) as study:
        t = study.ask()
        j = Journal(str(db))  # a second writer, as a worker streaming its curve
        j.curve(t.id, [(1.0, 0.9), (2.0, 0.7)])
        j.close()
        v = RunWatcher(db, "0").snapshot()
    assert v["counts"]["running"] == 1
    (c,) = v["curves"]
    assert c["status"] == "running" and c["points"] == [[1.0, 0.9], [2.0, 0.7]]


def test_cluster_dashboards_recorded_by_the_run_are_linked(tmp_path, make_run):
    from lowfi.storage import Journal

    db = tmp_path / "d.db"
    make_run(db, 3)
    j = Journal(str(db))
    j.session(kind="executor", executor="dask", dashboard="http://127.0.0.1:8787/status")
    j.close()
    v = RunWatcher(db, "0").snapshot()
    assert v["links"] == [{"url": "http://127.0.0.1:8787/status", "name": "dask dashboard"}]
    assert v["stop_reason"] == "max_evaluations"


def test_server_lists_runs_of_a_folder_and_picks_up_new_ones(tmp_path, make_run):
    make_run(tmp_path / "a.db", 5)
    with DashboardServer([tmp_path]) as srv:
        assert srv.url.startswith("http://127.0.0.1:")
        code, body = _get(srv.url + "api/runs")
        runs = json.loads(body)
        assert code == 200 and [r["name"] for r in runs] == ["a.db"]
        make_run(tmp_path / "sub" / "b.db", 7)
        runs = json.loads(_get(srv.url + "api/runs")[1])
        assert sorted((r["name"], r["n_trials"]) for r in runs) == [("a.db", 5), ("b.db", 7)]
        view = json.loads(_get(srv.url + "api/runs/" + runs[1]["id"])[1])
        assert view["n_trials"] == runs[1]["n_trials"]
        page = _get(srv.url)[1].decode()
        assert "static/uPlot.iife.min.js" in page and "cdn" not in page.lower()
        code, js = _get(srv.url + "static/uPlot.iife.min.js")
        assert code == 200 and len(js) > 40_000
        with pytest.raises(urllib.error.HTTPError) as e:
            _get(srv.url + "api/runs/99")
        assert e.value.code == 404


def test_bad_arguments_are_named(tmp_path):
    with pytest.raises(ValueError, match="port: got -1"):
        DashboardServer([tmp_path], port=-1)
    with pytest.raises(ValueError, match="host: got ''"):
        DashboardServer([tmp_path], host="")
    with pytest.raises(FileNotFoundError, match="paths: .*nope"):
        DashboardServer([tmp_path / "nope"])


def test_cli_rejects_bad_arguments_before_serving(tmp_path, capsys):
    from lowfi.cli import main

    assert main(["dashboard", str(tmp_path), "--port", "70000"]) == 2
    out = capsys.readouterr()
    assert "port: got 70000" in out.err and "http://" not in out.out  # nothing served
    assert main(["dashboard", str(tmp_path / "nope")]) == 2
    out = capsys.readouterr()
    assert "nope" in out.err and "http://" not in out.out


def test_a_maximized_run_is_shown_in_scores(tmp_path):
    import lowfi

    def accuracy(config, budget, trial):
        trial.report(1, 0.5 + config["x"] / 4)
        return 1.0 - (config["x"] - 0.3) ** 2

    db = tmp_path / "max.db"
    res = lowfi.minimize(accuracy, {"x": (0.0, 1.0)}, "random", max_evaluations=10,
                         direction="maximize", storage=db, progress=False, seed=0)
    w = RunWatcher(db, "0")
    v = w.snapshot()
    w.close()
    assert v["value_name"] == "score"
    assert v["best"]["loss"] == pytest.approx(res.best_loss) and res.best_loss > 0.9
    inc = np.array([x for x in v["incumbent"]["best_full"] if x is not None])
    assert np.all(np.diff(inc) >= 0) and inc[-1] == pytest.approx(res.best_loss)
    cols = v["columns"]
    assert "score" in cols and "loss" not in cols
    assert sorted(r[cols.index("score")] for r in v["trials"]) == \
        pytest.approx(sorted(res.trials["score"]))
    assert all(0.5 <= p[1] <= 0.75 for c in v["curves"] for p in c["points"])


def test_a_page_reached_through_another_host_name_is_refused(tmp_path, make_run):
    make_run(tmp_path / "a.db", 3)
    with DashboardServer([tmp_path]) as srv:
        port = srv.url.rsplit(":", 1)[1].strip("/")
        for name in ("localhost", "127.0.0.1"):
            req = urllib.request.Request(srv.url + "api/runs", headers={"Host": f"{name}:{port}"})
            with urllib.request.urlopen(req, timeout=10) as r:
                assert r.status == 200
        req = urllib.request.Request(srv.url + "api/runs",
                                     headers={"Host": f"evil.example.com:{port}"})
        with pytest.raises(urllib.error.HTTPError) as e:  # DNS rebinding cannot read the runs
            urllib.request.urlopen(req, timeout=10)
        assert e.value.code == 400


def test_only_web_links_from_a_journal_are_shown(tmp_path, make_run):
    from lowfi.storage import Journal

    db = tmp_path / "d.db"
    make_run(db, 3)
    j = Journal(str(db))
    j.session(kind="executor", executor="dask", dashboard="javascript:alert(1)")
    j.session(kind="executor", executor="ray", dashboard="https://ray.example/")
    j.close()
    assert RunWatcher(db, "0").snapshot()["links"] == [
        {"url": "https://ray.example/", "name": "ray dashboard"}]


def test_cli_port_zero_prints_the_port_it_serves_on(tmp_path, make_run, capsys, monkeypatch):
    import lowfi.dashboard as dash
    from lowfi.cli import main

    make_run(tmp_path / "a.db", 3)
    served = {}
    monkeypatch.setattr(dash, "serve_app", lambda app, host, port: served.update(port=port))
    assert main(["dashboard", str(tmp_path), "--port", "0"]) == 0
    out = capsys.readouterr().out
    assert served["port"] > 0 and f"http://127.0.0.1:{served['port']}/" in out


def test_without_the_web_stack_the_error_names_the_extra(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "uvicorn", None)  # as if not installed
    with pytest.raises(ImportError, match=r"pip install 'lowfi\[dashboard\]'"):
        DashboardServer([tmp_path])


def test_a_journal_at_rest_is_read_without_files_and_a_replaced_one_afresh(tmp_path, make_run):
    db = tmp_path / "x.db"
    make_run(db, 5)
    w = RunWatcher(db, "0")
    assert w.snapshot()["n_trials"] == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.db"]  # no -shm/-wal beside it
    w.close()
    w = RunWatcher(db, "0")
    assert w.snapshot()["n_trials"] == 5
    for f in tmp_path.iterdir():
        f.unlink()  # the user removes the run ...
    assert w.snapshot()["error"] == "waiting for the journal to be created"
    make_run(db, 3)  # ... and a new run writes the same path
    view = w.snapshot()
    assert view["n_trials"] == 3 and view["error"] is None
    w.close()


def test_before_any_trial_reaches_max_budget_the_best_at_the_highest_is_shown(tmp_path):
    import lowfi

    db = tmp_path / "early.db"
    res = lowfi.minimize(lambda c, b: c["x"] / b, {"x": (0.0, 1.0)}, "hyperband", min_budget=1,
                         max_budget=27, max_evaluations=5, storage=db, progress=False, seed=0)
    assert (res.trials["budget"] < 27).all()
    best = RunWatcher(db, "0").snapshot()["best"]
    top = res.trials[res.trials["budget"] == res.trials["budget"].max()]
    assert best["below_max_budget"] and best["budget"] == top["budget"].iloc[0]
    assert best["loss"] == pytest.approx(top["loss"].min())
