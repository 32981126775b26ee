"""The harness that compares the default optimizer ("auto") with other libraries
(benchmarks/peers): conditional spaces reach the peers with their conditions, and lowfi
optimizers take keyword arguments on the command line."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from ConfigSpace import (
    Categorical,
    ConfigurationSpace,
    EqualsCondition,
    Float,
    ForbiddenEqualsClause,
    InCondition,
)

PEERS = Path(__file__).resolve().parents[2] / "benchmarks" / "peers"


@pytest.fixture(scope="module")
def run_peers():
    spec = importlib.util.spec_from_file_location("run_peers", PEERS / "run_peers.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def chain_space() -> ConfigurationSpace:
    """``c`` is active when ``b`` is "p", and ``b`` when ``a`` is "x" or "y"; ``z`` is free."""
    cs = ConfigurationSpace()
    c = Float("c", (0.0, 1.0))
    b = Categorical("b", ["p", "q"])
    a = Categorical("a", ["x", "y", "w"])
    z = Float("z", (1.0, 10.0), log=True)
    cs.add(c, b, a, z)
    cs.add(EqualsCondition(c, b, "p"), InCondition(b, a, ["x", "y"]))
    return cs


def test_describe_passes_conditions_with_parents_first(run_peers):
    hps, conds = run_peers.describe(chain_space())
    names = [h["name"] for h in hps]
    assert sorted(names) == ["a", "b", "c", "z"]
    assert names.index("a") < names.index("b") < names.index("c")
    assert sorted(conds, key=lambda c: c["child"]) == [
        {"child": "b", "parent": "a", "values": ["x", "y"]},
        {"child": "c", "parent": "b", "values": ["p"]},
    ]
    z = hps[names.index("z")]
    assert z == {"name": "z", "type": "float", "lower": 1.0, "upper": 10.0, "log": True}


def test_describe_refuses_forbidden_clauses(run_peers):
    cs = chain_space()
    cs.add(ForbiddenEqualsClause(cs["a"], "w"))
    with pytest.raises(ValueError, match="forbidden"):
        run_peers.describe(cs)


def test_driver_drops_inactive_parameters(run_peers):
    """A peer that samples every parameter (Syne Tune) evaluates only the active ones."""
    hps, conds = run_peers.describe(chain_space())
    p = {"space": hps, "conditions": conds}
    configs = [{"a": "x", "b": "p", "c": 0.5, "z": 2.0},   # all active
               {"a": "x", "b": "q", "c": 0.5, "z": 2.0},   # c inactive
               {"a": "w", "b": "p", "c": 0.5, "z": 2.0}]   # b inactive, so c too
    code = ("import json, sys; sys.path.insert(0, sys.argv[1]); import driver; "
            "p, cs = json.loads(sys.argv[2]); "
            "print(json.dumps([driver.plain(c, p) for c in cs]), file=sys.stderr)")
    out = subprocess.run([sys.executable, "-c", code, str(PEERS), json.dumps([p, configs])],
                         capture_output=True, text=True, check=True)
    got = json.loads(out.stderr.strip().splitlines()[-1])
    assert got == [{"a": "x", "b": "p", "c": 0.5, "z": 2.0},
                   {"a": "x", "b": "q", "z": 2.0},
                   {"a": "w", "z": 2.0}]


def test_lowfi_optimizer_keyword_arguments(run_peers):
    assert run_peers.lowfi_kwargs("auto") == ("auto", {})
    assert run_peers.lowfi_kwargs("auto:model=kde,random_fraction=0.2,joint=false") == (
        "auto", {"model": "kde", "random_fraction": 0.2, "joint": False})
    with pytest.raises(ValueError, match="NAME:key=value"):
        run_peers.lowfi_kwargs("auto:model")


def test_keyword_arguments_reach_the_optimizer(run_peers, monkeypatch):
    from lowfi import optimizers
    from lowfi.analysis import bench

    seen = {}
    orig_make = bench._make_optimizer

    def fake_get(name, space, **kw):
        seen.update(kw, name=name)
        raise RuntimeError("built")

    monkeypatch.setattr(optimizers, "get", fake_get)
    with pytest.raises(RuntimeError, match="built"):
        run_peers.run_lowfi("auto:model=kde", "mf-branin", 3, 2)
    assert seen["name"] == "auto" and seen["model"] == "kde" and seen["seed"] == 3
    assert bench._make_optimizer is orig_make  # the harness is left as it was
