"""Final-value regression from a partial curve (Baker, Gupta, Raskar & Naik, 2017).

"Accelerating Neural Architecture Search using Performance Prediction" trains, for each
number of observed epochs ``tau``, a regression model (a *sequential regression model*) from

* the configuration's hyperparameters (encoded),
* the partial curve ``y_1..y_tau``,
* its first differences ``y_{t+1} - y_t`` and second differences,

to the final value ``y_T``; the paper found a nu-SVR with an RBF kernel the most accurate, and
models its error as Gaussian with the standard deviation measured by cross-validation. A run
is stopped when the probability that its final value beats the best seen falls under ``Delta``
(see :class:`lowfi.curves.BakerStopping`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lowfi.core.seeding import SeedLike, as_generator
from lowfi.curves.prediction import CurvePrediction


def baker_features(X: np.ndarray | None, curves: np.ndarray) -> np.ndarray:
    """Features of Baker et al.: hyperparameters, values, first and second differences.

    ``X`` has shape ``(n, d)`` (or None), ``curves`` ``(n, tau)`` with ``tau >= 1``; inactive
    (NaN) hyperparameters become -1.
    """
    c = np.atleast_2d(np.asarray(curves, dtype=float))
    parts = [c, np.diff(c, n=1, axis=1), np.diff(c, n=2, axis=1)]
    if X is not None:
        Xa = np.nan_to_num(np.atleast_2d(np.asarray(X, dtype=float)), nan=-1.0)
        if Xa.shape[0] != c.shape[0]:
            raise ValueError(f"X: got {Xa.shape[0]} rows for {c.shape[0]} curves; must match")
        parts.insert(0, Xa)
    return np.hstack(parts)


class BakerRegressor:
    """nu-SVR from (hyperparameters, partial curve, its differences) to the final value.

    One model for one number of observed points ``tau`` (the paper's sequential regression
    model); :meth:`fit` takes the first ``tau`` values of fully evaluated curves.

    Parameters
    ----------
    nu
        The nu of ``sklearn.svm.NuSVR``.
    C_grid, gamma_grid
        Candidate ``C`` and RBF ``gamma`` (multiples of ``1/n_features``) picked by k-fold
        cross-validation (the paper tuned them by random search with cross-validation).
    cv
        Number of folds; the out-of-fold residuals give the predictive standard deviation.
    seed
        Seed for the fold assignment.
    """

    def __init__(
        self,
        nu: float = 0.5,
        C_grid: tuple[float, ...] = (0.3, 3.0, 30.0),
        gamma_grid: tuple[float, ...] = (0.3, 1.0, 3.0),
        cv: int = 3,
        seed: SeedLike = None,
    ):
        if not 0 < nu <= 1:
            raise ValueError(f"nu: got {nu!r}; allowed is a number in (0, 1]")
        if not isinstance(cv, int) or cv < 2:
            raise ValueError(f"cv: got {cv!r}; allowed is an int >= 2")
        self.nu, self.C_grid, self.gamma_grid, self.cv = float(nu), C_grid, gamma_grid, cv
        self.rng = as_generator(seed)

    def fit(self, X: np.ndarray | None, partial: np.ndarray, final: np.ndarray) -> BakerRegressor:
        """Fit on ``n`` curves: hyperparameters ``X`` (n, d) or None, ``partial`` (n, tau),
        ``final`` (n,); returns self."""
        from sklearn.preprocessing import StandardScaler
        from sklearn.svm import NuSVR

        F = baker_features(X, partial)
        y = np.asarray(final, dtype=float).reshape(-1)
        if len(y) != len(F):
            raise ValueError(f"final: got {len(y)} values for {len(F)} curves; must match")
        if len(y) < self.cv + 1:
            raise ValueError(f"partial: got {len(y)} curves; at least {self.cv + 1} are needed")
        self.tau_ = int(np.atleast_2d(partial).shape[1])
        self.scaler_ = StandardScaler().fit(F)
        Z = self.scaler_.transform(F)
        # predict the change from the last seen value: the paper's features make it easy, and
        # it keeps the model honest when few curves exist
        last = np.atleast_2d(partial)[:, -1]
        self.y_mean_, self.y_std_ = float(np.mean(y - last)), float(np.std(y - last) + 1e-12)
        t = (y - last - self.y_mean_) / self.y_std_
        folds = self.rng.permutation(len(y)) % self.cv
        best = (np.inf, None, None)
        for C in self.C_grid:
            for g in self.gamma_grid:
                oof = np.empty_like(t)
                for k in range(self.cv):
                    tr, te = folds != k, folds == k
                    m = NuSVR(nu=self.nu, C=C, gamma=g / Z.shape[1]).fit(Z[tr], t[tr])
                    oof[te] = m.predict(Z[te])
                err = float(np.mean((oof - t) ** 2))
                if err < best[0]:
                    best = (err, (C, g), oof)
        (C, g), oof = best[1], best[2]
        self.C_, self.gamma_ = C, g / Z.shape[1]
        self.model_ = NuSVR(nu=self.nu, C=C, gamma=self.gamma_).fit(Z, t)
        self.cv_std_ = float(np.sqrt(np.mean((oof - t) ** 2)) * self.y_std_)
        return self

    def predict(self, X: np.ndarray | None, partial: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Predicted final values and their (cross-validated) standard deviations."""
        F = baker_features(X, partial)
        if np.atleast_2d(partial).shape[1] != self.tau_:
            raise ValueError(
                f"partial: got {np.atleast_2d(partial).shape[1]} points; this model "
                f"was fitted with tau={self.tau_}"
            )
        last = np.atleast_2d(partial)[:, -1]
        mean = last + self.y_mean_ + self.y_std_ * self.model_.predict(self.scaler_.transform(F))
        return mean, np.full_like(mean, max(self.cv_std_, 1e-9))

    def predict_distribution(
        self, X: np.ndarray | None, partial: np.ndarray, T: float, direction: str = "minimize"
    ) -> CurvePrediction:
        """The Gaussian predictive distribution of one curve's final value (step ``T``)."""
        mean, std = self.predict(X, partial)
        return CurvePrediction(np.array([T]), mean[:1, None], std[:1], direction, scalar=True)


def curves_matrix(curves: list[Any], tau: int) -> np.ndarray:
    """First ``tau`` values of each curve (a list of ``[(step, value), ...]`` or of values)."""
    rows = []
    for c in curves:
        vals = [v[1] if isinstance(v, tuple | list) else v for v in c]
        rows.append(vals[:tau])
    return np.asarray(rows, dtype=float)
