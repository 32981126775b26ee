"""``lowfi.Study``: a durable run you can drive with :meth:`~Study.optimize` or ask/tell.

A study is one SQLite journal. :meth:`Study.optimize` runs :func:`lowfi.minimize` on it (and a
second call continues the same run); :meth:`Study.ask` / :meth:`Study.tell` journal every
trial handed out and every result before acting on it, so a loop of your own (a job array, a
notebook, a cluster scheduler) survives restarts exactly like ``minimize`` does: open the
study again and the optimizer is rebuilt by replaying the journal.

One process drives a study at a time; workers never touch the journal.
"""

from __future__ import annotations

import os
import time
from typing import Any

import pandas as pd

from lowfi.core.trial import Result, Trial
from lowfi.optimizers import Optimizer
from lowfi.run.loop import RunResult, minimize, open_run
from lowfi.storage.journal import trials_frame


class Study:
    """Open the study in ``storage``, creating it with these settings if it is new.

    Parameters
    ----------
    storage
        Path of the SQLite journal. An existing study keeps its stored optimizer and
        settings: open it with the path alone (an optimizer, budgets or space that differ
        from the stored ones are an error).
    space, optimizer, min_budget, max_budget, eta, seed, optimizer_kwargs
        As in :func:`lowfi.minimize` (optimizer default ``"hyperband"``), for a new study.

    Examples
    --------
    >>> study = lowfi.Study("runs/mlp.db", space, "bohb", min_budget=1, max_budget=27)
    >>> trial = study.ask()
    >>> study.tell(trial, train(trial.config, trial.budget))
    >>> study.optimize(objective, max_evaluations=100, n_workers=4)   # continues the same run
    >>> study.best_config, study.trials
    """

    def __init__(self, storage: str | os.PathLike, space: Any = None,
                 optimizer: str | Optimizer | None = None, min_budget: float | None = None,
                 max_budget: float | None = None, eta: float = 3, seed: Any = 0,
                 optimizer_kwargs: dict[str, Any] | None = None):
        if not isinstance(storage, str | os.PathLike) or os.fspath(storage) in ("", ":memory:"):
            raise ValueError(f"storage: got {storage!r}; allowed is a file path (a study is "
                             "durable; use lowfi.minimize without storage for a throwaway run)")
        self.storage = os.fspath(storage)
        self._args = dict(space=space, optimizer=optimizer, min_budget=min_budget,
                          max_budget=max_budget, eta=eta, seed=seed,
                          optimizer_kwargs=optimizer_kwargs)
        self._open()

    def _open(self) -> None:
        a = self._args
        if os.path.exists(self.storage):
            self._check_existing()
        self._journal, self.optimizer, _ = open_run(
            self.storage, None, a["space"], a["optimizer"], a["min_budget"], a["max_budget"],
            a["eta"], a["seed"], True, a["optimizer_kwargs"])
        self._asked_at: dict[int, float] = {}

    def _check_existing(self) -> None:
        from lowfi.run.loop import _check_settings
        from lowfi.space import Space
        from lowfi.storage import Journal

        j = Journal(self.storage, create=False)
        try:
            stored = j.get_meta("settings", {}) or {}
            space_json = j.get_meta("space")
        finally:
            j.close()
        if not stored:
            return
        a = self._args
        _check_settings(stored, a["optimizer"], a["min_budget"], a["max_budget"],
                        self.storage, strict=True)
        if a["space"] is not None and space_json is not None \
                and Space.from_any(a["space"]).to_json() != space_json:
            raise ValueError(f"space: differs from the space the study in {self.storage!r} was "
                             "created with; open it without a space, or choose another path")

    # ------------------------------------------------------------------ ask / tell
    def ask(self) -> Trial | None:
        """The next trial (journaled before it is returned), or None when the optimizer has
        to wait for results or is done."""
        trial = self.optimizer.ask()
        if trial is not None:
            self._journal.ask(trial)
            self._asked_at[trial.id] = time.time()
        return trial

    def tell(self, trial: Trial | int, result: Any) -> None:
        """Record ``result`` (a loss, a tuple of losses or a :class:`lowfi.Result`) of ``trial``
        (the trial or its id), journaled before the optimizer learns it."""
        tid = trial if isinstance(trial, int) and not isinstance(trial, bool) else \
            getattr(trial, "id", None)
        pending = self.optimizer.history.pending
        if tid not in pending:
            raise ValueError(f"trial: got {trial!r}; allowed are the pending trials of this "
                             f"study (ids {sorted(pending)})")
        from lowfi.optimizers.base import _is_loss_like

        if not isinstance(result, Result) and not _is_loss_like(result):
            raise TypeError(f"result: got {result!r} of type {type(result).__name__}; allowed "
                            "are a number, a tuple of numbers, a lowfi.Result or "
                            "lowfi.Result.failed(reason)")
        res = Result.coerce(result, argument="result")
        end = time.time()
        self._journal.tell(pending[tid], res, self._asked_at.pop(tid, end), end,
                           "study.tell")
        self.optimizer.tell(pending[tid], res)

    # ------------------------------------------------------------------ run loop
    def optimize(self, objective: Any, **kwargs: Any) -> RunResult:
        """Run :func:`lowfi.minimize` on this study (``n_workers``, ``executor``, stop
        conditions, ``stopping``...: its keyword arguments). Stop conditions count the trials
        already in the study; pending trials from :meth:`ask` are evaluated first."""
        for k in ("storage", "resume", "space", "optimizer"):
            if k in kwargs:
                raise TypeError(f"{k}: set by the study; pass it to lowfi.Study instead")
        self._journal.close()
        try:
            a = self._args
            return minimize(objective, a["space"], a["optimizer"], min_budget=a["min_budget"],
                            max_budget=a["max_budget"], eta=a["eta"], seed=a["seed"],
                            optimizer_kwargs=a["optimizer_kwargs"], storage=self.storage,
                            resume=True, **kwargs)
        finally:
            self._open()  # the optimizer as the journal now has it

    # ------------------------------------------------------------------ views
    @property
    def trials(self) -> pd.DataFrame:
        """One row per trial asked so far (see :func:`lowfi.storage.load_trials`)."""
        return trials_frame(self._journal.events())

    def incumbent(self) -> tuple[dict[str, Any], Any] | None:
        """Best ``(config, loss)`` at the highest budget seen (None before any result)."""
        return self.optimizer.incumbent()

    @property
    def best_config(self) -> dict[str, Any] | None:
        inc = self.incumbent()
        return None if inc is None else inc[0]

    @property
    def best_loss(self) -> Any:
        inc = self.incumbent()
        return None if inc is None else inc[1]

    def close(self) -> None:
        self._journal.close()

    def __enter__(self) -> Study:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"Study({self.storage!r}, trials={len(self.optimizer.history)} finished, "
                f"{len(self.optimizer.history.pending)} pending)")
