"""YAHPO Gym surrogate benchmarks evaluated locally with onnxruntime (the ``yahpo`` extra).

YAHPO Gym (Pfisterer et al. 2022, "YAHPO Gym - An Efficient Multi-Objective Multi-Fidelity
Benchmark for Hyperparameter Optimization") fits neural-network surrogates to real HPO runs
and ships them as ONNX models. lowfi calls the models directly (no yahpo-gym package, which
pins old numpy and ConfigSpace): each model takes ``x_cont`` (float32, continuous inputs in
the scenario's order, the fidelity first) and ``x_cat`` (int32, categoricals coded with the
scenario's ``encoding.json``) and returns the targets on their original scale.

Data: the folder holding ``lcbench/model.onnx`` etc. is taken from the ``data_path``
argument, else the ``LOWFI_YAHPO_DATA`` environment variable (in a source checkout of lowfi
also ``../shared/data/yahpo_data`` beside the checkout).
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from lowfi.benchmarks._data import checkout_data
from lowfi.benchmarks.base import Benchmark
from lowfi.core.seeding import as_generator
from lowfi.core.trial import Result

ENV = "LOWFI_YAHPO_DATA"
DEFAULT_PATHS = checkout_data("yahpo_data")

LCBENCH_CONT = ["epoch", "batch_size", "learning_rate", "momentum", "weight_decay",
                "num_layers", "max_units", "max_dropout"]
LCBENCH_TARGETS = ["time", "val_accuracy", "val_cross_entropy", "val_balanced_accuracy",
                   "test_cross_entropy", "test_balanced_accuracy"]
_NB301_PREFIX = "NetworkSelectorDatasetInfo_COLON_darts_COLON_"
NB301_CAT = ([f"{_NB301_PREFIX}edge_{c}_{i}" for c in ("normal", "reduce") for i in range(14)]
             + [f"{_NB301_PREFIX}inputs_node_{c}_{i}" for c in ("normal", "reduce")
                for i in (3, 4, 5)])
NB301_TARGETS = ["val_accuracy", "val_cross_entropy", "runtime", "out4_unknown"]


def data_path(data_path: str | os.PathLike | None = None) -> Path:
    """The YAHPO data folder (argument, then ``$LOWFI_YAHPO_DATA``; in a source checkout also
    ``../shared/data/yahpo_data``)."""
    if data_path is not None:
        p = Path(data_path)
        if not p.is_dir():
            raise FileNotFoundError(f"data_path: {str(p)!r} is not a folder (expected the YAHPO "
                                    "data folder holding lcbench/, nb301_v2/, ...)")
        return p
    env = os.environ.get(ENV)
    if env:
        p = Path(env)
        if not p.is_dir():
            raise FileNotFoundError(f"{ENV}: {env!r} is not a folder (expected the YAHPO data "
                                    "folder holding lcbench/, nb301_v2/, ...)")
        return p
    for cand in DEFAULT_PATHS:
        if Path(cand).is_dir():
            return Path(cand)
    raise FileNotFoundError(
        "YAHPO data not found: pass data_path=..., or set the environment variable "
        f"{ENV} to the YAHPO data folder holding lcbench/, nb301_v2/, ... (files from "
        "https://github.com/slds-lmu/yahpo_data)"
    )


def _need(path: Path) -> Path:
    if not path.exists():
        raise FileNotFoundError(f"YAHPO data file missing: {path} (the folder comes from "
                                f"data_path= or ${ENV}; the files from "
                                "https://github.com/slds-lmu/yahpo_data, nb301_v2/ from its "
                                "branch v2_final)")
    return path


def _session(model: Path):
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise ImportError("YAHPO surrogate benchmarks need onnxruntime: "
                          "pip install lowfi[yahpo]") from exc
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(str(_need(model)), sess_options=opts,
                                providers=["CPUExecutionProvider"])


def _read_space(path: Path, drop: tuple[str, ...], name: str):
    from ConfigSpace import ConfigurationSpace
    from ConfigSpace.read_and_write import json as cs_json

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = cs_json.read(_need(path).read_text())
    if not drop:
        return full
    cs = ConfigurationSpace(name=name)
    cs.add([hp for hp in full.values() if hp.name not in drop])
    # keep the conditions and forbidden clauses among the kept parameters (rbv2_xgboost's
    # booster-dependent parameters, nb301's input nodes)
    conds = [c for c in full.conditions if not _condition_names(c) & set(drop)]
    if conds:
        cs.add(conds)
    return cs


def _condition_names(cond: Any) -> set[str]:
    """Names of the parameters a (simple or conjunctive) ConfigSpace condition mentions."""
    if hasattr(cond, "child"):
        return {cond.child.name, cond.parent.name}
    return {h.name for h in cond.get_children()} | {h.name for h in cond.get_parents()}


def _global_max(folder: Path, scenario: str, instance: str, metric: str) -> float | None:
    f = folder / "global_statistics" / "instance_target_statistics.csv"
    if not f.exists():
        return None
    import pandas as pd

    st = pd.read_csv(f)
    row = st[(st.scenario == scenario) & (st.instance.astype(str) == str(instance))
             & (st.metric == metric) & (st.statistic == "max")]
    return float(row.value.iloc[0]) if len(row) else None


class LCBench(Benchmark):
    """YAHPO LCBench surrogate: an MLP (funnel-shaped, Zimmer et al. 2021, "Auto-PyTorch
    Tabular") on one of 34 OpenML tasks; budget = training epochs.

    Parameters
    ----------
    task_id
        OpenML task id (e.g. ``"3945"``); the 34 ids of the YAHPO space are accepted.
    data_path
        YAHPO data folder (see the module docstring).
    min_budget, max_budget
        Epochs; default 2..51, the clean range (in the original data epoch 1 is the untrained
        state and epoch 52 an odd extra epoch). 1..52 is allowed.

    Notes
    -----
    Loss = 1 - val_accuracy / 100 at the rounded epoch; cost = the surrogate's ``time``
    target (seconds of training up to that epoch), so ``tabular = True`` and a simulated clock
    applies. The surrogate is deterministic, so ``test_loss`` is the loss at ``max_budget``.
    ``optimum`` is the best of the YAHPO global statistics maximum (0.5M random points, any
    epoch) and 2,000 random configurations at ``max_budget``; ``f_rand`` is the mean of those
    2,000 configurations (drawn with a fixed seed).
    """

    tabular = True

    def __init__(self, task_id: str | int, data_path: str | os.PathLike | None = None,
                 min_budget: float = 2, max_budget: float = 51, eta: float = 3):
        folder = globals()["data_path"](data_path)
        scen = folder / "lcbench"
        self.encoding = json.loads(_need(scen / "encoding.json").read_text())["OpenML_task_id"]
        full = _read_space(scen / "config_space.json", (), "lcbench")
        tasks = list(full["OpenML_task_id"].choices)
        task = str(task_id)
        if task not in tasks:
            raise ValueError(f"task_id: got {task_id!r}; allowed are the LCBench OpenML task ids "
                             f"{', '.join(tasks)}")
        if not (1 <= min_budget <= max_budget <= 52):
            raise ValueError(f"min_budget, max_budget: got {min_budget!r}, {max_budget!r}; "
                             "allowed are epochs with 1 <= min_budget <= max_budget <= 52")
        self.task_id = task
        self.name = f"yahpo-lcbench-{task}"
        self.min_budget, self.max_budget, self.eta = float(min_budget), float(max_budget), float(eta)
        self.space = _read_space(scen / "config_space.json", ("OpenML_task_id", "epoch"),
                                 self.name)
        self._session = _session(scen / "model.onnx")
        self._code = int(self.encoding[task])
        rng = as_generator(12345)
        cfgs = self._random_configs(rng, 2000)
        losses = self._loss_batch(cfgs, np.full(len(cfgs), self.max_budget))
        self.f_rand = float(np.mean(losses))
        best = float(np.min(losses))
        gmax = _global_max(folder, "lcbench", task, "val_accuracy")
        self.optimum = min(best, 1 - gmax / 100) if gmax is not None else best

    def _random_configs(self, rng: np.random.Generator, n: int) -> list[dict[str, Any]]:
        from lowfi.space import Space

        return Space(self.space).sample(rng, n)

    def predict(self, configs: list[dict[str, Any]], epochs: np.ndarray) -> np.ndarray:
        """All six targets (columns as :data:`LCBENCH_TARGETS`) for configs at epochs."""
        ep = np.clip(np.rint(np.asarray(epochs, dtype=float)), 1, 52)
        x_cont = np.empty((len(configs), len(LCBENCH_CONT)), np.float32)
        x_cont[:, 0] = ep
        for j, k in enumerate(LCBENCH_CONT[1:], start=1):
            x_cont[:, j] = [float(c[k]) for c in configs]
        x_cat = np.full((len(configs), 1), self._code, np.int32)
        return self._session.run(None, {"x_cont": x_cont, "x_cat": x_cat})[0]

    def _loss_batch(self, configs: list[dict[str, Any]], epochs: np.ndarray) -> np.ndarray:
        return 1.0 - self.predict(configs, epochs)[:, 1] / 100.0

    def curve(self, config: dict[str, Any], epochs: Any = None) -> np.ndarray:
        """Loss at each epoch (default 1..52): the surrogate's learning curve."""
        ep = np.arange(1, 53) if epochs is None else np.asarray(epochs, dtype=float)
        return self._loss_batch([config] * len(ep), ep)

    def evaluate(self, config: dict[str, Any], budget: float, seed: Any = None) -> Result:
        """Surrogate prediction at epoch ``round(budget)`` (deterministic; ``seed`` unused)."""
        if not isinstance(budget, int | float) or not (1 <= budget <= 52):
            raise ValueError(f"budget: got {budget!r}; allowed are epochs in [1, 52]")
        y = self.predict([config], np.array([budget]))[0]
        return Result(loss=float(1.0 - y[1] / 100.0), cost=max(float(y[0]), 0.0),
                      info={"epoch": int(np.rint(budget)),
                            "val_cross_entropy": float(y[2]),
                            "test_balanced_accuracy": float(y[5])})

    def test_loss(self, config: dict[str, Any]) -> float:
        return float(self._loss_batch([config], np.array([self.max_budget]))[0])


def lcbench(task_id: str | int, data_path: str | os.PathLike | None = None,
            **kwargs: Any) -> LCBench:
    """The YAHPO LCBench surrogate on OpenML task ``task_id`` (see :class:`LCBench`)."""
    return LCBench(task_id, data_path=data_path, **kwargs)


class NB301(Benchmark):
    """YAHPO NAS-Bench-301 surrogate, v2 beta model (DARTS cell space on CIFAR-10; Zela et al.
    2022, "Surrogate NAS Benchmarks"); budget = training epochs 1..98.

    Notes
    -----
    Loss = 1 - val_accuracy (the v2 model predicts a fraction); cost = predicted ``runtime``
    (seconds). The v2 output order is inferred, not documented by YAHPO (data guide 2.3):
    treat results as "YAHPO nb301, v2 beta". ``optimum`` / ``f_rand``: best / mean of 1,000
    random architectures at 98 epochs (fixed seed).
    """

    tabular = True

    def __init__(self, data_path: str | os.PathLike | None = None, min_budget: float = 1,
                 max_budget: float = 98, eta: float = 3):
        folder = globals()["data_path"](data_path)
        scen = folder / "nb301_v2"
        self.name = "yahpo-nb301"
        self.encoding = json.loads(_need(scen / "encoding_v2.json").read_text())
        full = _read_space(scen / "config_space_v2.json", (), "nb301")
        self.space = _read_space(scen / "config_space_v2.json",
                                 tuple(h.name for h in full.values() if h.name == "epoch"),
                                 self.name) if "epoch" in full else full
        if not (1 <= min_budget <= max_budget <= 98):
            raise ValueError(f"min_budget, max_budget: got {min_budget!r}, {max_budget!r}; "
                             "allowed are epochs with 1 <= min_budget <= max_budget <= 98")
        self.min_budget, self.max_budget, self.eta = float(min_budget), float(max_budget), float(eta)
        self._session = _session(scen / "model_v2.onnx")
        from lowfi.space import Space

        cfgs = Space(self.space).sample(as_generator(12345), 1000)
        losses = 1.0 - self.predict(cfgs, np.full(len(cfgs), self.max_budget))[:, 0]
        self.f_rand, self.optimum = float(np.mean(losses)), float(np.min(losses))

    def predict(self, configs: list[dict[str, Any]], epochs: np.ndarray) -> np.ndarray:
        """The four outputs (:data:`NB301_TARGETS`) for architectures at epochs."""
        ep = np.clip(np.rint(np.asarray(epochs, dtype=float)), 1, 98).astype(np.float32)
        x_cat = np.array([[self.encoding[n][str(c.get(n, "#na#"))] for n in NB301_CAT]
                          for c in configs], np.int32)
        return self._session.run(None, {"x_cont": ep.reshape(-1, 1), "x_cat": x_cat})[0]

    def evaluate(self, config: dict[str, Any], budget: float, seed: Any = None) -> Result:
        if not isinstance(budget, int | float) or not (1 <= budget <= 98):
            raise ValueError(f"budget: got {budget!r}; allowed are epochs in [1, 98]")
        y = self.predict([config], np.array([budget]))[0]
        return Result(loss=float(1.0 - y[0]), cost=max(float(y[2]), 0.0),
                      info={"epoch": int(np.rint(budget)), "val_cross_entropy": float(y[1])})

    def test_loss(self, config: dict[str, Any]) -> float:
        return float(1.0 - self.predict([config], np.array([self.max_budget]))[0, 0])


def nb301(data_path: str | os.PathLike | None = None, **kwargs: Any) -> NB301:
    """The YAHPO NAS-Bench-301 v2 surrogate (see :class:`NB301`)."""
    return NB301(data_path=data_path, **kwargs)


#: The 9 outputs of the v1 rbv2 models (yahpo-gym 1.0 order; checked against the value ranges
#: of ``global_statistics/instance_target_statistics.csv``: accuracies in [0, 1], timetrain in
#: seconds, memory in MB)
RBV2_TARGETS = ["acc", "bac", "auc", "brier", "f1", "logloss", "timetrain", "timepredict",
                "memory"]
#: Input order of the v1 rbv2 models: (continuous, categorical). yahpo-gym 1.0 passes ``repl``
#: as the last continuous input (later, unreleased v2 models code it as a categorical); the
#: shapes of the shipped models (x_cont 14 / 6 columns, x_cat 3 / 2) match this order, and
#: ``benchmarks/yahpo_rbv2_crosscheck.py`` finds predictions identical to yahpo-gym 1.0.1's.
RBV2_INPUTS = {
    "rbv2_xgboost": (["nrounds", "eta", "gamma", "lambda", "alpha", "subsample", "max_depth",
                      "min_child_weight", "colsample_bytree", "colsample_bylevel", "rate_drop",
                      "skip_drop", "trainsize", "repl"],
                     ["task_id", "booster", "num.impute.selected.cpo"]),
    "rbv2_rpart": (["cp", "maxdepth", "minbucket", "minsplit", "trainsize", "repl"],
                   ["task_id", "num.impute.selected.cpo"]),
}


class RBV2(Benchmark):
    """YAHPO rbv2 surrogate (Binder, Pfisterer & Bischl 2020, "Collecting Empirical Data About
    Hyperparameters for Data Driven AutoML"; surrogates from Pfisterer et al. 2022): one mlr3
    learner (``rbv2_xgboost`` or ``rbv2_rpart``) on one OpenML task; budget = the fraction of
    the training set used (``trainsize``, 0.03..1).

    Parameters
    ----------
    scenario
        ``"rbv2_xgboost"`` or ``"rbv2_rpart"``.
    task_id
        OpenML task id (e.g. ``"1067"``); the ids of the scenario's ``task_id`` parameter.
    data_path
        YAHPO data folder (see the module docstring).
    repl
        The replication fidelity (1..10), held fixed; default 10.
    min_budget, max_budget
        Training-set fraction, ``0.03 <= min_budget <= max_budget <= 1``.

    Notes
    -----
    Loss = 1 - ``acc`` (the surrogate's accuracy target); cost = the ``timetrain`` target
    (seconds, clipped at 0), so ``tabular = True``. The model inputs are built as yahpo-gym
    1.0 does: continuous inputs in :data:`RBV2_INPUTS` order (inactive ones 0), categoricals
    coded with ``encoding.json`` (inactive ``"#na#"``). ``optimum`` is the best of the YAHPO
    global statistics (maximum ``acc`` over all fidelities) and 2,000 random configurations at
    ``max_budget``; ``f_rand`` the mean of those 2,000 (fixed seed).
    """

    tabular = True

    def __init__(self, scenario: str, task_id: str | int,
                 data_path: str | os.PathLike | None = None, repl: int = 10,
                 min_budget: float = 0.03, max_budget: float = 1.0, eta: float = 3):
        if scenario not in RBV2_INPUTS:
            raise ValueError(f"scenario: got {scenario!r}; allowed are {', '.join(RBV2_INPUTS)}")
        folder = globals()["data_path"](data_path)
        scen = folder / scenario
        full = _read_space(scen / "config_space.json", (), scenario)
        tasks = list(full["task_id"].choices)
        task = str(task_id)
        if task not in tasks:
            raise ValueError(f"task_id: got {task_id!r}; allowed are the {scenario} OpenML task "
                             f"ids {', '.join(tasks)}")
        if isinstance(repl, bool) or not isinstance(repl, int | np.integer) or not 1 <= repl <= 10:
            raise ValueError(f"repl: got {repl!r}; allowed are integers 1..10")
        if not (0.03 <= min_budget <= max_budget <= 1.0):
            raise ValueError(f"min_budget, max_budget: got {min_budget!r}, {max_budget!r}; "
                             "allowed are training fractions with 0.03 <= min_budget <= "
                             "max_budget <= 1")
        self.scenario, self.task_id, self.repl = scenario, task, int(repl)
        self.name = f"yahpo-{scenario.replace('_', '-')}-{task}"
        self.min_budget, self.max_budget, self.eta = float(min_budget), float(max_budget), float(eta)
        self.encoding = json.loads(_need(scen / "encoding.json").read_text())
        self.space = _read_space(scen / "config_space.json", ("task_id", "trainsize", "repl"),
                                 self.name)
        self._cont, self._cat = RBV2_INPUTS[scenario]
        self._session = _session(scen / "model.onnx")
        from lowfi.space import Space

        cfgs = Space(self.space).sample(as_generator(12345), 2000)
        losses = self._loss_batch(cfgs, np.full(len(cfgs), self.max_budget))
        self.f_rand = float(np.mean(losses))
        best = float(np.min(losses))
        gmax = _global_max(folder, scenario, task, "acc")
        self.optimum = min(best, 1 - gmax) if gmax is not None else best

    def _inputs(self, configs: list[dict[str, Any]],
                trainsize: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = len(configs)
        x_cont = np.zeros((n, len(self._cont)), np.float32)
        for j, k in enumerate(self._cont[:-2]):
            col = np.array([np.nan if c.get(k) is None else c[k] for c in configs], float)
            x_cont[:, j] = np.nan_to_num(col, nan=0.0)  # inactive -> 0, as yahpo-gym does
        x_cont[:, -2] = trainsize
        x_cont[:, -1] = self.repl
        x_cat = np.empty((n, len(self._cat)), np.int32)
        x_cat[:, 0] = self.encoding["task_id"][self.task_id]
        for j, k in enumerate(self._cat[1:], start=1):
            enc = self.encoding[k]
            for i, c in enumerate(configs):
                v = c.get(k)
                code = enc.get("#na#" if v is None else str(v))
                if code is None:
                    raise ValueError(f"config[{k!r}]: got {v!r}; allowed are "
                                     f"{', '.join(x for x in enc if x != '#na#')}")
                x_cat[i, j] = code
        return x_cont, x_cat

    def predict(self, configs: list[dict[str, Any]], trainsize: Any) -> np.ndarray:
        """All nine targets (columns as :data:`RBV2_TARGETS`) for configs at ``trainsize``."""
        ts = np.broadcast_to(np.asarray(trainsize, dtype=float), (len(configs),))
        x_cont, x_cat = self._inputs(configs, ts)
        return self._session.run(None, {"x_cont": x_cont, "x_cat": x_cat})[0]

    def _loss_batch(self, configs: list[dict[str, Any]], trainsize: np.ndarray) -> np.ndarray:
        return 1.0 - self.predict(configs, trainsize)[:, 0].astype(float)

    def evaluate(self, config: dict[str, Any], budget: float, seed: Any = None) -> Result:
        """Surrogate prediction at ``trainsize = budget`` (deterministic; ``seed`` unused)."""
        if (isinstance(budget, bool) or not isinstance(budget, int | float | np.floating)
                or not (0.03 - 1e-9 <= budget <= 1.0 + 1e-9)):
            raise ValueError(f"budget: got {budget!r}; allowed are training fractions in "
                             "[0.03, 1]")
        if not isinstance(config, dict):
            raise TypeError(f"config: got {type(config).__name__}; expected a dict")
        y = self.predict([config], float(budget))[0]
        return Result(loss=float(1.0 - y[0]), cost=max(float(y[6]), 0.0),
                      info={"trainsize": float(budget), "repl": self.repl,
                            "bac": float(y[1]), "auc": float(y[2]), "logloss": float(y[5])})

    def test_loss(self, config: dict[str, Any]) -> float:
        return float(self._loss_batch([config], np.array([self.max_budget]))[0])


def rbv2_xgboost(task_id: str | int, data_path: str | os.PathLike | None = None,
                 **kwargs: Any) -> RBV2:
    """The YAHPO rbv2_xgboost surrogate on OpenML task ``task_id`` (see :class:`RBV2`)."""
    return RBV2("rbv2_xgboost", task_id, data_path=data_path, **kwargs)


def rbv2_rpart(task_id: str | int, data_path: str | os.PathLike | None = None,
               **kwargs: Any) -> RBV2:
    """The YAHPO rbv2_rpart surrogate on OpenML task ``task_id`` (see :class:`RBV2`)."""
    return RBV2("rbv2_rpart", task_id, data_path=data_path, **kwargs)
