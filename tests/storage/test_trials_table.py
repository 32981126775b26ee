"""The trials table is built column by column from the journal's events; it must give exactly
the frame of the straightforward row-by-row build below (the reference), for every kind of
event, and the same frame when it is pickled part-way and extended with the later events."""

import json
import math
import pickle

import numpy as np
import pandas as pd
import pytest

import lowfi
from lowfi.curves.stopping import MedianStopping
from lowfi.storage import Journal, JournalError, trials_frame
from lowfi.storage.journal import Event, TrialsTable


def reference_frame(events):
    """One row dict per asked trial, then pandas from the list of dicts."""
    rows, order, curves = {}, [], {}
    for e in events:
        if e.kind == "ask":
            d = e.data
            row = {"trial_id": e.trial_id, "config_id": d["config_id"], "budget": d["budget"],
                   "loss": np.nan, "status": "running", "cost": np.nan, "start": np.nan,
                   "end": np.nan, "worker": None, "bracket": d["info"].get("bracket"),
                   "rung": d["info"].get("rung"), "error": None, "info": {}, "asked": e.t}
            row.update({f"config.{k}": v for k, v in d["config"].items()})
            if e.trial_id not in rows:
                order.append(e.trial_id)
            rows[e.trial_id] = row
        elif e.kind == "session":
            old, new = {"stop": ("running", "cancelled"),
                        "resume": ("cancelled", "running")}.get(e.data.get("kind"), (None, None))
            for row in rows.values():
                if row["status"] == old:
                    row["status"] = new
        elif e.kind == "curve":
            curves.setdefault(e.trial_id, []).extend(tuple(p) for p in e.data["points"])
        elif e.kind == "tell" and e.trial_id in rows:
            d = e.data
            loss = d["loss"]
            rows[e.trial_id].update(
                loss=(tuple(loss) if isinstance(loss, list) else (np.nan if loss is None else loss)),
                status=d["status"], cost=d["cost"], start=d["start"], end=d["end"],
                worker=d["worker"], error=d.get("error"), info=d.get("info") or {})
            if d.get("curve"):
                curves[e.trial_id] = [tuple(p) for p in d["curve"]]
    for tid, pts in curves.items():
        if tid in rows:
            rows[tid]["curve"] = pts
    df = pd.DataFrame([rows[t] for t in order])
    if not order:
        df = pd.DataFrame(columns=["trial_id", "config_id", "budget", "loss", "status", "cost",
                                   "start", "end", "worker", "bracket", "rung", "error", "info",
                                   "asked", "curve"])
    if "curve" not in df and len(df):
        df["curve"] = [None] * len(df)
    from lowfi.core.trial import budget_reached

    df["budget_reached"] = [budget_reached(s, b, c) for s, b, c
                            in zip(df["status"], df["budget"], df["curve"], strict=True)]
    return df


def _same(a, b):
    assert list(a.columns) == list(b.columns)
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    for col in a.columns:  # object columns too: same values, NaN where NaN, same types
        for x, y in zip(a[col], b[col], strict=True):
            if isinstance(x, float) and math.isnan(x):
                assert isinstance(y, float) and math.isnan(y), (col, x, y)
            else:
                assert type(x) is type(y) and x == y, (col, x, y)


def _ev(seq, kind, tid, data, t=0.0):
    return Event(seq, kind, tid, json.dumps(data), t)


def _ask(seq, tid, config, budget=1, **info):
    return _ev(seq, "ask", tid, {"config": config, "budget": budget, "config_id": tid,
                                 "info": info}, t=100.0 + seq)


def _tell(seq, tid, loss, status="ok", curve=(), **kw):
    return _ev(seq, "tell", tid, {"status": status, "loss": loss, "cost": 0.5, "info": kw,
                                  "error": "boom" if status == "failed" else None,
                                  "curve": [list(p) for p in curve], "start": 1.0 + seq,
                                  "end": 2.0 + seq, "worker": f"w{tid % 2}"})


def tricky_events():
    """Conditional configs (keys appearing late, in another order), a trial asked again,
    curves streamed and told, a stop and a resume, failures, stopped trials, a list loss, a
    tell for a trial never asked, a NaN written as text."""
    return [
        _ev(1, "session", None, {"kind": "start"}),
        _ask(2, 0, {"x": 0.5, "opt": "a"}, bracket=0, rung=0),
        _ask(3, 1, {"x": 0.25, "opt": "b", "depth": 3}, budget=3),
        _ev(4, "curve", 1, {"points": [[1, 0.9], [2, 0.8]]}),
        _tell(5, 0, 0.1),
        _ask(6, 2, {"opt": "a", "x": 1e-300}, budget=9),
        _ev(7, "session", None, {"kind": "stop", "reason": "walltime"}),
        _ev(8, "session", None, {"kind": "resume"}),
        _ask(9, 1, {"x": 0.75, "opt": "b", "depth": 4}, budget=3),
        _tell(10, 1, 0.3, status="stopped", curve=[(1, 0.5), (2, 0.3)]),
        _tell(11, 2, None, status="failed"),
        _tell(12, 77, 0.0),
        _ask(13, 3, {"x": 0.1, "opt": "a", "lr": "nan"}, budget=1.5),
        _tell(14, 3, [0.2, 3.0], metric="f1"),
        _ask(15, 4, {"x": 0.2, "opt": "c"}),
        _ev(16, "curve", 4, {"points": [[0.5, 1.0]]}),
        _ev(17, "session", None, {"kind": "stop", "reason": "done"}),
    ]


def test_table_equals_the_row_by_row_build_on_every_kind_of_event():
    events = tricky_events()
    for k in range(len(events) + 1):  # every prefix, including the empty journal
        _same(trials_frame(events[:k]), reference_frame(events[:k]))


def test_table_pickled_part_way_and_extended_equals_the_full_build():
    events = tricky_events()
    rows = [(e.seq, e.kind, e.trial_id, e._data, e.t) for e in events]
    full = reference_frame(events)
    for k in range(len(rows) + 1):
        table = pickle.loads(pickle.dumps(TrialsTable().apply(rows[:k])))
        assert table.upto == (rows[k - 1][0] if k else 0)
        _same(table.apply(rows).frame(), full)  # events up to `upto` are not applied twice


def test_a_damaged_event_is_an_error_naming_it():
    events = [_ask(1, 0, {"x": 0.5}), Event(2, "tell", 0, '{"status": "ok", "loss": 0.1', 0.0)]
    with pytest.raises(JournalError, match="event 2"):
        trials_frame(events)
    events[1] = Event(2, "tell", 0, '{"status": "ok"} {"loss": 1}', 0.0)
    with pytest.raises(JournalError, match="event 2"):
        trials_frame(events)


def _objective(trial):
    x = trial.config["x"]
    if x > 0.9:
        raise ValueError("too large")
    for step in range(1, int(trial.budget) + 1):
        trial.report(step, (x - 0.3) ** 2 + 1.0 / step)
        if trial.should_stop():
            break
    return trial.curve[-1][1]


def test_table_of_a_real_run_with_stops_failures_and_a_resume(tmp_path):
    db = str(tmp_path / "run.db")
    kw = dict(min_budget=1, max_budget=9, executor="inline", progress=False, seed=3,
              error_on_all_failed=False)
    lowfi.minimize(_objective, {"x": (0.0, 1.0)}, "hyperband", storage=db, max_evaluations=20,
                   stopping=MedianStopping(), **kw)
    res = lowfi.resume(db, _objective, max_evaluations=30, executor="inline", progress=False)
    with Journal(db, create=False) as j:
        events = j.events()
    assert {e.kind for e in events} >= {"ask", "tell", "curve", "session"}
    ref = reference_frame(events)
    assert set(ref["status"]) >= {"ok", "failed", "stopped"}
    _same(trials_frame(events), ref)
    _same(res.trials.drop(columns=["overhead"]), ref)


def test_the_table_kept_at_a_clean_stop_is_used_only_while_it_matches_the_events(tmp_path):
    db = str(tmp_path / "run.db")
    lowfi.minimize(_objective, {"x": (0.0, 0.8)}, "asha", min_budget=1, max_budget=3,
                   executor="inline", progress=False, seed=1, storage=db, max_evaluations=12)
    with Journal(db, create=False) as j:
        kept = j._stored_table()
        events = j.events()
        assert kept is not None and kept.upto == events[-1].seq  # the stop is the last event
        _same(j.trials_table().frame(), reference_frame(events))
    _same(lowfi.storage.load_trials(db), reference_frame(events))
    # a journal whose events no longer match the kept table (an event removed): not used
    with Journal(db, readonly=False) as j:
        j._q("DELETE FROM events WHERE seq = ?", (events[3].seq,))
        assert j._stored_table() is None
        rest = j.events()
        _same(j.trials_table().frame(), reference_frame(rest))
