"""``LowfiSearchCV``: multi-fidelity hyperparameter search as a scikit-learn estimator.

Like scikit-learn's ``HalvingRandomSearchCV``, but any lowfi optimizer (BOHB by default)
decides which configuration gets which resource, and runs go through lowfi's run loop
(executors, journal, resume).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone
from sklearn.model_selection import cross_val_score


class _CVObjective:
    """Cross-validated loss (negated score) of ``estimator`` with a configuration (picklable)."""

    def __init__(self, estimator, X, y, resource, cv, scoring, seed):
        self.estimator, self.X, self.y = estimator, X, y
        self.resource, self.cv, self.scoring = resource, cv, scoring
        self.order = np.random.default_rng(seed).permutation(len(X))

    def __call__(self, config: dict[str, Any], budget: float) -> float:
        est = clone(self.estimator).set_params(**config)
        X, y = self.X, self.y
        if self.resource == "n_samples":
            idx = self.order[: max(int(round(budget)), 2)]
            X, y = X[idx], y[idx]
        else:
            est.set_params(**{self.resource: int(round(budget))})
        return -float(np.mean(cross_val_score(est, X, y, cv=self.cv, scoring=self.scoring)))


class LowfiSearchCV(MetaEstimatorMixin, BaseEstimator):
    """Multi-fidelity search over ``space`` for ``estimator`` with cross-validation.

    Parameters
    ----------
    estimator
        A scikit-learn estimator.
    space
        A ConfigSpace space (or dict shorthand) over the estimator's parameters.
    resource
        The budget: ``"n_samples"`` (training-set size; the data are shuffled once) or the
        name of an integer estimator parameter such as ``"max_iter"`` or ``"n_estimators"``.
    min_resource, max_resource
        Budget range (defaults for ``n_samples``: ``len(X) // 27`` (at least 20 per CV fold)
        to ``len(X)``; required for a parameter resource).
    optimizer, eta, max_evaluations, total_budget, n_workers, executor, storage
        As in :func:`lowfi.minimize`.
    scoring, cv
        As in :func:`sklearn.model_selection.cross_val_score` (higher scores are better).
    refit
        Refit the best configuration on all data at the full resource.
    random_state
        Seed of the optimizer and of the shuffle for ``n_samples``.

    Attributes
    ----------
    best_params_, best_score_, best_resource_ (the resource best_score_ was measured at),
    best_estimator_, cv_results_ (a DataFrame of all trials), run_ (the
    :class:`lowfi.run.RunResult`).
    """

    def __init__(self, estimator: Any, space: Any, *, resource: str = "n_samples",
                 min_resource: float | None = None, max_resource: float | None = None,
                 optimizer: str = "bohb", eta: float = 3, scoring: Any = None, cv: Any = 3,
                 max_evaluations: int | None = None, total_budget: float | None = None,
                 n_workers: int = 1, executor: Any = None, storage: Any = None,
                 refit: bool = True, random_state: int | None = 0, progress: bool = False):
        self.estimator, self.space, self.resource = estimator, space, resource
        self.min_resource, self.max_resource = min_resource, max_resource
        self.optimizer, self.eta, self.scoring, self.cv = optimizer, eta, scoring, cv
        self.max_evaluations, self.total_budget = max_evaluations, total_budget
        self.n_workers, self.executor, self.storage = n_workers, executor, storage
        self.refit, self.random_state, self.progress = refit, random_state, progress

    def _budgets(self, n: int) -> tuple[float, float]:
        if self.resource == "n_samples":
            folds = self.cv if isinstance(self.cv, int) else 5
            lo = self.min_resource if self.min_resource is not None else max(n // 27, 20 * folds)
            hi = self.max_resource if self.max_resource is not None else n
            if hi > n:
                raise ValueError(f"max_resource: got {hi}; with resource='n_samples' it must be <= len(X) = {n}")
            return float(min(lo, hi)), float(hi)
        if self.min_resource is None or self.max_resource is None:
            raise ValueError(f"min_resource/max_resource: required when resource={self.resource!r} "
                             "(an estimator parameter)")
        if self.resource not in self.estimator.get_params():
            raise ValueError(f"resource: got {self.resource!r}; allowed are 'n_samples' or a parameter "
                             f"of {type(self.estimator).__name__}")
        return float(self.min_resource), float(self.max_resource)

    def fit(self, X: Any, y: Any) -> LowfiSearchCV:
        import lowfi
        from lowfi.space import Space

        X, y = np.asarray(X), np.asarray(y)
        lo, hi = self._budgets(len(X))
        names = Space.from_any(self.space).names
        params = self.estimator.get_params()
        unknown = [n for n in names if n not in params]
        if unknown:
            raise ValueError(f"space: parameters {unknown} are not parameters of "
                             f"{type(self.estimator).__name__}; allowed are {sorted(params)}")
        objective = _CVObjective(self.estimator, X, y, self.resource, self.cv, self.scoring,
                                 self.random_state)
        limits = {"max_evaluations": self.max_evaluations, "total_budget": self.total_budget}
        if all(v is None for v in limits.values()):
            limits["total_budget"] = 20 * hi
        self.run_ = lowfi.minimize(objective, self.space, self.optimizer, min_budget=lo,
                                   max_budget=hi, eta=self.eta, n_workers=self.n_workers,
                                   executor=self.executor, storage=self.storage,
                                   seed=self.random_state, progress=self.progress, **limits)
        self.cv_results_ = self.run_.trials
        if self.run_.best_config is None:
            errors = self.cv_results_["error"].dropna() if len(self.cv_results_) else []
            last = str(errors.iloc[-1]).strip().splitlines()[-1] if len(errors) else ""
            raise RuntimeError("LowfiSearchCV: every evaluation failed; see cv_results_['error']"
                               + (f" (last: {last})" if last else ""))
        self.best_params_ = dict(self.run_.best_config)
        self.best_score_ = -float(self.run_.best_loss)
        done = self.cv_results_[self.cv_results_["status"] == "ok"]
        #: the resource at which best_score_ was measured
        self.best_resource_ = float(done["budget"].max())
        if self.best_resource_ < hi:
            import warnings

            warnings.warn(f"LowfiSearchCV: no evaluation reached max_resource={hi:g} within the "
                          f"limits (highest: {self.best_resource_:g}); best_score_ is measured at "
                          f"{self.resource}={self.best_resource_:g}. Raise max_evaluations or "
                          "total_budget", stacklevel=2)
        if self.refit:
            est = clone(self.estimator).set_params(**self.best_params_)
            if self.resource != "n_samples":
                est.set_params(**{self.resource: int(round(hi))})
            self.best_estimator_ = est.fit(X, y)
        return self

    def predict(self, X: Any) -> Any:
        return self.best_estimator_.predict(X)

    def predict_proba(self, X: Any) -> Any:
        return self.best_estimator_.predict_proba(X)

    def score(self, X: Any, y: Any) -> float:
        return self.best_estimator_.score(X, y)
