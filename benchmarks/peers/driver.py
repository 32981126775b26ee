"""Peer-side driver: runs one peer optimizer through its own public API (in its own virtual
environment; this file imports nothing from lowfi).

Talks to ``run_peers.py`` over a pipe: writes one JSON request per evaluation
(``{"config": {...}, "budget": b}``) to the original stdout and reads the reply
(``{"loss": x}``) from stdin; library output goes to stderr. When the budget is spent the
reply is ``{"stop": true}`` and the driver exits at once.

Usage (by run_peers.py): ``python driver.py PEER SEED`` with the problem (space, budgets) as
JSON on the first line of stdin.
"""

from __future__ import annotations

import json
import math
import os
import sys

_PROTO = os.fdopen(os.dup(1), "w", buffering=1)
os.dup2(2, 1)  # everything printed by the libraries goes to stderr


def evaluate(config: dict, budget: float) -> float:
    _PROTO.write(json.dumps({"config": config, "budget": float(budget)}) + "\n")
    reply = json.loads(sys.stdin.readline() or '{"stop": true}')
    if reply.get("stop"):
        _PROTO.flush()
        os._exit(0)
    return float(reply["loss"])


def rungs(p: dict) -> list[float]:
    lo, hi, eta = p["min_budget"], p["max_budget"], p["eta"]
    k = 0
    while hi / eta ** (k + 1) >= lo * (1 - 1e-9):
        k += 1
    return [hi / eta ** (k - i) for i in range(k + 1)]


def _conditions(p: dict) -> dict:
    """child name -> list of (parent name, activating values as strings)."""
    out: dict = {}
    for c in p.get("conditions", []):
        out.setdefault(c["child"], []).append((c["parent"], [str(v) for v in c["values"]]))
    return out


def is_active(name: str, config: dict, p: dict) -> bool:
    """Whether ``name`` is active given the values already in ``config`` (its parents are
    active and take an activating value; several conditions on one child must all hold)."""
    return all(parent in config and str(config[parent]) in values
               for parent, values in _conditions(p).get(name, []))


def plain(config: dict, p: dict) -> dict:
    """Peer values to the problem's types (ints, categorical choices as given); inactive
    hyperparameters (by the space's conditions) are left out, so a peer that samples a
    flat space evaluates the same configuration as one that knows the conditions."""
    out = {}
    for h in p["space"]:  # parents come before their children
        if h["name"] not in config or not is_active(h["name"], out, p):
            continue
        v = config[h["name"]]
        if h["type"] == "int":
            v = int(round(v))
        elif h["type"] in ("cat", "ord"):
            v = h["choices"][[str(c) for c in h["choices"]].index(str(v))]
        else:
            v = float(v)
        out[h["name"]] = v
    return out


# ---------------------------------------------------------------------------- Optuna
def run_optuna(p: dict, seed: int, pruner_name: str) -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    budgets = rungs(p)
    steps = [max(int(round(b)), 1) for b in budgets]  # Optuna's resources are integer steps
    eta = max(int(round(p["eta"])), 2)
    if pruner_name == "sh":
        pruner = optuna.pruners.SuccessiveHalvingPruner(min_resource=steps[0], reduction_factor=eta)
    else:
        pruner = optuna.pruners.HyperbandPruner(min_resource=steps[0], max_resource=steps[-1],
                                                reduction_factor=eta)
    sampler = optuna.samplers.TPESampler(seed=seed)
    study = optuna.create_study(sampler=sampler, pruner=pruner)

    def objective(trial):
        cfg = {}
        for h in p["space"]:  # define-by-run: a child is suggested only when it is active
            if not is_active(h["name"], cfg, p):
                continue
            if h["type"] == "float":
                cfg[h["name"]] = trial.suggest_float(h["name"], h["lower"], h["upper"], log=h["log"])
            elif h["type"] == "int":
                cfg[h["name"]] = trial.suggest_int(h["name"], h["lower"], h["upper"], log=h["log"])
            else:
                cfg[h["name"]] = trial.suggest_categorical(h["name"], [str(c) for c in h["choices"]])
        cfg = plain(cfg, p)
        loss = math.inf
        for b, step in zip(budgets, steps):  # no reuse: every rung is a fresh evaluation
            loss = evaluate(cfg, b)
            trial.report(loss, step=step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return loss

    study.optimize(objective, n_trials=10**7)


# ---------------------------------------------------------------------------- DEHB
def _cs06(p: dict, seed: int):
    import ConfigSpace as CS

    cs = CS.ConfigurationSpace(seed=seed)
    hps = {}
    for h in p["space"]:
        if h["type"] == "float":
            hp = CS.UniformFloatHyperparameter(h["name"], h["lower"], h["upper"], log=h["log"])
        elif h["type"] == "int":
            hp = CS.UniformIntegerHyperparameter(h["name"], h["lower"], h["upper"], log=h["log"])
        elif h["type"] == "ord":
            hp = CS.OrdinalHyperparameter(h["name"], [str(c) for c in h["choices"]])
        else:
            hp = CS.CategoricalHyperparameter(h["name"], [str(c) for c in h["choices"]])
        cs.add_hyperparameter(hp)
        hps[h["name"]] = hp
    for c in p.get("conditions", []):
        cs.add_condition(CS.InCondition(hps[c["child"]], hps[c["parent"]], [str(v) for v in c["values"]]))
    return cs


def run_dehb(p: dict, seed: int) -> None:
    from dehb import DEHB

    cs = _cs06(p, seed)

    def f(config, fidelity, **kwargs):
        loss = evaluate(plain(dict(config), p), float(fidelity))
        return {"fitness": loss, "cost": float(fidelity)}

    opt = DEHB(f=f, cs=cs, dimensions=len(p["space"]), min_fidelity=p["min_budget"],
               max_fidelity=p["max_budget"], eta=p["eta"], n_workers=1, seed=seed,
               output_path=os.environ.get("TMPDIR", "/tmp") + f"/dehb-{os.getpid()}")
    opt.run(fevals=10**7)


# ---------------------------------------------------------------------------- HpBandSter
def run_hpbandster(p: dict, seed: int, method: str) -> None:
    import logging

    import hpbandster.core.nameserver as hpns
    import numpy as np
    from hpbandster.core.worker import Worker
    from hpbandster.optimizers import BOHB, HyperBand, RandomSearch

    logging.disable(logging.CRITICAL)
    np.random.seed(seed)  # noqa: NPY002 - HpBandSter draws from the global generator
    import random

    random.seed(seed)
    cs = _cs06(p, seed)

    class W(Worker):
        def compute(self, config, budget, **kwargs):
            return {"loss": evaluate(plain(dict(config), p), float(budget)), "info": {}}

    run_id = f"peer{os.getpid()}"
    ns = hpns.NameServer(run_id=run_id, host="127.0.0.1", port=None)
    host, port = ns.start()
    w = W(nameserver=host, nameserver_port=port, run_id=run_id)
    w.run(background=True)
    cls = {"bohb": BOHB, "hyperband": HyperBand, "random": RandomSearch}[method]
    opt = cls(configspace=cs, run_id=run_id, nameserver=host, nameserver_port=port,
              min_budget=p["min_budget"], max_budget=p["max_budget"], eta=p["eta"])
    opt.run(n_iterations=10**6)


# ---------------------------------------------------------------------------- SMAC3
def run_smac(p: dict, seed: int, facade: str) -> None:
    from ConfigSpace import Categorical, ConfigurationSpace, Float, InCondition, Integer
    from smac import HyperparameterOptimizationFacade, MultiFidelityFacade, Scenario

    cs = ConfigurationSpace(seed=seed)
    for h in p["space"]:
        if h["type"] == "float":
            cs.add(Float(h["name"], (h["lower"], h["upper"]), log=h["log"]))
        elif h["type"] == "int":
            cs.add(Integer(h["name"], (h["lower"], h["upper"]), log=h["log"]))
        else:
            cs.add(Categorical(h["name"], [str(c) for c in h["choices"]], ordered=h["type"] == "ord"))
    for c in p.get("conditions", []):
        cs.add(InCondition(cs[c["child"]], cs[c["parent"]], [str(v) for v in c["values"]]))
    out = os.environ.get("TMPDIR", "/tmp") + f"/smac-{os.getpid()}"
    if facade == "mf":
        sc = Scenario(cs, deterministic=True, n_trials=10**7, min_budget=p["min_budget"],
                      max_budget=p["max_budget"], seed=seed, output_directory=out)

        def f(config, seed: int = 0, budget: float = 1.0):
            return evaluate(plain(dict(config), p), float(budget))

        ig = MultiFidelityFacade.get_intensifier(sc, eta=p["eta"])
        smac = MultiFidelityFacade(sc, f, intensifier=ig, overwrite=True, logging_level=40)
    else:
        sc = Scenario(cs, deterministic=True, n_trials=10**7, seed=seed, output_directory=out)

        def f(config, seed: int = 0):
            return evaluate(plain(dict(config), p), p["max_budget"])

        smac = HyperparameterOptimizationFacade(sc, f, overwrite=True, logging_level=40)
    smac.optimize()


# ---------------------------------------------------------------------------- Syne Tune
def run_syne(p: dict, seed: int, method: str) -> None:
    """Syne Tune's schedulers (0.16 API) driven by hand through the calls its Tuner makes
    (``suggest``, ``on_trial_add``, ``on_trial_result``, ``on_trial_complete``), one worker,
    stopping-type asynchronous successive halving with the problem's rungs: ``time_attr`` is
    the budget, ``grace_period`` the smallest rung, ``max_t`` = max_budget and
    ``reduction_factor`` = eta. Syne Tune's config spaces have no conditions: on a
    conditional space it samples every hyperparameter and inactive ones are dropped before
    the evaluation (``plain``)."""
    from datetime import datetime

    import numpy as np
    import syne_tune.optimizer.baselines as bl
    from syne_tune.backend.trial_status import Trial
    from syne_tune.config_space import choice, lograndint, loguniform, randint, uniform

    np.random.seed(seed)  # noqa: NPY002 - ASHA draws brackets from the global generator
    cfg_space = {}
    for h in p["space"]:
        if h["type"] == "float":
            cfg_space[h["name"]] = (loguniform if h["log"] else uniform)(h["lower"], h["upper"])
        elif h["type"] == "int":
            cfg_space[h["name"]] = (lograndint if h["log"] else randint)(h["lower"], h["upper"])
        else:
            cfg_space[h["name"]] = choice([str(c) for c in h["choices"]])
    budgets = rungs(p)
    cls = {"asha": "ASHA", "bohb": "BOHB", "asha-bore": "ASHABORE", "asha-cqr": "ASHACQR"}[method]
    sched = getattr(bl, cls)(cfg_space, metric="loss", time_attr="budget", max_t=budgets[-1],
                             do_minimize=True, random_seed=seed, grace_period=budgets[0],
                             reduction_factor=p["eta"])
    tid = 0
    while True:
        sug = sched.suggest()
        if sug is None:
            return
        trial = Trial(trial_id=tid, config=sug.config, creation_time=datetime.now())
        sched.on_trial_add(trial)
        tid += 1
        for i, b in enumerate(budgets):
            loss = evaluate(plain(dict(sug.config), p), b)  # no reuse: each rung from scratch
            result = {"loss": loss, "budget": b * (1 + 1e-9)}
            decision = sched.on_trial_result(trial, result)
            if i == len(budgets) - 1:  # as the Tuner: the last result, then completion
                sched.on_trial_complete(trial, result)
                break
            if decision == "STOP":
                break


PEERS = {
    "optuna-tpe-sh": lambda p, s: run_optuna(p, s, "sh"),
    "optuna-tpe-hb": lambda p, s: run_optuna(p, s, "hb"),
    "dehb": run_dehb,
    "hpbandster-bohb": lambda p, s: run_hpbandster(p, s, "bohb"),
    "hpbandster-hyperband": lambda p, s: run_hpbandster(p, s, "hyperband"),
    "smac-mf-hyperband": lambda p, s: run_smac(p, s, "mf"),
    "smac-hpo": lambda p, s: run_smac(p, s, "hpo"),
    "synetune-asha": lambda p, s: run_syne(p, s, "asha"),
    "synetune-bohb": lambda p, s: run_syne(p, s, "bohb"),
    "synetune-asha-bore": lambda p, s: run_syne(p, s, "asha-bore"),
    "synetune-asha-cqr": lambda p, s: run_syne(p, s, "asha-cqr"),
}

if __name__ == "__main__":
    peer, seed = sys.argv[1], int(sys.argv[2])
    problem = json.loads(sys.stdin.readline())
    PEERS[peer](problem, seed)
    _PROTO.write(json.dumps({"done": True}) + "\n")
