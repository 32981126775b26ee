"""A SMAC-style random-forest regression model with predictive mean and variance.

The forest is a bagged ensemble of scikit-learn's :class:`~sklearn.tree.DecisionTreeRegressor`
(the trees of ``RandomForestRegressor``: a bootstrap sample per tree, as sample weights, and a
random subset of features per split). Predictions follow SMAC's random forest
(Hutter et al. 2011, "Sequential model-based optimization for general algorithm
configuration"; pyrfr): the predictive distribution is the mixture of the trees' leaves, so
by the law of total variance

    mean = E_t[m_t(x)],   var = E_t[v_t(x) + m_t(x)^2] - mean^2,

with ``m_t`` and ``v_t`` the mean and the variance of the training targets in the leaf of tree
``t`` that ``x`` falls into (``within_leaf_variance=False`` keeps only the variance of the tree
means). Inactive parameters (NaN in lowfi's encoding) are imputed with a value outside the
encoded range ([0, 1] for numbers, indices >= 0 for categories), -1 by default, so trees can
split them off.

Prediction walks each tree directly (``tree_.apply``) and gathers leaf statistics with numpy,
which avoids scikit-learn's per-call overhead: about a millisecond for thousands of points.
"""

from __future__ import annotations

import numbers

import numpy as np

from lowfi.core.seeding import SeedLike, as_generator


class RandomForest:
    """Random-forest regression with a predictive mean and variance (SMAC's surrogate).

    Parameters
    ----------
    n_trees
        Number of trees (SMAC uses 10).
    min_samples_split, min_samples_leaf
        Minimum number of distinct training points to split a node / in a leaf. SMAC's pyrfr
        uses 3 and 3, but counts bootstrap draws (duplicates included), while scikit-learn
        counts distinct points (a bootstrap is a weighting); 2 and 1 here come closer to
        pyrfr's trees and gave better optimization on lowfi's toy problems.
    max_features
        Fraction of features considered at each split (SMAC: 5/6).
    max_depth
        Maximum tree depth (None: unlimited).
    bootstrap
        Fit every tree on a bootstrap sample of the data.
    within_leaf_variance
        Add the variance of the targets inside each leaf (law of total variance, as pyrfr);
        otherwise the variance is only the spread of the tree means.
    impute
        Value that replaces NaN (inactive parameters) in inputs.
    min_variance
        Floor of the predicted variance.
    seed
        Seed of the bootstrap and feature sampling.
    """

    def __init__(
        self,
        n_trees: int = 10,
        min_samples_split: int = 2,
        min_samples_leaf: int = 1,
        max_features: float = 5 / 6,
        max_depth: int | None = None,
        bootstrap: bool = True,
        within_leaf_variance: bool = True,
        impute: float = -1.0,
        min_variance: float = 1e-10,
        seed: SeedLike = None,
    ):
        for name, v, lo in (
            ("n_trees", n_trees, 1),
            ("min_samples_split", min_samples_split, 2),
            ("min_samples_leaf", min_samples_leaf, 1),
        ):
            if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v < lo:
                raise ValueError(f"{name}: got {v!r}; it must be an integer >= {lo}")
        if not isinstance(max_features, numbers.Real) or not 0 < max_features <= 1:
            raise ValueError(f"max_features: got {max_features!r}; it must be a fraction in (0, 1]")
        if max_depth is not None and (not isinstance(max_depth, numbers.Integral) or max_depth < 1):
            raise ValueError(f"max_depth: got {max_depth!r}; it must be None or an integer >= 1")
        if not isinstance(impute, numbers.Real) or not np.isfinite(impute):
            raise ValueError(f"impute: got {impute!r}; it must be a finite number")
        if not isinstance(min_variance, numbers.Real) or min_variance < 0:
            raise ValueError(f"min_variance: got {min_variance!r}; it must be a number >= 0")
        self.n_trees = int(n_trees)
        self.min_samples_split = int(min_samples_split)
        self.min_samples_leaf = int(min_samples_leaf)
        self.max_features = float(max_features)
        self.max_depth = max_depth
        self.bootstrap = bool(bootstrap)
        self.within_leaf_variance = bool(within_leaf_variance)
        self.impute = float(impute)
        self.min_variance = float(min_variance)
        self.rng = as_generator(seed)
        self._trees: list = []
        self._leaf_mean: list[np.ndarray] = []
        self._leaf_second: list[np.ndarray] = []
        self.n_features_: int | None = None

    # ------------------------------------------------------------------ helpers
    def _prepare(self, X: np.ndarray, argument: str = "X") -> np.ndarray:
        X = np.asarray(X, dtype=float)
        if X.ndim != 2:
            raise ValueError(
                f"{argument}: got an array of shape {X.shape}; pass a 2-d array (n, dim)"
            )
        if self.n_features_ is not None and X.shape[1] != self.n_features_:
            raise ValueError(
                f"{argument}: got {X.shape[1]} columns; the forest was fit on {self.n_features_}"
            )
        X = np.where(np.isnan(X), self.impute, X)
        return np.ascontiguousarray(X, dtype=np.float32)

    # ------------------------------------------------------------------ API
    def fit(self, X: np.ndarray, y: np.ndarray) -> RandomForest:
        """Fit the forest to inputs ``X`` (n, dim; NaN allowed) and finite targets ``y`` (n,)."""
        from sklearn.tree import DecisionTreeRegressor

        X = np.asarray(X, dtype=float)
        y = np.asarray(y, dtype=float).ravel()
        if X.ndim != 2 or len(X) != len(y):
            raise ValueError(
                f"X, y: got shapes {X.shape} and {y.shape}; X must be (n, dim) and y (n,)"
            )
        if len(y) < 1:
            raise ValueError("X, y: need at least one observation to fit a forest")
        if not np.all(np.isfinite(y)):
            raise ValueError(
                "y: got non-finite targets; replace failures by a finite worst loss first"
            )
        self.n_features_ = None
        Xf = self._prepare(X)
        self.n_features_ = X.shape[1]
        n = len(y)
        states = self.rng.integers(2**31 - 1, size=self.n_trees)
        # the trees of scikit-learn's RandomForestRegressor, built here one by one so that the
        # bootstrap comes from our generator and input checks run once, not once per tree
        self._trees = []
        for k in range(self.n_trees):
            weight = (
                np.bincount(self.rng.integers(n, size=n), minlength=n).astype(float)
                if self.bootstrap
                else None
            )
            est = DecisionTreeRegressor(
                min_samples_split=self.min_samples_split,
                min_samples_leaf=self.min_samples_leaf,
                max_features=self.max_features,
                max_depth=self.max_depth,
                random_state=int(states[k]),
            )
            est.fit(Xf, y, sample_weight=weight, check_input=False)
            self._trees.append(est.tree_)
        # leaf statistics: tree_.value is the node mean, tree_.impurity the (bootstrap-weighted)
        # variance of the targets in the node (squared-error criterion)
        self._leaf_mean = [t.value[:, 0, 0].astype(float) for t in self._trees]
        self._leaf_second = [
            (t.impurity if self.within_leaf_variance else 0.0) + t.value[:, 0, 0] ** 2
            for t in self._trees
        ]
        return self

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Predictive ``(mean, var)``, each of shape ``(n,)``; ``var >= min_variance``."""
        if not self._trees:
            raise RuntimeError("RandomForest: call fit(X, y) before predict(X)")
        Xf = self._prepare(X)
        n = len(Xf)
        if n == 0:
            return np.empty(0), np.empty(0)
        means = np.empty((len(self._trees), n))
        second = np.empty((len(self._trees), n))
        for k, tree in enumerate(self._trees):  # a handful of trees; each call is vectorized
            leaf = tree.apply(Xf)
            means[k] = self._leaf_mean[k][leaf]
            second[k] = self._leaf_second[k][leaf]
        mean = means.mean(axis=0)
        if self.within_leaf_variance:
            var = second.mean(axis=0) - mean**2
        else:
            var = means.var(axis=0)
        return mean, np.maximum(var, self.min_variance)

    def predict_trees(self, X: np.ndarray) -> np.ndarray:
        """Per-tree predictions, shape ``(n_trees, n)``."""
        if not self._trees:
            raise RuntimeError("RandomForest: call fit(X, y) before predict_trees(X)")
        Xf = self._prepare(X)
        return np.stack([self._leaf_mean[k][t.apply(Xf)] for k, t in enumerate(self._trees)])
