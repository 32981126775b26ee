"""An MLP (scikit-learn ``MLPClassifier``) on the 8x8 digits that ship with scikit-learn,
with training epochs as the budget. The main job of ``lowfi demo`` runs on it."""

from __future__ import annotations

import os
import pickle
import time
import warnings
from functools import lru_cache
from typing import Any

import numpy as np
from ConfigSpace import Categorical, ConfigurationSpace, Float, Integer

from lowfi.benchmarks.base import Benchmark
from lowfi.core.trial import Result, Trial


@lru_cache(maxsize=1)
def _data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    return tuple(train_test_split(X, y, test_size=0.25, random_state=0, stratify=y))


def mlp_space() -> ConfigurationSpace:
    cs = ConfigurationSpace(name="mlp-digits")
    cs.add(
        Float("learning_rate_init", (1e-4, 1e-1), log=True),
        Float("alpha", (1e-6, 1e-1), log=True),
        Integer("hidden", (8, 128), log=True),
        Integer("n_layers", (1, 3)),
        Integer("batch_size", (16, 256), log=True),
        Categorical("activation", ["relu", "tanh"]),
    )
    return cs


def _model(config: dict[str, Any], seed: int):
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier(
        hidden_layer_sizes=(int(config["hidden"]),) * int(config["n_layers"]),
        activation=config["activation"], alpha=config["alpha"],
        learning_rate_init=config["learning_rate_init"], batch_size=int(config["batch_size"]),
        random_state=seed,
    )


def train_epochs(model: Any, epochs: int, report=None, start_epoch: int = 0) -> float:
    """Train ``model`` for ``epochs`` more epochs (one ``partial_fit`` pass each); returns
    the validation error; ``report(step, value)`` is called after every epoch."""
    Xtr, Xva, ytr, yva = _data()
    classes = np.unique(ytr)
    err = 1.0
    for e in range(start_epoch, start_epoch + epochs):
        model.partial_fit(Xtr, ytr, classes=classes)
        err = 1.0 - model.score(Xva, yva)
        if report is not None:
            report(e + 1, err)
    return float(err)


class MLPDigits(Benchmark):
    """MLPClassifier on digits (1,347 train / 450 validation images); budget = epochs 1..81.

    ``evaluate`` trains from scratch (every evaluation charged its budget); the loss is the
    validation error, the cost the measured seconds.
    """

    name = "mlp-digits"
    min_budget, max_budget, eta = 1.0, 81.0, 3.0
    optimum = None

    def __init__(self, min_budget: float = 1, max_budget: float = 81):
        self.space = mlp_space()
        self.min_budget, self.max_budget = float(min_budget), float(max_budget)

    def evaluate(self, config: dict[str, Any], budget: float, seed: int | None = None) -> Result:
        t0 = time.perf_counter()
        err = train_epochs(_model(config, 0 if seed is None else int(seed)), max(int(round(budget)), 1))
        return Result(err, cost=time.perf_counter() - t0)


def demo_objective(trial: Trial) -> Result:
    """The ``lowfi demo`` objective: trains for ``trial.budget`` epochs, continuing from the
    checkpoint of the same configuration's previous rung, reporting the validation error of
    every epoch."""
    t0 = time.perf_counter()
    path = os.path.join(trial.checkpoint_dir, "model.pkl") if trial.checkpoint_dir else None
    done, model = 0, None
    if path and os.path.exists(path):
        from lowfi.storage.journal import verify

        with open(path, "rb") as fh:
            payload, signed = verify(fh.read())
        if signed:  # written by this user's runs (HMAC under their key): safe to unpickle
            done, model = pickle.loads(payload)
        else:  # a checkpoint from elsewhere is never unpickled: train this rung from scratch
            warnings.warn(f"checkpoint {path!r} is not signed with this user's key; it is not "
                          "loaded and the configuration is trained from scratch", stacklevel=2)
    if model is None:
        done, model = 0, _model(trial.config, 0)
    target = max(int(round(trial.budget)), 1)
    err = train_epochs(model, max(target - done, 0), trial.report, start_epoch=done) if target > done else \
        1.0 - model.score(*_data()[1::2])
    if path:
        tmp = path + ".tmp"
        from lowfi.storage.journal import sign

        with open(tmp, "wb") as fh:
            fh.write(sign(pickle.dumps((target, model))))
        os.replace(tmp, path)
    info: dict[str, Any] = {"epochs_trained_now": max(target - done, 0)}
    if done:  # continued from the previous rung's checkpoint: reports count from there
        info["resumed_from"] = float(done)
    return Result(err, cost=time.perf_counter() - t0, info=info)
