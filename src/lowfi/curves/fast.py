"""Fast, calibrated learning-curve extrapolation: vectorized fits of Domhan et al.'s families.

:class:`FastExtrapolator` predicts where a partially observed learning curve ends, with a
calibrated predictive distribution, in milliseconds per curve and for many curves at once.
It keeps the model of Domhan, Springenberg & Hutter (IJCAI 2015) -- a weighted combination of
the 11 parametric families of :mod:`lowfi.curves.families`, every component non-decreasing
towards the better value, the prediction at the horizon bounded by the best possible value --
and replaces the MCMC posterior by

1. **Variable-projection least squares.** Every family is written as
   ``u(x) = c + a * g(x | theta)`` with ``a >= 0`` and ``g`` increasing (``c`` absent for the
   families without an offset: Hill3, log power, vapour pressure; ``a`` fixed to 1 for log-log
   linear). For a fixed nonlinear ``theta`` (one or two numbers) the best ``c, a`` have a
   closed form, so a grid over ``theta`` is scored for all curves in one array operation and
   refined twice around each curve's best point. This finds the global least-squares fit of
   each family on its grid, with no starting point and no iteration per curve. Janoschek,
   Weibull and exp4 describe the same curves ``c - A exp(-(x/rho)^delta)``, and Hill3 and log
   power the same ``a / (1 + (rho/x)^eta)``; each shape is fitted once and counts once per
   family name in the average, as in the paper's equal prior over the 11 families.
2. **Bayesian model average with a tempered BIC** (Schwarz's approximation of each family's
   marginal likelihood, ``-n/2 log(SSE/n) - p/2 log n``, divided by a temperature).
3. **An empirically calibrated predictive distribution.** The centre is the model average at
   the horizon, shrunk towards the fitted (denoised) value at the last observed step by a
   factor ``shrink``; the spread combines the residual noise of the fit, the size of the
   predicted change, the disagreement between families and the distance to the best possible
   value (``bounds``, else ``max_improvement`` observed ranges) times the log of how far ahead
   the prediction is (``log(T / last step)``), with a Student-t shape
   (``nu`` degrees of freedom; a scale mixture of Gaussians, so every
   :class:`~lowfi.curves.CurvePrediction` method applies). The six constants in
   :data:`CALIBRATION` were fitted by maximum likelihood of final values on a training split
   of the real curves shipped with lowfi and checked on held-out curves and held-out kinds of
   curves (``benchmarks/curves_bench.py --calibrate``; see the learning-curves benchmark page).

Values are mirrored for loss-like curves and mapped affinely so that the observed part spans
``[0.1, 1.1]`` (as in :class:`~lowfi.curves.DomhanExtrapolator`); steps are divided by the
first observed step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lowfi.curves.families import FAMILY_NAMES
from lowfi.curves.prediction import CurvePrediction, check_direction

_U0 = 0.1
_EXP_CLIP = 50.0

#: Calibration constants of :class:`FastExtrapolator` (see the module docstring).
CALIBRATION: dict[str, float] = {
    "temperature": 34.3,  # divides the BIC log-evidence of each family
    "shrink": 1.5,  # x the predicted change from the last observed step (upper end of [0, 1.5])
    "noise": 0.729,  # x residual noise of the fit
    "change": 0.036,  # x |predicted change|
    "spread": 0.869,  # x spread of the families' predictions
    "headroom": 0.126,  # x distance to the best possible value x log(horizon / last step)
    "nu": 3.68,  # Student-t degrees of freedom
}


def _exp(z: np.ndarray) -> np.ndarray:
    return np.exp(np.clip(z, -_EXP_CLIP, _EXP_CLIP))


def _pow(base: np.ndarray, e: np.ndarray) -> np.ndarray:
    return _exp(e * np.log(np.maximum(base, 1e-300)))


@dataclass(frozen=True)
class _Shape:
    """``u = c + a * g(x | theta)`` (mode ``affine``), ``a * g`` (``scale``), ``c + g`` (``shift``).

    ``g(x, xl, P)``: ``x`` (N, 1, n) steps, ``xl`` (N, 1, 1) last observed step, ``P`` (N, G, d)
    nonlinear parameters in grid coordinates (each in ``[lo, hi]``) -> (N, G, n).
    """

    key: str
    mode: str
    lo: tuple[float, ...]
    hi: tuple[float, ...]
    coarse: tuple[int, ...]
    g: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]

    @property
    def d(self) -> int:
        return len(self.lo)


def _g_pow3(x, xl, P):  # c - a x^-alpha, alpha = e^p0
    return -_pow(x, -_exp(P[..., 0:1]))


def _g_pow4(x, xl, P):  # c - (x + s)^-alpha, s = xl e^p1 - 0.95 (> -1)
    s = xl * _exp(P[..., 1:2]) - 0.95
    return -_pow(x + s, -_exp(P[..., 0:1]))


def _g_ilog2(x, xl, P):  # c - a / log(x + 1)
    return np.broadcast_to(-1.0 / np.log(x + 1.0), (x.shape[0], P.shape[1], x.shape[2]))


def _g_exp(x, xl, P):  # c - A exp(-(x / rho)^delta): exp4, Janoschek, Weibull
    rho = xl * _exp(P[..., 0:1])
    return -_exp(-_pow(x / rho, _exp(P[..., 1:2])))


def _g_mmf(x, xl, P):  # alpha - (alpha - beta) / (1 + (x / rho)^delta)
    rho = xl * _exp(P[..., 0:1])
    return -1.0 / (1.0 + _pow(x / rho, _exp(P[..., 1:2])))


def _g_hill(x, xl, P):  # ymax / (1 + (rho / x)^eta): Hill3, log power
    rho = xl * _exp(P[..., 0:1])
    return 1.0 / (1.0 + _pow(rho / x, _exp(P[..., 1:2])))


def _g_vap(x, xl, P):  # exp(a + b / x + c log x), b = -e^p0 <= 0, c = e^p1 - 1e-3 >= 0
    b = -_exp(P[..., 0:1])
    c = _exp(P[..., 1:2]) - 1e-3
    return _exp(b / x + c * np.log(x))


def _g_loglog(x, xl, P):  # log(a log x + b) = log b + log(1 + r log x), r = e^p0
    return np.log1p(_exp(P[..., 0:1]) * np.log(x))


_L = np.log
_SHAPES: dict[str, _Shape] = {
    s.key: s
    for s in [
        _Shape("pow3", "affine", (_L(0.02),), (_L(4.0),), (48,), _g_pow3),
        _Shape("pow4", "affine", (_L(0.02), _L(0.002)), (_L(4.0), _L(10.0)), (16, 12), _g_pow4),
        _Shape("ilog2", "affine", (), (), (), _g_ilog2),
        _Shape("exp", "affine", (_L(0.05), _L(0.1)), (_L(20.0), _L(4.0)), (20, 14), _g_exp),
        _Shape("mmf", "affine", (_L(0.05), _L(0.1)), (_L(20.0), _L(6.0)), (20, 14), _g_mmf),
        _Shape("hill", "scale", (_L(0.005), _L(0.05)), (_L(20.0), _L(6.0)), (20, 14), _g_hill),
        _Shape("vap", "scale", (_L(1e-3), _L(1e-3)), (_L(20.0), _L(3.0)), (16, 14), _g_vap),
        _Shape("loglog", "shift", (_L(1e-3),), (_L(1e3),), (48,), _g_loglog),
    ]
}
#: Domhan family name -> (fitted shape, number of parameters of the family in the paper)
_FAMILY_SHAPE: dict[str, tuple[str, int]] = {
    "vap": ("vap", 3),
    "pow3": ("pow3", 3),
    "loglog_linear": ("loglog", 2),
    "hill3": ("hill", 3),
    "log_power": ("hill", 3),
    "pow4": ("pow4", 4),
    "mmf": ("mmf", 4),
    "exp4": ("exp", 4),
    "janoschek": ("exp", 4),
    "weibull": ("exp", 4),
    "ilog2": ("ilog2", 2),
}


def _grid(shape: _Shape, n: tuple[int, ...]) -> np.ndarray:
    """Full grid (G, d) over the box with ``n`` points per axis."""
    if shape.d == 0:
        return np.zeros((1, 0))
    axes = [np.linspace(lo, hi, k) for lo, hi, k in zip(shape.lo, shape.hi, n, strict=True)]
    return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, shape.d)


def _solve(shape: _Shape, B: np.ndarray, U: np.ndarray, W: np.ndarray):
    """Best linear coefficients for every grid point: (c, a, sse), each (N, G)."""
    sw = W.sum(axis=2)  # (N, 1)
    if shape.mode == "shift":
        c = ((U - B) * W).sum(axis=2) / sw
        sse = (W * (U - B - c[..., None]) ** 2).sum(axis=2)
        return c, np.ones_like(c), sse
    if shape.mode == "scale":
        sbb = (W * B * B).sum(axis=2)
        sbu = (W * B * U).sum(axis=2)
        suu = (W * U * U).sum(axis=2)
        a = np.where(sbb > 1e-300, sbu / np.maximum(sbb, 1e-300), 0.0)
        a = np.maximum(a, 0.0)
        sse = suu - 2 * a * sbu + a * a * sbb
        return np.zeros_like(a), a, sse
    mb = (W * B).sum(axis=2) / sw
    mu = (W * U).sum(axis=2) / sw
    Bc = B - mb[..., None]
    Uc = U - mu[..., None]
    cbb = (W * Bc * Bc).sum(axis=2)
    cbu = (W * Bc * Uc).sum(axis=2)
    cuu = (W * Uc * Uc).sum(axis=2)
    a = np.where(cbb > 1e-24, cbu / np.maximum(cbb, 1e-300), 0.0)
    a = np.maximum(a, 0.0)
    sse = cuu - 2 * a * cbu + a * a * cbb
    return mu - a * mb, a, sse


def _fit_shape(shape: _Shape, x, xl, U, W):
    """Grid search plus two local refinements; returns (P (N, d), c (N,), a (N,), sse (N,))."""
    N = x.shape[0]
    P = np.broadcast_to(_grid(shape, shape.coarse)[None], (N, int(np.prod(shape.coarse or (1,))),
                                                           shape.d))
    lo, hi = np.asarray(shape.lo), np.asarray(shape.hi)
    step = (hi - lo) / (np.asarray(shape.coarse) - 1) if shape.d else lo
    best_P = None
    for r in range(3):
        B = shape.g(x, xl, P)
        c, a, sse = _solve(shape, B, U, W)
        sse = np.where(np.isfinite(sse) & np.isfinite(c) & np.isfinite(a), sse, np.inf)
        j = np.argmin(sse, axis=1)
        rows = np.arange(N)
        best_P, best = P[rows, j], (c[rows, j], a[rows, j], sse[rows, j])
        if shape.d == 0 or r == 2:
            break
        step = step / 2.0
        axes = [np.linspace(-h, h, 5) for h in step]
        local = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, shape.d)
        P = np.clip(best_P[:, None, :] + local[None], lo, hi)
    return best_P, best[0], best[1], np.maximum(best[2], 0.0)


class FastExtrapolator:
    """Fast, calibrated final-value prediction of learning curves (vectorized Domhan families).

    See :mod:`lowfi.curves.fast` for the method. The default extrapolator of
    :mod:`lowfi.curves` (:func:`lowfi.curves.default_extrapolator`) and of
    :class:`lowfi.curves.DomhanStopping`.

    Parameters
    ----------
    direction
        ``"minimize"`` for loss-like curves (default) or ``"maximize"`` for accuracy-like ones.
    families
        Domhan family names to combine (default: all 11).
    bounds
        Optional ``(lo, hi)`` range the metric cannot leave (e.g. ``(0, 1)`` for error rates):
        families whose prediction leaves it get no weight, and predictions are clipped to it.
    max_improvement
        Without ``bounds``: how far past the best observed value a family's prediction at the
        horizon may go, in units of the observed range (default 2), as in the MCMC model.
    calibration
        Overrides for :data:`CALIBRATION` (keys ``temperature``, ``shrink``, ``noise``,
        ``change``, ``spread``, ``headroom``, ``nu``).
    n_mixture
        Number of Gaussian components of the Student-t predictive distribution (default 24;
        generalized Gauss-Laguerre quadrature of its scale mixture).

    Examples
    --------
    >>> import numpy as np
    >>> steps = np.arange(1, 21)
    >>> err = 0.1 + 0.5 * steps**-0.7                     # an error-rate curve
    >>> ext = FastExtrapolator(bounds=(0, 1))
    >>> pred = ext.fit(steps, err).predict(100)
    >>> bool(abs(pred.mean - (0.1 + 0.5 * 100**-0.7)) < 0.03)
    True
    >>> preds = ext.predict_many([(steps, err), (steps[:10], err[:10])], 100)
    >>> len(preds)
    2
    """

    def __init__(
        self,
        direction: str = "minimize",
        families: Sequence[str] | None = None,
        bounds: tuple[float, float] | None = None,
        max_improvement: float = 2.0,
        calibration: dict[str, float] | None = None,
        n_mixture: int = 24,
    ):
        self.direction = direction
        self._sign = check_direction(direction)
        names = list(FAMILY_NAMES) if families is None else list(families)
        if not names:
            raise ValueError("families: got an empty list; give at least one family name")
        for n in names:
            if n not in _FAMILY_SHAPE:
                raise ValueError(f"families: got {n!r}; allowed are {', '.join(FAMILY_NAMES)}")
        self.families = names
        if bounds is not None:
            lo, hi = (float(b) for b in bounds)
            if not lo < hi:
                raise ValueError(f"bounds: got {bounds!r}; need (lo, hi) with lo < hi")
            bounds = (lo, hi)
        self.bounds = bounds
        if not (isinstance(max_improvement, int | float) and max_improvement > 0):
            raise ValueError(f"max_improvement: got {max_improvement!r}; allowed is a number > 0")
        self.max_improvement = float(max_improvement)
        cal = dict(CALIBRATION)
        for k, v in (calibration or {}).items():
            if k not in CALIBRATION:
                raise ValueError(f"calibration: got key {k!r}; allowed are {sorted(CALIBRATION)}")
            if not (isinstance(v, int | float) and np.isfinite(v) and v >= 0):
                raise ValueError(f"calibration[{k!r}]: got {v!r}; allowed is a number >= 0")
            cal[k] = float(v)
        if cal["temperature"] <= 0 or cal["nu"] <= 0:
            raise ValueError("calibration: 'temperature' and 'nu' must be > 0")
        self.calibration = cal
        if not isinstance(n_mixture, int) or n_mixture < 1:
            raise ValueError(f"n_mixture: got {n_mixture!r}; allowed is an int >= 1")
        self.n_mixture = n_mixture
        self._t_scales, self._t_weights = _t_mixture(cal["nu"], n_mixture)
        self.fitted_ = False

    # ------------------------------------------------------------------ batched core
    def _prepare(self, curves: Sequence[tuple[Any, Any]]):
        from lowfi.curves.domhan import check_curve

        checked = [check_curve(s, v) for s, v in curves]
        N = len(checked)
        n = max(len(x) for x, _ in checked)
        X = np.ones((N, n))
        V = np.zeros((N, n))
        W = np.zeros((N, n))
        for i, (x, v) in enumerate(checked):
            X[i, : len(x)] = x
            X[i, len(x) :] = x[-1]
            V[i, : len(v)] = v
            V[i, len(v) :] = v[-1]
            W[i, : len(x)] = 1.0
        return X, V, W, np.array([len(x) for x, _ in checked])

    def _fit_all(self, curves, T):
        """Fits of every family to ``curves``, evaluated at steps ``T`` ((m,) or (N, m))."""
        X, V, W, counts = self._prepare(curves)
        N = X.shape[0]
        T = np.asarray(T, dtype=float)
        if T.ndim <= 1:
            T = np.broadcast_to(T.reshape(1, -1), (N, T.size))
        elif T.shape[0] != N:
            raise ValueError(f"T: got shape {T.shape}; need (m,) or ({N}, m)")
        if np.any(~np.isfinite(T)) or np.any(T <= 0):
            raise ValueError(f"T: got {T!r}; steps must be finite and > 0")
        step0 = X[:, :1]
        z = self._sign * V
        big = np.where(W > 0, z, -np.inf).max(axis=1, keepdims=True)
        small = np.where(W > 0, z, np.inf).min(axis=1, keepdims=True)
        floor = (
            0.01 * (self.bounds[1] - self.bounds[0])
            if self.bounds is not None
            else 1e-3 * np.maximum(1.0, np.abs(np.where(W > 0, z, 0)).max(axis=1, keepdims=True))
        )
        zscale = np.maximum(big - small, floor)
        U = (z - small) / zscale + _U0
        x = X / step0
        xl = x[np.arange(N), counts - 1][:, None]  # (N, 1)
        xT = T / step0
        if self.bounds is not None:
            best_user = self.bounds[1] if self._sign > 0 else self.bounds[0]
            u_best = (self._sign * best_user - small) / zscale + _U0
            worst_user = self.bounds[0] if self._sign > 0 else self.bounds[1]
            u_worst = (self._sign * worst_user - small) / zscale + _U0
        else:
            u_best = (big - small) / zscale * (1.0 + self.max_improvement) + _U0
            u_worst = np.full((N, 1), -np.inf)

        x3, xl3, U3, W3 = x[:, None, :], xl[:, :, None], U[:, None, :], W[:, None, :]
        n_obs = counts.astype(float)
        fits: dict[str, tuple] = {}
        for key in {_FAMILY_SHAPE[f][0] for f in self.families}:
            shape = _SHAPES[key]
            P, c, a, sse = _fit_shape(shape, x3, xl3, U3, W3)
            at = shape.g(np.concatenate([xT, xl], axis=1)[:, None, :], xl3, P[:, None, :])[:, 0]
            vals = c[:, None] + a[:, None] * at  # (N, m + 1)
            fits[key] = (vals[:, :-1], vals[:, -1], sse)
        K = len(self.families)
        pred = np.empty((N, K, xT.shape[1]))
        now = np.empty((N, K))
        le = np.empty((N, K))
        sse_k = np.empty((N, K))
        for k, name in enumerate(self.families):
            key, p = _FAMILY_SHAPE[name]
            vT, vl, sse = fits[key]
            pred[:, k], now[:, k], sse_k[:, k] = vT, vl, sse
            var = sse / n_obs + 1e-8
            le[:, k] = -0.5 * n_obs * np.log(var) - 0.5 * p * np.log(n_obs)
        # families breaking the bound at the last asked step get no weight (unless all do)
        ok = (pred[:, :, -1] <= u_best + 1e-9) & np.isfinite(pred[:, :, -1]) & np.isfinite(le)
        none_ok = ~ok.any(axis=1)
        ok[none_ok] = np.isfinite(pred[none_ok, :, -1]) & np.isfinite(le[none_ok])
        return {
            "pred": np.where(ok[..., None], pred, 0.0),
            "now": np.where(ok, now, 0.0),
            "le": np.where(ok, le, -np.inf),
            "resid_var": sse_k / np.maximum(n_obs[:, None] - 2, 1),
            "ahead": xT > xl + 1e-12,
            "log_ratio": np.log(np.maximum(xT / xl, 1.0)),
            "u_best": np.broadcast_to(u_best, (N, 1)),
            "u_worst": np.broadcast_to(u_worst, (N, 1)),
            "range": (big - small) / zscale,
            "zscale": zscale,
            "small": small,
            "steps": T,
        }

    def _combine(self, st: dict, cal: dict[str, float]) -> dict[str, np.ndarray]:
        """Model average and calibrated spread from the fits of :meth:`_fit_all`."""
        logw = st["le"] / cal["temperature"]
        logw = logw - logw.max(axis=1, keepdims=True)
        w = np.exp(logw)
        w /= w.sum(axis=1, keepdims=True)
        pred = st["pred"]
        m_fam = np.einsum("nk,nkm->nm", w, pred)
        u_now = np.einsum("nk,nk->n", w, st["now"])[:, None]
        spread = np.sqrt(np.einsum("nk,nkm->nm", w, (pred - m_fam[:, None, :]) ** 2))
        noise = np.sqrt(np.maximum(np.einsum("nk,nk->n", w, st["resid_var"]), 0))[:, None]
        ahead = st["ahead"]
        change = m_fam - u_now
        headroom = np.maximum(st["u_best"] - u_now, 0.0)  # distance to the best possible value
        centre = np.where(ahead, u_now + cal["shrink"] * change, m_fam)
        centre = np.minimum(np.maximum(centre, st["u_worst"]), st["u_best"])
        dist = np.where(ahead, 1.0, 0.0)
        scale = np.sqrt(
            (cal["noise"] * noise) ** 2
            + dist
            * (
                (cal["change"] * change) ** 2
                + (cal["spread"] * spread) ** 2
                + (cal["headroom"] * headroom * st["log_ratio"]) ** 2
            )
            + 1e-6
        )
        zs, small = st["zscale"], st["small"]
        return {
            "mean": self._sign * ((centre - _U0) * zs + small),
            "scale": scale * zs,
            "steps": st["steps"],
            "weights": w,
            "family_pred": self._sign * ((pred - _U0) * zs[:, :, None] + small[:, :, None]),
        }

    def _core(self, curves, T):
        return self._combine(self._fit_all(curves, T), self.calibration)

    def _predictions(self, out: dict, scalar: bool) -> list[CurvePrediction]:
        r = self._t_scales[:, None]
        preds = []
        for i in range(out["mean"].shape[0]):
            f = np.broadcast_to(out["mean"][i][None], (r.shape[0], out["mean"].shape[1]))
            preds.append(
                CurvePrediction(out["steps"][i], f, r * out["scale"][i][None], self.direction,
                                scalar=scalar, weights=self._t_weights)
            )
        return preds

    # ------------------------------------------------------------------ public API
    def fit(self, steps: Any, values: Any, horizon: float | None = None) -> FastExtrapolator:
        """Keep the observed curve (``values`` at increasing ``steps > 0``); returns self.

        ``horizon`` is the step at which the bound on the best possible value is checked
        (default: the steps later passed to :meth:`predict`).
        """
        from lowfi.curves.domhan import check_curve

        x, v = check_curve(steps, values)
        if horizon is not None and (not np.isfinite(horizon) or horizon < x[-1]):
            raise ValueError(f"horizon: got {horizon!r}; it must be >= the last step {x[-1]}")
        self._curve = (x, v)
        self.horizon_ = None if horizon is None else float(horizon)
        self.fitted_ = True
        return self

    def predict(self, T: float | Any) -> CurvePrediction:
        """Predictive distribution of the curve at step(s) ``T`` (user units)."""
        if not self.fitted_:
            raise RuntimeError("predict: call fit(steps, values) first")
        t = np.asarray(T, dtype=float)
        scalar = t.ndim == 0
        t = t.reshape(-1)
        if t.size == 0 or np.any(~np.isfinite(t)) or np.any(t <= 0):
            raise ValueError(f"T: got {T!r}; steps must be finite and > 0")
        if self.horizon_ is not None and self.horizon_ > t[-1]:
            t = np.concatenate([t, [self.horizon_]])
            out = self._core([self._curve], t)
            out["mean"], out["scale"], out["steps"] = (
                out["mean"][:, :-1], out["scale"][:, :-1], out["steps"][:, :-1]
            )
        else:
            out = self._core([self._curve], t)
        self.weights_ = dict(zip(self.families, out["weights"][0].tolist(), strict=True))
        return self._predictions(out, scalar)[0]

    def fit_predict(self, steps: Any, values: Any, T: float | Any) -> CurvePrediction:
        """:meth:`fit` then :meth:`predict` at ``T``."""
        return self.fit(steps, values).predict(T)

    def predict_many(
        self, curves: Sequence[tuple[Any, Any]], T: float | Sequence[float]
    ) -> list[CurvePrediction]:
        """Predict many curves at once: ``curves`` is a list of ``(steps, values)`` pairs of any
        lengths, ``T`` one step for all or one per curve. Returns one scalar
        :class:`~lowfi.curves.CurvePrediction` per curve, equal to predicting each alone."""
        curves = list(curves)
        if not curves:
            return []
        t = np.asarray(T, dtype=float)
        if t.ndim == 0:
            t = np.full(len(curves), float(t))
        if t.shape != (len(curves),):
            raise ValueError(
                f"T: got shape {t.shape}; give one step or one per curve ({len(curves)})"
            )
        out = {k: [] for k in ("mean", "scale", "steps")}
        chunk = 64
        for s in range(0, len(curves), chunk):
            o = self._core(curves[s : s + chunk], t[s : s + chunk, None])
            for k in out:
                out[k].append(o[k])
        arrays = {k: np.concatenate(v) for k, v in out.items()}
        return self._predictions(arrays, scalar=True)

    def family_predictions(self, T: float | Any) -> dict[str, np.ndarray]:
        """Least-squares prediction of each family alone at ``T`` for the fitted curve."""
        if not self.fitted_:
            raise RuntimeError("family_predictions: call fit(steps, values) first")
        out = self._core([self._curve], np.atleast_1d(np.asarray(T, dtype=float)))
        return {n: out["family_pred"][0, k] for k, n in enumerate(self.families)}


def _t_mixture(nu: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Scales and weights of a Gaussian scale mixture equal to a Student-t with ``nu`` degrees
    of freedom: ``t = N(0, 1 / lam)`` with ``lam ~ Gamma(nu/2, rate nu/2)``, integrated by
    generalized Gauss-Laguerre quadrature with ``n`` nodes."""
    if n == 1:
        return np.ones(1), np.ones(1)
    from scipy.special import roots_genlaguerre

    x, w = roots_genlaguerre(n, nu / 2.0 - 1.0)
    lam = 2.0 * x / nu
    return 1.0 / np.sqrt(lam), w / w.sum()


def default_extrapolator(**kwargs: Any) -> FastExtrapolator:
    """The default curve model of :mod:`lowfi.curves`: a :class:`FastExtrapolator`."""
    return FastExtrapolator(**kwargs)
