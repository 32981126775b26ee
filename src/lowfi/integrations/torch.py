"""PyTorch training-loop reporting: continue training across rungs, report, stop early.

Multi-fidelity schedulers (successive halving, Hyperband, ASHA, BOHB, freeze-thaw) evaluate the
same configuration again at a larger budget when it is promoted. With the budget counted in
epochs, a promoted trial should continue from where the last rung stopped instead of training
from scratch; lowfi gives each configuration a folder kept between its rungs,
``trial.checkpoint_dir``. :class:`TorchCheckpoint` keeps the ``state_dict`` of a model, its
optimizer, a learning-rate scheduler or anything else with ``state_dict`` /
``load_state_dict`` there, and :meth:`TorchCheckpoint.epochs` iterates over the epochs still to
train::

    def objective(trial):
        model = make_model(trial.config)
        opt = torch.optim.SGD(model.parameters(), lr=trial.config["lr"])
        ckpt = TorchCheckpoint(trial, model, opt)
        for epoch in ckpt.epochs():          # resumes after the last saved epoch
            train_one_epoch(model, opt)
            val = validation_error(model)
            if ckpt.report(epoch, val):      # trial.report + trial.should_stop()
                break                        # the run's stopping rule ended the trial
        return ckpt.last_value

The state is saved after every epoch (atomically: a killed worker leaves the previous
checkpoint), so a stopped or crashed trial also leaves a checkpoint to continue from. The
curve reported on earlier rungs travels in the checkpoint too, so the trial's curve in the
journal is the whole learning curve, as freeze-thaw and the learning-curve stopping rules
expect. Without a ``checkpoint_dir`` (an ask/tell loop of your own) nothing is saved and
training starts at epoch 1.

``torch`` is imported when a checkpoint is saved or loaded, not when this module is imported.
"""

from __future__ import annotations

import math
import os
import pickle
from collections.abc import Iterator
from typing import Any

from lowfi.core.trial import Trial

__all__ = ["TorchCheckpoint", "epochs"]


class TorchCheckpoint:
    """Checkpoint ``objects`` in ``trial.checkpoint_dir`` and iterate over the epochs to train.

    Parameters
    ----------
    trial
        The running trial (its ``budget`` is the number of epochs to reach).
    *objects
        Things with ``state_dict()`` and ``load_state_dict()``: the model, its optimizer, a
        learning-rate scheduler, a ``GradScaler``...; restored in this order.
    filename
        File name inside ``trial.checkpoint_dir``.
    trust
        Load checkpoints with ``torch.load(weights_only=False)``, which can run code stored in
        the file; only for checkpoints of known origin whose states hold objects other than
        tensors, numbers, strings and containers. By default (False) checkpoints are loaded with
        ``weights_only=True``, which never runs code from the file.
    """

    def __init__(self, trial: Trial, *objects: Any, filename: str = "lowfi_torch.pt",
                 trust: bool = False):
        if not isinstance(trial, Trial):
            raise TypeError(f"trial: got {type(trial).__name__}; pass the lowfi.Trial your "
                            "objective received (write the objective as objective(trial))")
        for i, o in enumerate(objects):
            if not (hasattr(o, "state_dict") and hasattr(o, "load_state_dict")):
                raise TypeError(f"objects[{i}]: got {type(o).__name__}; allowed are objects with "
                                "state_dict() and load_state_dict() (model, optimizer, scheduler)")
        if not isinstance(filename, str) or not filename or os.sep in filename:
            raise ValueError(f"filename: got {filename!r}; allowed is a plain file name")
        self.trial = trial
        self.objects = objects
        self.trust = bool(trust)
        self.path = (os.path.join(trial.checkpoint_dir, filename)
                     if trial.checkpoint_dir else None)
        self.epoch = 0  #: the last finished epoch
        self.last_value: float | None = None  #: the last reported value
        self.resumed_from = 0  #: the epoch the checkpoint held when this trial started
        self._current: int | None = None
        self._load()

    # ------------------------------------------------------------------ storage
    def _load(self) -> None:
        if self.path is None or not os.path.exists(self.path):
            return
        import torch

        try:
            state = torch.load(self.path, map_location="cpu", weights_only=not self.trust)
        except pickle.UnpicklingError as exc:
            raise ValueError(
                f"checkpoint: {self.path} holds objects that torch.load(weights_only=True) does "
                "not load (it loads only tensors, numbers, strings and containers, so that no "
                "code from the file runs); pass trust=True to TorchCheckpoint only if the file "
                f"comes from a run you trust ({exc})") from exc
        if len(state["states"]) != len(self.objects):
            raise ValueError(
                f"objects: the checkpoint {self.path} holds {len(state['states'])} states but "
                f"{len(self.objects)} objects were given; pass the same objects on every rung")
        for o, s in zip(self.objects, state["states"], strict=True):
            o.load_state_dict(s)
        self.epoch = self.resumed_from = int(state["epoch"])
        self.last_value = state.get("last_value")
        if state.get("rng") is not None:  # the random stream continues where it stopped, so
            torch.set_rng_state(state["rng"])  # 3 + 6 epochs train like 9 in one go
        if not self.trial.curve:  # earlier rungs' points: the journal keeps the whole curve
            self.trial.restore_curve(state.get("curve", []))

    def save(self) -> None:
        """Write the objects' states, the finished epoch and the curve (atomic replace)."""
        if self.path is None:
            return
        import torch

        tmp = f"{self.path}.tmp{os.getpid()}"
        torch.save({"epoch": self.epoch, "states": [o.state_dict() for o in self.objects],
                    "last_value": self.last_value, "curve": list(self.trial.curve),
                    "rng": torch.get_rng_state()}, tmp)
        os.replace(tmp, self.path)

    # ------------------------------------------------------------------ loop
    def epochs(self, budget: float | None = None) -> Iterator[int]:
        """Epoch numbers still to train, ``epoch + 1`` up to ``budget`` (default
        ``trial.budget``, rounded to the nearest integer); saves after each one and ends early
        once :meth:`report` said stop."""
        b = self.trial.budget if budget is None else budget
        if isinstance(b, bool) or not isinstance(b, int | float) or not math.isfinite(b) or b < 0:
            raise ValueError(f"budget: got {b!r}; allowed is a number of epochs >= 0")
        target = int(round(float(b)))
        while self.epoch < target and not self.trial.stopped:
            self._current = self.epoch + 1
            yield self._current
            if self.epoch < self._current:  # not yet saved by report()
                self.epoch = self._current
                self.save()
        self._current = None

    def report(self, epoch: float, value: float) -> bool:
        """Report ``value`` at ``epoch`` (``trial.report``) and return ``trial.should_stop()``.

        Reporting the epoch :meth:`epochs` yielded marks it finished and saves the checkpoint,
        so breaking out of the loop right after a stop keeps that epoch's training."""
        self.trial.report(epoch, value)
        self.last_value = float(value)
        if self._current is not None and float(epoch) == self._current:
            self.epoch = self._current
            self.save()
        return self.trial.should_stop()


def epochs(trial: Trial, *objects: Any, filename: str = "lowfi_torch.pt") -> Iterator[int]:
    """Shorthand for ``TorchCheckpoint(trial, *objects).epochs()`` (report with
    ``trial.report`` and check ``trial.should_stop()`` yourself)."""
    return TorchCheckpoint(trial, *objects, filename=filename).epochs()
