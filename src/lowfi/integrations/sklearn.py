"""``SearchCV``: multi-fidelity hyperparameter search as a scikit-learn search estimator.

A drop-in for scikit-learn's ``HalvingRandomSearchCV``: same fit signature, same fitted
attributes (``cv_results_``, ``best_index_``, ``best_params_``, ``best_score_``,
``best_estimator_``, ``n_resources_``, ...), same delegation (``predict``, ``predict_proba``,
``decision_function``, ``transform``, ``score``). What differs is who decides which
configuration gets which resource: a lowfi optimizer (``lowfi.optimizers.DEFAULT`` unless
named), run through lowfi's run loop, so executors, journals and resume work as in
:func:`lowfi.minimize`.

Every evaluation is one configuration at one resource, cross-validated on the same folds
(computed once, with ``groups``); each fold is fitted and scored by scikit-learn's own
``_fit_and_score``, so scoring, ``error_score``, fit parameters and failures behave as in
scikit-learn's searches.
"""

from __future__ import annotations

import inspect
import numbers
import os
import time
import uuid
import warnings
from typing import Any

import numpy as np
from sklearn.base import clone, is_classifier
from sklearn.model_selection._search import BaseSearchCV
from sklearn.model_selection._split import check_cv
from sklearn.model_selection._validation import (
    _fit_and_score,
    _insert_error_scores,
    _warn_or_raise_about_fit_failures,
)
from sklearn.utils import indexable
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_method_params, _num_samples

_FIT_AND_SCORE_ARGS = set(inspect.signature(_fit_and_score).parameters)


class _CVObjective:
    """Cross-validated evaluation of one configuration at one resource (picklable).

    Returns ``Result(-score, info={"sklearn": ...})`` with the per-fold outputs of
    ``_fit_and_score``; the search rebuilds ``cv_results_`` from them.
    """

    def __init__(self, estimator: Any, X: Any, y: Any, splits: list, orders: list,
                 resource: str, n_samples: int, fit_kwargs: dict[str, Any], metric: str | None):
        self.estimator, self.X, self.y = estimator, X, y
        self.splits, self.orders = splits, orders
        self.resource, self.n_samples = resource, n_samples
        self.fit_kwargs, self.metric = fit_kwargs, metric
        #: the exception of the first failed fit when error_score="raise" (in-process runs)
        self.raised: BaseException | None = None
        # (configuration, resource) -> its result: a small discrete space makes Hyperband's
        # brackets ask for the same pair again; like scikit-learn's searches, which fit each
        # candidate once per resource, the folds are not fitted again for it
        self.cache: dict[tuple, Any] = {}

    def folds(self, n: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """The folds at resource ``n``: each fold's train and test parts subsampled to the
        fraction ``n / n_samples`` (nested: a larger resource keeps the smaller's samples)."""
        if self.resource != "n_samples" or n >= self.n_samples:
            return self.splits
        fraction = n / self.n_samples
        out = []
        for (train, test), (otr, ote) in zip(self.splits, self.orders):
            k_tr = max(int(fraction * len(train)), 1)
            k_te = max(int(fraction * len(test)), 1)
            out.append((np.sort(train[otr[:k_tr]]), np.sort(test[ote[:k_te]])))
        return out

    def __call__(self, config: dict[str, Any], budget: float) -> Any:
        from lowfi.core.trial import Result

        n = int(round(budget))
        key = (tuple(sorted((k, repr(v)) for k, v in config.items())), n)
        if key in self.cache:
            done = self.cache[key]
            return Result(done.loss, info={**done.info, "repeat": True}, status=done.status,
                          error=done.error)
        params = dict(config)
        if self.resource != "n_samples":
            params[self.resource] = n
        folds = self.folds(n)
        outs = []
        for i, (train, test) in enumerate(folds):
            try:
                out = _fit_and_score(clone(self.estimator), self.X, self.y, train=train, test=test,
                                     parameters=params, split_progress=(i, len(folds)),
                                     **self.fit_kwargs)
            except Exception as exc:  # error_score="raise"
                if self.raised is None:
                    self.raised = exc
                raise
            outs.append(_plain_out(out))
        info = {"sklearn": {"params": params, "n_resources": n, "out": outs}}
        scores = [_metric(o["test_scores"], self.metric) for o in outs]
        mean = float(np.mean(scores)) if scores else float("nan")
        if not np.isfinite(mean):
            errors = [o["fit_error"] for o in outs if o["fit_error"]]
            result = Result.failed(errors[0] if errors else f"mean test score is {mean}",
                                   info=info)
        else:
            result = Result(mean, info=info)  # a score: the search runs with direction="maximize"
        self.cache[key] = result
        return result


def _order(idx: np.ndarray, labels: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    """A random order of the positions of ``idx`` whose prefixes are the subsamples.

    For a classifier (``labels`` given) the order is stratified: the first positions hold
    one sample of every class present, and every prefix holds the classes in about their
    proportions in ``idx``, so small resources do not lose a class by chance.
    """
    perm = rng.permutation(len(idx))
    if labels is None or len(idx) == 0:
        return perm
    lab = labels[idx[perm]]
    key = np.empty(len(idx))
    for c in np.unique(lab):
        where = np.flatnonzero(lab == c)
        key[where] = np.arange(len(where)) / len(where)
    return perm[np.argsort(key, kind="stable")]


def _metric(scores: Any, metric: str | None) -> float:
    if isinstance(scores, dict):
        return float(scores[metric] if metric in scores else next(iter(scores.values())))
    return float(scores)


def _plain_out(out: dict[str, Any]) -> dict[str, Any]:
    """``_fit_and_score``'s output with plain Python numbers (it travels in Result.info)."""
    def num(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: float(x) for k, x in v.items()}
        return float(v)

    plain = {"test_scores": num(out["test_scores"]), "n_test_samples": int(out["n_test_samples"]),
             "fit_time": float(out["fit_time"]), "score_time": float(out["score_time"]),
             "fit_error": out.get("fit_error")}
    if "train_scores" in out:
        plain["train_scores"] = num(out["train_scores"])
    return plain


#: arguments of scikit-learn's searches that SearchCV names differently, and what to pass
_SKLEARN_NAMES = {
    "param_distributions": "lowfi calls it space: a ConfigSpace ConfigurationSpace, e.g. "
                           "ConfigurationSpace({'C': Float('C', (1e-3, 1e3), log=True)}), or a "
                           "dict of ranges and lists of choices",
    "param_grid": "lowfi calls it space: ranges or lists of choices, searched by the optimizer "
                  "instead of a grid",
    "n_iter": "lowfi bounds a search by max_evaluations, total_budget or walltime; for n_iter "
              "full fits' worth, total_budget=n_iter * max_resources (most evaluations use "
              "fewer samples)",
    "n_trials": "lowfi bounds a search by max_evaluations, total_budget or walltime (Optuna's "
                "n_trials: max_evaluations; most evaluations use fewer samples)",
    "timeout": "lowfi calls it walltime (seconds)",
    "n_candidates": "lowfi bounds a search by max_evaluations, total_budget or walltime (the "
                    "optimizer chooses how many configurations to start)",
    "aggressive_elimination": "the optimizer decides promotions (factor sets the reduction "
                              "factor; total_budget bounds the spend)",
    "pre_dispatch": "lowfi runs n_workers (or n_jobs) evaluations at a time",
}


class SearchCV(BaseSearchCV):
    """Multi-fidelity search over ``space`` for ``estimator`` with cross-validation.

    Like ``HalvingRandomSearchCV`` (and with its fitted attributes), but a lowfi optimizer
    decides which configuration is evaluated at which resource, asynchronously and
    model-based where the optimizer is (BOHB, the default optimizer, ...).

    Parameters
    ----------
    estimator
        A scikit-learn estimator.
    space
        A ConfigSpace ``ConfigurationSpace`` (or its dict shorthand) over the estimator's
        parameters, e.g. ``ConfigurationSpace({"C": Float("C", (1e-3, 1e3), log=True)})``.
    resource
        What the budget is: ``"n_samples"`` (the number of training samples: each fold's
        train and test parts are subsampled to that fraction, as in
        ``HalvingRandomSearchCV``) or the name of an integer estimator parameter
        (``"n_estimators"``, ``"max_iter"``). Budgets are always whole numbers.
    min_resources
        ``"smallest"`` (default; as ``HalvingRandomSearchCV``: ``2 * n_splits`` samples,
        times the number of classes for a classifier, or 1 for a parameter resource) or
        an int.
    max_resources
        ``"auto"`` (the number of samples; only for ``resource="n_samples"``) or an int.
    factor
        The reduction factor (``eta``): rungs are ``max_resources * factor**-k`` rounded,
        ``k = 0 .. floor(log_factor(max_resources / min_resources))`` -- at least as many
        rungs as ``HalvingRandomSearchCV`` uses for the same resources.
    optimizer
        A registered lowfi optimizer name (None: ``lowfi.optimizers.DEFAULT``), or an unused
        optimizer built with ``min_budget=min_resources_`` and ``max_budget=max_resources_``
        (each fit runs a copy of it).
    optimizer_kwargs
        Options of the named optimizer (e.g. ``{"model": "kde"}`` for the default).
    scoring, refit, cv, error_score, return_train_score, verbose
        As in ``HalvingRandomSearchCV`` (``scoring`` may be a list or dict of metrics; then
        ``refit`` names the one the search optimizes and the best model is chosen by, and
        with ``refit=False`` the first metric is optimized).
    max_evaluations, total_budget, walltime
        When to stop (as in :func:`lowfi.minimize`); with none of them given,
        ``total_budget = n_possible_iterations_ * max_resources`` (the rungs times the
        largest resource: about what ``HalvingRandomSearchCV`` spends with its defaults).
    n_workers, executor, progress
        As in :func:`lowfi.minimize`.
    n_jobs
        scikit-learn's name for the number of parallel workers: None (default) leaves
        ``n_workers``; a positive int sets it; -1 means one per CPU core (-2 all but one,
        as in joblib). Give ``n_jobs`` or ``n_workers``, not both.
    storage
        Where each ``fit`` journals its evaluations: a journal path or URL as in
        :func:`lowfi.minimize` (fitting twice with the same path is an error, since the journal
        exists), or a folder (an existing one, or a path ending in ``/``): every ``fit``
        then writes a new journal ``searchcv-<time>-<random>.db`` in it, so clones fitted by
        ``cross_val_score`` or a pipeline search keep theirs apart. ``storage_`` is the
        journal the last ``fit`` wrote.
    random_state
        Seed of the optimizer and of the subsampling (None: not reproducible).

    Attributes
    ----------
    cv_results_
        A dict of numpy arrays, one entry per evaluation (configuration x resource):
        ``params``, ``param_<name>`` (masked arrays), ``split<k>_test_score``,
        ``mean_test_score``, ``std_test_score``, ``rank_test_score`` (per metric when
        several), fit and score times, ``iter`` (the rung), ``n_resources``, ``config_id``.
    best_index_, best_params_, best_score_, best_estimator_
        The best evaluation at the highest resource any evaluation reached (the best
        model is refit on all data with ``best_params_``).
    n_resources_, n_candidates_, n_iterations_
        Resources of the rungs used, evaluations at each, and how many rungs were used.
    min_resources_, max_resources_, n_possible_iterations_
        The resources range and the number of rungs it allows.
    n_splits_, refit_time_, scorer_, multimetric_, classes_, n_features_in_, feature_names_in_
        As in scikit-learn's searches.
    run_
        The :class:`lowfi.run.RunResult` of the search (its ``trials`` DataFrame, optimizer).
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> SearchCV:
        # scikit-learn's searches name some arguments differently; say lowfi's name instead of
        # Python's bare "unexpected keyword argument" (raised before __init__ runs)
        taken = inspect.signature(cls.__init__).parameters
        for name in kwargs:
            if name not in taken and name in _SKLEARN_NAMES:
                raise TypeError(f"{cls.__name__}() got an unexpected keyword argument {name!r}; "
                                f"{_SKLEARN_NAMES[name]}")
        return super().__new__(cls)

    def __init__(self, estimator: Any, space: Any, *, resource: str = "n_samples",
                 min_resources: Any = "smallest", max_resources: Any = "auto",
                 factor: float = 3, optimizer: Any = None, scoring: Any = None,
                 refit: Any = True, cv: Any = 5, error_score: Any = np.nan,
                 return_train_score: bool = True, max_evaluations: int | None = None,
                 total_budget: float | None = None, walltime: float | None = None,
                 n_workers: int = 1, executor: Any = None, storage: Any = None,
                 random_state: Any = None, verbose: int = 0, progress: bool = False,
                 n_jobs: int | None = None, optimizer_kwargs: dict | None = None):
        self.optimizer_kwargs = optimizer_kwargs
        self.estimator, self.space, self.resource = estimator, space, resource
        self.min_resources, self.max_resources, self.factor = min_resources, max_resources, factor
        self.optimizer, self.scoring, self.refit, self.cv = optimizer, scoring, refit, cv
        self.error_score, self.return_train_score = error_score, return_train_score
        self.max_evaluations, self.total_budget, self.walltime = (max_evaluations, total_budget,
                                                                  walltime)
        self.n_workers, self.executor, self.storage = n_workers, executor, storage
        self.random_state, self.verbose, self.progress = random_state, verbose, progress
        self.n_jobs = n_jobs

    # ------------------------------------------------------------------ checks
    def _resources(self, n_samples: int, n_splits: int, y: Any) -> tuple[int, int]:
        if self.resource != "n_samples":
            if not isinstance(self.resource, str) or self.resource not in self.estimator.get_params():
                raise ValueError(f"resource: got {self.resource!r}; allowed are 'n_samples' or an "
                                 f"integer parameter of {type(self.estimator).__name__}")
            current = self.estimator.get_params()[self.resource]
            if isinstance(current, bool) or (current is not None
                                             and not isinstance(current, numbers.Integral)):
                raise ValueError(f"resource: got {self.resource!r}, a parameter whose value is "
                                 f"{current!r}; the resource is an integer parameter (such as "
                                 "n_estimators or max_iter) or 'n_samples'")
        if self.min_resources == "smallest":
            lo = 1
            if self.resource == "n_samples":
                lo = 2 * n_splits
                if is_classifier(self.estimator) and y is not None:
                    lo *= max(len(np.unique(np.asarray(y))), 1)
        elif isinstance(self.min_resources, numbers.Integral) and not isinstance(self.min_resources, bool) \
                and self.min_resources >= 1:
            lo = int(self.min_resources)
        else:
            raise ValueError(f"min_resources: got {self.min_resources!r}; allowed are 'smallest' "
                             "or an int >= 1")
        if self.max_resources == "auto":
            if self.resource != "n_samples":
                raise ValueError(f"max_resources: got 'auto' with resource={self.resource!r}; "
                                 "'auto' (the number of samples) needs resource='n_samples': "
                                 "pass an int")
            hi = n_samples
        elif isinstance(self.max_resources, numbers.Integral) and not isinstance(self.max_resources, bool) \
                and self.max_resources >= 1:
            hi = int(self.max_resources)
            if self.resource == "n_samples" and hi > n_samples:
                raise ValueError(f"max_resources: got {hi}; with resource='n_samples' it must be "
                                 f"<= the number of samples, {n_samples}")
        else:
            raise ValueError(f"max_resources: got {self.max_resources!r}; allowed are 'auto' or "
                             "an int >= 1")
        if lo > hi:
            raise ValueError(f"min_resources: got {self.min_resources!r} (= {lo}) > max_resources "
                             f"= {hi}; with {n_samples} samples pass a smaller min_resources")
        if not isinstance(self.factor, numbers.Real) or isinstance(self.factor, bool) or not self.factor >= 2:
            raise ValueError(f"factor: got {self.factor!r}; allowed is a number >= 2")
        return lo, hi

    def _space_names(self) -> list[str]:
        from lowfi.space import Space

        names = Space.from_any(self.space).names
        params = self.estimator.get_params()
        unknown = [n for n in names if n not in params]
        if unknown:
            raise ValueError(f"space: parameters {unknown} are not parameters of "
                             f"{type(self.estimator).__name__}; allowed are {sorted(params)}")
        if self.resource in names:
            raise ValueError(f"space: {self.resource!r} is the resource; it cannot also be "
                             "searched (remove it from the space or choose another resource)")
        return names

    # ------------------------------------------------------------------ fit
    def fit(self, X: Any, y: Any = None, **params: Any) -> SearchCV:
        """Search, then refit the best configuration on all data (``refit``).

        ``params`` go where scikit-learn's searches send them: ``groups`` to the CV
        splitter, ``sample_weight`` and other fit parameters to the estimator's ``fit``
        (indexed per fold), and ``sample_weight`` to scorers that accept it.
        """
        import lowfi
        from lowfi import optimizers as _opts

        self._space_names()
        scorers, refit_metric = self._get_scorers()
        X, y = indexable(X, y)
        if is_classifier(self.estimator) and y is not None:
            check_classification_targets(y)
        params = _check_method_params(X, params=params)
        routed = self._get_routed_params_for_fit(params)
        n_samples = _num_samples(X)
        cv = check_cv(self.cv, y, classifier=is_classifier(self.estimator))
        splits = [(np.asarray(tr), np.asarray(te))
                  for tr, te in cv.split(X, y, **routed.splitter.split)]
        if not splits:
            raise ValueError(f"cv: got {self.cv!r}, which yields no splits")
        self.n_splits_ = len(splits)
        lo, hi = self._resources(n_samples, self.n_splits_, y)
        self.min_resources_, self.max_resources_ = lo, hi
        from lowfi.optimizers.base import n_rungs

        self.n_possible_iterations_ = n_rungs(lo, hi, float(self.factor)) + 1

        seed = self.random_state
        if isinstance(seed, np.random.RandomState):
            seed = int(seed.randint(2**31 - 1))
        rng = np.random.default_rng(seed)
        labels = None
        if is_classifier(self.estimator) and y is not None and np.ndim(y) == 1:
            labels = np.unique(np.asarray(y), return_inverse=True)[1]
        orders = [(_order(tr, labels, rng), _order(te, labels, rng)) for tr, te in splits]
        # the metric the optimizer maximizes: ``refit`` when it names one, whatever form
        # ``scoring`` takes (a list, a dict, or a callable returning a dict); else the first
        metric = self.refit if isinstance(self.refit, str) else None
        fit_kwargs = dict(scorer=scorers, fit_params=routed.estimator.fit,
                          score_params=routed.scorer.score,
                          return_train_score=self.return_train_score, return_n_test_samples=True,
                          return_times=True, return_parameters=False,
                          error_score=self.error_score, verbose=self.verbose)
        if "candidate_progress" in _FIT_AND_SCORE_ARGS:
            fit_kwargs["candidate_progress"] = None
        objective = _CVObjective(clone(self.estimator), X, y, splits, orders, self.resource,
                                 n_samples, fit_kwargs, metric)

        optimizer = self.optimizer if self.optimizer is not None else _opts.DEFAULT
        if not isinstance(optimizer, str):
            optimizer = self._fresh_optimizer(optimizer, lo, hi)
        limits = {"max_evaluations": self.max_evaluations, "total_budget": self.total_budget,
                  "walltime": self.walltime}
        if all(v is None for v in limits.values()):
            # about what HalvingRandomSearchCV spends by default: each rung's evaluations
            # together cost about max_resources
            limits["total_budget"] = self.n_possible_iterations_ * hi
        kwargs: dict[str, Any] = {}
        from lowfi.run.loop import minimize as _minimize

        run_args = inspect.signature(_minimize).parameters
        if "error_on_all_failed" in run_args:
            kwargs["error_on_all_failed"] = False
        if self.error_score == "raise":
            kwargs["max_failures"] = 1
        if self.optimizer_kwargs is not None and not isinstance(self.optimizer_kwargs, dict):
            raise ValueError(f"optimizer_kwargs: got {self.optimizer_kwargs!r}; allowed are None "
                             "or a dict of the optimizer's options")
        if isinstance(optimizer, str):
            kwargs["optimizer_kwargs"] = dict(self.optimizer_kwargs or {})
            if _accepts(optimizer, "budget_type"):
                kwargs["optimizer_kwargs"].setdefault("budget_type", int)

        n_workers = self._n_workers()
        journal = self._journal_path()
        if self.verbose and self.verbose > 0:  # as scikit-learn's searches announce their plan
            bound = ", ".join(f"{k}={v:g}" for k, v in limits.items() if v is not None)
            print(f"SearchCV: {self.n_splits_} folds, {self.resource} from {lo} to {hi} "
                  f"({self.n_possible_iterations_} rungs, factor {self.factor:g}), optimizer "
                  f"{optimizer if isinstance(optimizer, str) else type(optimizer).__name__}, "
                  f"until {bound}")
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"minimize: all")
            # SearchCV says itself when max_resources was never reached
            warnings.filterwarnings("ignore", message=r"minimize: no trial was evaluated at")
            try:
                self.run_ = lowfi.minimize(objective, self.space, optimizer, min_budget=lo,
                                           max_budget=hi, eta=self.factor, n_workers=n_workers,
                                           executor=self.executor, storage=journal,
                                           seed=seed, progress=self.progress,
                                           direction="maximize", **limits, **kwargs)
            except ValueError as exc:
                if "already holds a run" not in str(exc):
                    raise
                raise ValueError(
                    f"storage: {journal!r} already holds a run (an earlier fit?); every fit is a "
                    "new search: pass a folder (e.g. storage='runs/') for a new journal per fit, "
                    "or another path.") from None
        records = sorted((r for r in self.run_.optimizer.history.records if r.trial_id >= 0),
                         key=lambda r: r.trial_id)  # (warm-start priors have ids < 0)
        trials = self.run_.trials
        errors = (dict(zip(trials["trial_id"], trials["error"]))
                  if "error" in trials.columns and "trial_id" in trials.columns else {})
        if self.error_score == "raise":
            if objective.raised is not None:
                raise objective.raised
            failed = [r for r in records if r.failed]
            if failed:
                raise ValueError("SearchCV: a fit failed (error_score='raise'):\n"
                                 f"{errors.get(failed[0].trial_id)}")
        self._collect(records, refit_metric, errors)
        if self.refit:
            self._refit(X, y, routed)
        self.scorer_ = scorers._scorers if hasattr(scorers, "_scorers") else scorers
        return self

    def _fresh_optimizer(self, optimizer: Any, lo: int, hi: int) -> Any:
        """A copy of an optimizer instance for this fit (``fit`` can run again, and a clone
        of a fitted search fits), refused when its budgets are not the search's resources."""
        import copy

        if self.optimizer_kwargs:
            raise ValueError("optimizer_kwargs: give them with an optimizer's name, not with an "
                             "optimizer instance")
        if getattr(optimizer, "history", None) is not None and (
                optimizer.history.records or optimizer.history.pending):
            raise ValueError("optimizer: got an optimizer that has already been asked; pass a "
                             "fresh one, or a registered name with optimizer_kwargs")
        got = (getattr(optimizer, "min_budget", None), getattr(optimizer, "max_budget", None))
        if got[1] is not None and (float(got[0] if got[0] is not None else hi), float(got[1])) \
                != (float(lo), float(hi)):
            raise ValueError(f"optimizer: its budgets are {got[0]!r}..{got[1]!r}, but this search's "
                             f"resources are {lo}..{hi} ({self.resource}: min_resources_ .. "
                             "max_resources_, known only at fit): pass the optimizer's name "
                             "(optimizer='hyperband', optimizer_kwargs=...) instead of an "
                             "instance, or build it with these budgets")
        return copy.deepcopy(optimizer)

    def _n_workers(self) -> int:
        """``n_workers``, or the workers ``n_jobs`` asks for (joblib's convention)."""
        n_jobs = self.n_jobs
        if n_jobs is None:
            return self.n_workers
        if isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral) or n_jobs == 0:
            raise ValueError(f"n_jobs: got {n_jobs!r}; allowed are None, a positive int, or -1 "
                             "(one worker per CPU core), -2 (all but one), ...")
        if self.n_workers != 1:
            raise ValueError(f"n_jobs: got {n_jobs!r} together with n_workers={self.n_workers!r}; "
                             "give one of them")
        cores = os.cpu_count() or 1
        return int(n_jobs) if n_jobs > 0 else max(cores + 1 + int(n_jobs), 1)

    def _journal_path(self) -> Any:
        """The journal of this ``fit``: ``storage`` itself, or a new file in the folder it names."""
        storage = self.storage
        if isinstance(storage, str | os.PathLike):
            text = os.fspath(storage)
            if "://" not in text and (os.path.isdir(text) or text.endswith(("/", os.sep))):
                os.makedirs(text, exist_ok=True)
                name = f"searchcv-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}.db"
                storage = os.path.join(text, name)
        self.storage_ = storage
        return storage

    def _collect(self, records: list, refit_metric: str, errors: dict[int, Any]) -> None:
        candidates, outs = [], []
        more: dict[str, list] = {"iter": [], "n_resources": [], "config_id": []}
        for rec in records:
            data = (rec.result_info or {}).get("sklearn") if hasattr(rec, "result_info") else None
            if data is None:  # failed before scoring (a crash outside the folds, a timeout)
                params = dict(rec.config)
                n = int(round(rec.budget))
                if self.resource != "n_samples":
                    params[self.resource] = n
                err = errors.get(rec.trial_id) or f"evaluation {rec.status}"
                score = self.error_score if isinstance(self.error_score, numbers.Number) else np.nan
                outs.extend({"test_scores": score, "n_test_samples": 0, "fit_time": 0.0,
                             "score_time": 0.0, "fit_error": str(err),
                             **({"train_scores": score} if self.return_train_score else {})}
                            for _ in range(self.n_splits_))
            else:
                params, n = data["params"], int(data["n_resources"])
                outs.extend(dict(o) for o in data["out"])
            candidates.append(params)
            more["n_resources"].append(n)
            more["config_id"].append(int(rec.config_id))
        if not candidates:
            raise ValueError("SearchCV: no evaluation finished; raise max_evaluations, "
                             "total_budget or walltime")
        rungs = sorted(set(more["n_resources"]))
        more["iter"] = [rungs.index(n) for n in more["n_resources"]]
        self.n_resources_ = rungs
        self.n_candidates_ = [more["n_resources"].count(n) for n in rungs]
        self.n_iterations_ = len(rungs)
        if callable(self.scoring):
            _insert_error_scores(outs, self.error_score)
        # dict test scores with a placeholder number where a fit failed
        first = next((o["test_scores"] for o in outs if isinstance(o["test_scores"], dict)), None)
        if first is not None:
            for o in outs:
                for key in ("test_scores", "train_scores"):
                    if key in o and not isinstance(o[key], dict):
                        o[key] = {name: o[key] for name in first}
        self.multimetric_ = first is not None
        if callable(self.scoring) and self.multimetric_:
            self._check_refit_for_multimetric(first)
            refit_metric = self.refit
        self.cv_results_ = self._format_results(candidates, self.n_splits_, outs, more)
        _warn_or_raise_about_fit_failures(outs, self.error_score)
        if self.refit or not self.multimetric_:
            self.best_index_ = int(self._select_best_index(self.refit, refit_metric,
                                                           self.cv_results_))
            if not callable(self.refit):
                self.best_score_ = float(self.cv_results_[f"mean_test_{refit_metric}"][self.best_index_])
            self.best_params_ = self.cv_results_["params"][self.best_index_]
            reached = int(self.cv_results_["n_resources"][self.best_index_])
            if reached < self.max_resources_:
                warnings.warn(f"SearchCV: no evaluation reached max_resources="
                              f"{self.max_resources_} within the limits (highest: {max(rungs)}); "
                              f"best_score_ is measured at {self.resource}={reached}. Raise "
                              "the limit that stopped it (max_evaluations, total_budget or "
                              "walltime)", stacklevel=3)

    def _refit(self, X: Any, y: Any, routed: Any) -> None:
        self.best_estimator_ = clone(self.estimator).set_params(
            **clone(self.best_params_, safe=False))
        t0 = time.time()
        if y is not None:
            self.best_estimator_.fit(X, y, **routed.estimator.fit)
        else:
            self.best_estimator_.fit(X, **routed.estimator.fit)
        self.refit_time_ = time.time() - t0
        if hasattr(self.best_estimator_, "feature_names_in_"):
            self.feature_names_in_ = self.best_estimator_.feature_names_in_

    @staticmethod
    def _select_best_index(refit: Any, refit_metric: str, results: dict[str, Any]) -> int:
        """The best evaluation at the highest resource reached (a callable ``refit`` gets
        the whole ``cv_results_`` and returns an index, as in scikit-learn)."""
        if callable(refit):
            return BaseSearchCV._select_best_index(refit, refit_metric, results)
        top = np.flatnonzero(results["n_resources"] == np.max(results["n_resources"]))
        scores = np.asarray(results[f"mean_test_{refit_metric}"], dtype=float)[top]
        if np.isnan(scores).all():
            return int(top[0])
        return int(top[np.nanargmax(scores)])

    def _run_search(self, evaluate_candidates: Any, **kwargs: Any) -> None:  # pragma: no cover
        raise NotImplementedError("SearchCV runs its search through lowfi.minimize")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.array_api_support = False
        return tags


def _accepts(name: str, arg: str) -> bool:
    """Whether the registered optimizer ``name`` takes the keyword ``arg``."""
    from lowfi.optimizers import ALIASES, REGISTRY, _load

    key = ALIASES.get(name, name)
    if key not in REGISTRY:
        return False
    try:
        cls = _load(key)
    except ValueError:
        return False
    params = inspect.signature(cls.__init__).parameters
    if arg in params:
        return True
    # **kwargs handed on to a scheduler that takes it (Auto, BOHB-like subclasses)
    from lowfi.optimizers.asha import ASHA
    from lowfi.optimizers.hyperband import _SynchronousBrackets

    return (any(p.kind == p.VAR_KEYWORD for p in params.values())
            and issubclass(cls, _SynchronousBrackets | ASHA)
            and arg in inspect.signature(_SynchronousBrackets.__init__).parameters)


# inspect.signature(SearchCV) reports __init__'s parameters, not __new__'s (*args, **kwargs):
# scikit-learn's estimator checks and help() read the constructor's signature from it
_init_sig = inspect.signature(SearchCV.__init__)
SearchCV.__signature__ = _init_sig.replace(  # type: ignore[attr-defined]
    parameters=list(_init_sig.parameters.values())[1:])

#: the name this class had first
LowfiSearchCV = SearchCV
