"""Runs for the dashboard tests: a small simulated search whose trials report curves, some
stopped by a rung rule and some failing."""

import math

import pytest
from ConfigSpace import Categorical, ConfigurationSpace, Float

import lowfi


def space():
    cs = ConfigurationSpace(seed=0)
    cs.add([Float("lr", (1e-4, 1e-1), log=True), Float("dropout", (0.0, 0.5)),
            Categorical("act", ["relu", "tanh", "sigmoid"])])
    return cs


def objective(trial):
    c = trial.config
    if c["dropout"] > 0.45:
        raise RuntimeError(f"diverged with dropout {c['dropout']:.3f}")
    base = ({"relu": 0.1, "tanh": 0.3, "sigmoid": 0.8}[c["act"]]
            + 0.05 * abs(math.log10(c["lr"]) + 2.5) + 0.1 * c["dropout"])
    v = s = None
    for s in range(1, int(trial.budget) + 1):
        v = base + 1.0 / s
        trial.report(s, v)
        if trial.should_stop():
            break
    return lowfi.Result(v, cost=float(s))


def run(db, n, resume=False):
    from lowfi.curves.stopping import RungStopping

    return lowfi.minimize(objective, space(), "hyperband", min_budget=1, max_budget=9, eta=3,
                          executor="simulated", n_workers=2, storage=str(db), resume=resume,
                          max_evaluations=n, progress=False, seed=0,
                          stopping=RungStopping(min_step=1, eta=3))


@pytest.fixture
def make_run():
    return run


@pytest.fixture
def dash_space():
    return space()
