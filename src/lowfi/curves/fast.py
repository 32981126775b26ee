"""Fast, calibrated learning-curve extrapolation: grid posteriors of Domhan et al.'s families.

:class:`FastExtrapolator` predicts where a partially observed learning curve ends, with a
calibrated predictive distribution, in milliseconds per curve and for many curves at once.
It keeps the model of Domhan, Springenberg & Hutter (IJCAI 2015) -- a Bayesian average of
the 11 parametric families of :mod:`lowfi.curves.families`, every component non-decreasing
towards the better value, the prediction at the horizon not past the best possible value --
and replaces their MCMC sampler by deterministic quadrature:

1. **Grid posterior per family (variable projection).** Every family is written as
   ``u(x) = c + a * g(x | theta)`` with ``a >= 0`` and ``g`` increasing (``c`` absent for the
   families without an offset: Hill3, log power, vapour pressure; ``a`` fixed to 1 for log-log
   linear). For a fixed nonlinear ``theta`` (one or two numbers) the best ``c, a`` have a
   closed form, so a grid over ``theta`` (uniform prior on each family's box, in log
   coordinates) is scored for all curves in one array operation. The likelihood of each grid
   point is Gaussian with the noise variance profiled out (``-n/2 log(SSE/n)``, minus the BIC
   term of the profiled linear coefficients), tempered by ``temperature`` (residuals of real
   curves are correlated, so the raw likelihood is overconfident); grid points whose prediction
   at the horizon passes the best possible value get no weight (Domhan's prior). Janoschek,
   Weibull and exp4 describe the same curves ``c - A exp(-(x/rho)^delta)``, and Hill3 and log
   power the same ``a / (1 + (rho/x)^eta)``; each shape is fitted once and counts once per
   family name, as in the paper's equal prior over the 11 families.
2. **Bayesian model average.** Families are weighted by their marginal likelihood on the grid
   (the mean tempered likelihood over the box); the predicted *gain* from the last observed
   step is averaged over families and their parameters, and so is its variance (law of total
   variance).
3. **An empirically calibrated predictive distribution.** The centre is the curve's current
   level plus ``shrink`` times the predicted gain. The current level is the last observed value,
   robustly: its residual from the fitted curve is clipped at Huber's 1.345 robust standard
   deviations of the last five residuals, so a single outlying point moves the prediction
   little. The spread combines the residual noise, the size of the predicted gain, its
   posterior standard deviation, the distance to the best possible value (``bounds``, else
   ``max_improvement`` observed ranges) times ``log(T / last step)``, and the resolution of
   the metric (the smallest gap between distinct observed values: an error rate measured on
   ``n`` validation samples moves in steps of ``1/n``, so even a converged curve may end a step
   or two away; about zero for continuous metrics), with a Student-t shape
   (``nu`` degrees of freedom; a scale mixture of Gaussians, so every
   :class:`~lowfi.curves.CurvePrediction` method applies). The constants in
   :data:`CALIBRATION` were fitted on a calibration half of the real curves shipped with lowfi
   -- ``temperature`` and ``shrink`` minimizing the worst kind's error relative to the last
   value, the spread constants minimizing the log score plus the interval score of the 90%
   interval (two proper scoring rules; ``nu`` fixed) -- and checked on
   the held-out halves, on held-out kinds and on LCDB (``benchmarks/curves_bench.py
   --calibrate``; see the learning-curves benchmark page).
4. **Split conformal width per fraction observed.** The spread is finally multiplied by a
   factor that depends on the fraction of the curve observed (last observed step / predicted
   step): :data:`WIDTH`, fitted on the same calibration curves as the 90% quantile of
   ``|final - centre|`` in units of the half-width of the central 90% interval, every kind of
   curve weighing equally (split conformal prediction, Lei, G'Sell, Rinaldo, Tibshirani &
   Wasserman, JASA 2018, with the normalized score of Papadopoulos et al. 2002). Between the
   calibrated fractions (10%, 20%, 40%, 70%) it is interpolated in the logarithm of the fraction;
   outside them it is constant. So the central 90% interval covers 90% of the calibration
   curves at each of these fractions.

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
# without bounds, a flat curve's scale: a tiny fraction of its size (predictions do not
# depend on the unit or an offset of the metric; any real change spans the internal range)
_RELATIVE_FLOOR = 1e-9
_TINY = 1e-300
_K_LAST = 5  # last observed points whose residuals set the anchor's robust scale
_HUBER = 1.345  # Huber's constant (95% efficiency under Gaussian noise)
_EXP_CLIP = 50.0

#: Calibration constants of :class:`FastExtrapolator` (see the module docstring).
CALIBRATION: dict[str, float] = {
    "temperature": 3.0,  # divides the log-likelihood of every grid point (tempered posterior)
    "shrink": 0.8,  # x the posterior-mean gain from the last observed value
    "noise": 0.9677,  # x residual noise of the fit
    "change": 0.2413,  # x |predicted gain|
    "spread": 0.5616,  # x posterior sd of the gain (over families and their parameters)
    "headroom": 0.0962,  # x distance to the best possible value x log(horizon / last step)
    "nu": 5.0,  # Student-t degrees of freedom
    "quantum": 1.1482,  # x resolution of the metric (smallest gap between observed values)
}

#: Width multipliers of the predictive distribution of :class:`FastExtrapolator` per fraction of
#: the curve observed (last observed step / predicted step), from split conformal calibration
#: (see the module docstring); interpolated linearly in the logarithm of the fraction, constant
#: beyond the first and last fraction.
WIDTH: dict[float, float] = {0.1: 1.067, 0.2: 0.976, 0.4: 0.98, 0.7: 0.909}


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
    n_grid: tuple[int, ...]  # grid points per nonlinear parameter
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
        _Shape("pow3", "affine", (_L(0.02),), (_L(4.0),), (96,), _g_pow3),
        _Shape("pow4", "affine", (_L(0.02), _L(0.002)), (_L(4.0), _L(10.0)), (32, 24), _g_pow4),
        _Shape("ilog2", "affine", (), (), (), _g_ilog2),
        _Shape("exp", "affine", (_L(0.05), _L(0.1)), (_L(20.0), _L(4.0)), (40, 28), _g_exp),
        _Shape("mmf", "affine", (_L(0.05), _L(0.1)), (_L(20.0), _L(6.0)), (40, 28), _g_mmf),
        _Shape("hill", "scale", (_L(0.005), _L(0.05)), (_L(20.0), _L(6.0)), (40, 28), _g_hill),
        _Shape("vap", "scale", (_L(1e-3), _L(1e-3)), (_L(20.0), _L(3.0)), (32, 28), _g_vap),
        _Shape("loglog", "shift", (_L(1e-3),), (_L(1e3),), (96,), _g_loglog),
    ]
}
#: linear coefficients profiled out of each shape mode (their BIC penalty)
_N_LINEAR = {"affine": 2, "scale": 1, "shift": 1}
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


def _name_bad_curve(curves: Sequence[Any], offset: int, bounds: Any = None) -> None:
    """Raise the validation error of the first invalid ``(steps, values)`` pair, naming it as
    ``curves[offset + i]`` (only called once a batch failed: the batch validates each curve)."""
    from lowfi.curves.domhan import check_curve

    for i, c in enumerate(curves):
        try:
            s, v = c
            check_curve(s, v, bounds=bounds)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"curves[{offset + i}]: {exc}") from exc


class FastExtrapolator:
    """Fast, calibrated final-value prediction of learning curves (grid posteriors of the Domhan
    families, averaged; vectorized over curves).

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
        ``change``, ``spread``, ``headroom``, ``nu``, ``quantum``). ``shrink=1`` extrapolates
        the full predicted gain, ``shrink=0`` predicts the current level.
    n_mixture
        Number of Gaussian components of the Student-t predictive distribution (default 24;
        generalized Gauss-Laguerre quadrature of its scale mixture).
    width
        Overrides :data:`WIDTH`: ``{fraction observed: multiplier}`` of the predictive spread
        (fractions in ``(0, 1]``, multipliers > 0; ``{1.0: 1.0}`` switches the calibration off).

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
        width: dict[float, float] | None = None,
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
        self.width = _check_width(WIDTH if width is None else width)
        self.fitted_ = False

    # ------------------------------------------------------------------ batched core
    def _prepare(self, curves: Sequence[tuple[Any, Any]]):
        from lowfi.curves.domhan import check_curve

        checked = [check_curve(s, v, bounds=self.bounds) for s, v in curves]
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
        """Grid posterior of every family shape for ``curves``, evaluated at steps ``T``
        ((m,) or (N, m)); the temperature is applied later, in :meth:`_combine`."""
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
        early = T < step0 * (1 - 1e-12)
        if np.any(early):
            i = int(np.argwhere(early)[0][0])
            raise ValueError(f"T: got {float(T[early][0]):g}, before the first observed step "
                             f"{float(step0[i, 0]):g}; the curve families extrapolate forward "
                             "only: predict at steps >= the first observed one")
        z = self._sign * V
        big = np.where(W > 0, z, -np.inf).max(axis=1, keepdims=True)
        small = np.where(W > 0, z, np.inf).min(axis=1, keepdims=True)
        floor = (
            0.01 * (self.bounds[1] - self.bounds[0])
            if self.bounds is not None
            else _RELATIVE_FLOOR * np.maximum(np.abs(np.where(W > 0, z, 0)).max(axis=1, keepdims=True),
                                               _TINY)
        )
        zscale = np.maximum(big - small, floor)
        U = (z - small) / zscale + _U0
        x = X / step0
        rows = np.arange(N)
        xl = x[rows, counts - 1][:, None]  # (N, 1)
        # the last _K_LAST observed points (repeated from the first one on shorter curves)
        lastk = np.maximum(counts[:, None] - _K_LAST + np.arange(_K_LAST)[None], 0)
        u_lastk = U[rows[:, None], lastk]
        # resolution of the metric: the smallest gap between distinct observed values (a metric
        # measured on n validation samples moves in steps of 1/n; ~0 for continuous metrics)
        u_top = np.where(W > 0, U, -np.inf).max(axis=1, keepdims=True)
        gaps = np.diff(np.sort(np.where(W > 0, U, u_top), axis=1), axis=1)
        gaps = np.where(gaps > 1e-9, gaps, np.inf).min(axis=1)
        quantum = np.where(np.isfinite(gaps), gaps, 0.0)[:, None]
        xT = T / step0
        if self.bounds is not None:
            best_user = self.bounds[1] if self._sign > 0 else self.bounds[0]
            u_best = (self._sign * best_user - small) / zscale + _U0
            worst_user = self.bounds[0] if self._sign > 0 else self.bounds[1]
            u_worst = (self._sign * worst_user - small) / zscale + _U0
        else:
            u_best = (big - small) / zscale * (1.0 + self.max_improvement) + _U0
            u_worst = np.full((N, 1), -np.inf)
        u_best = np.broadcast_to(u_best, (N, 1))

        x3, xl3, U3, W3 = x[:, None, :], xl[:, :, None], U[:, None, :], W[:, None, :]
        n_obs = counts.astype(float)[:, None]
        at_steps = np.concatenate([xT, x[rows[:, None], lastk]], axis=1)[:, None, :]
        shapes = {}
        for key in dict.fromkeys(_FAMILY_SHAPE[f][0] for f in self.families):
            shape = _SHAPES[key]
            G = int(np.prod(shape.n_grid or (1,)))
            P = np.broadcast_to(_grid(shape, shape.n_grid)[None], (N, G, shape.d))
            B = shape.g(x3, xl3, P)
            c, a, sse = _solve(shape, B, U3, W3)
            # one Huber reweighting (IRLS step) from the best grid point: points further than
            # 1.345 robust standard deviations from it count less in every grid point's fit
            sse = np.where(np.isfinite(sse) & np.isfinite(c) & np.isfinite(a), sse, np.inf)
            j = np.argmin(sse, axis=1)
            fitted = c[rows, j][:, None] + a[rows, j][:, None] * B[rows, j]
            r = np.abs(U - fitted)
            sd = 1.4826 * np.nanmedian(np.where(W > 0, r, np.nan), axis=1, keepdims=True)
            h = np.minimum(1.0, _HUBER * np.maximum(sd, 1e-4) / np.maximum(r, 1e-300))
            c, a, sse = _solve(shape, B, U3, (W * h)[:, None, :])
            vals = c[..., None] + a[..., None] * shape.g(at_steps, xl3, P)  # (N, G, m + _K_LAST)
            fT, fk = vals[..., :-_K_LAST], vals[..., -_K_LAST:]
            var = np.maximum(sse, 0.0) / n_obs
            ll = -0.5 * n_obs * np.log(var + 1e-8) - 0.5 * _N_LINEAR[shape.mode] * np.log(n_obs)
            ok = np.isfinite(ll) & np.all(np.isfinite(vals), axis=2)
            shapes[key] = {"ll": ll, "ok": ok, "fT": fT, "gain": fT - fk[..., -1:], "fk": fk,
                           "var": var,
                           "breaks": fT[..., -1] > u_best + 1e-9}
        # Domhan's prior: the prediction at the last asked step must not pass the best possible
        # value (unless no grid point of any family keeps to it)
        keeps = np.zeros(N, dtype=bool)
        for f in shapes.values():
            keeps |= np.any(f["ok"] & ~f["breaks"], axis=1)
        for f in shapes.values():
            f["ok"] = f["ok"] & ~(f["breaks"] & keeps[:, None])
            for k in ("fT", "gain", "fk"):
                f[k] = np.where(f["ok"][..., None], f[k], 0.0)
            f["var"] = np.where(f["ok"], f["var"], 0.0)
            f["ll"] = np.where(f["ok"], f["ll"], -np.inf)
        return {
            "shapes": shapes,
            "ahead": xT > xl + 1e-12,
            "log_ratio": np.log(np.maximum(xT / xl, 1.0)),
            "u_best": u_best,
            "u_worst": np.broadcast_to(u_worst, (N, 1)),
            "u_lastk": u_lastk,
            "quantum": quantum,
            "zscale": zscale,
            "small": small,
            "steps": T,
        }

    def _family_posteriors(self, st: dict, temperature: float):
        """Per family: log evidence (N,), posterior means of the prediction and the gain
        (N, m), posterior variance of the gain (N, m), mean residual variance (N,) and posterior
        mean of the fitted values at the last observed steps (N, _K_LAST)."""
        out = {}
        for key, f in st["shapes"].items():
            lp = f["ll"] / temperature
            top = lp.max(axis=1, keepdims=True)
            top = np.where(np.isfinite(top), top, 0.0)
            w = np.exp(lp - top)
            tot = w.sum(axis=1, keepdims=True)
            evidence = np.log(np.maximum(tot[:, 0], 1e-300)) + top[:, 0] - np.log(lp.shape[1])
            evidence = np.where(tot[:, 0] > 0, evidence, -np.inf)
            w = w / np.maximum(tot, 1e-300)
            gain = np.einsum("ng,ngm->nm", w, f["gain"])
            gvar = np.einsum("ng,ngm->nm", w, (f["gain"] - gain[:, None, :]) ** 2)
            out[key] = (evidence, np.einsum("ng,ngm->nm", w, f["fT"]), gain, gvar,
                        np.einsum("ng,ng->n", w, f["var"]), np.einsum("ng,ngj->nj", w, f["fk"]))
        return out

    def _combine(self, st: dict, cal: dict[str, float], post: dict | None = None,
                 width: dict[float, float] | None = None) -> dict[str, np.ndarray]:
        """Model average and calibrated predictive distribution from :meth:`_fit_all` (``post``:
        :meth:`_family_posteriors` at ``cal["temperature"]``, computed when not given;
        ``width``: multipliers per fraction observed, default ``self.width``)."""
        if post is None:
            post = self._family_posteriors(st, cal["temperature"])
        K = len(self.families)
        N, m = st["steps"].shape
        le, pred, gain, gvar, rvar, fitk = (np.empty((N, K)), np.empty((N, K, m)),
                                            np.empty((N, K, m)), np.empty((N, K, m)),
                                            np.empty((N, K)), np.empty((N, K, _K_LAST)))
        for k, name in enumerate(self.families):
            (le[:, k], pred[:, k], gain[:, k], gvar[:, k], rvar[:, k],
             fitk[:, k]) = post[_FAMILY_SHAPE[name][0]]
        top = le.max(axis=1, keepdims=True)
        w = np.exp(le - np.where(np.isfinite(top), top, 0.0))
        w = np.where(np.isfinite(w), w, 0.0)
        none = w.sum(axis=1) <= 0
        w[none] = 1.0
        w /= w.sum(axis=1, keepdims=True)
        g = np.einsum("nk,nkm->nm", w, gain)
        # law of total variance over families and their parameters
        spread = np.sqrt(np.maximum(
            np.einsum("nk,nkm->nm", w, gvar + (gain - g[:, None, :]) ** 2), 0.0))
        noise = np.sqrt(np.maximum(np.einsum("nk,nk->n", w, rvar), 0.0))[:, None]
        # anchor: the last observed value, its residual from the fitted curve clipped at
        # 1.345 robust standard deviations of the last residuals (Huber's psi), so that a
        # single outlying point moves the prediction little
        u_fitk = np.einsum("nk,nkj->nj", w, fitk)
        resid = st["u_lastk"] - u_fitk
        bound = _HUBER * 1.4826 * np.median(np.abs(resid), axis=1, keepdims=True)
        u_last = u_fitk[:, -1:] + np.clip(resid[:, -1:], -bound, bound)
        centre = np.minimum(np.maximum(u_last + cal["shrink"] * g, st["u_worst"]), st["u_best"])
        if width is None:
            width = self.width
        fracs = np.log(np.array(sorted(width)))
        mult = np.interp(-st["log_ratio"], fracs, np.array([width[f] for f in sorted(width)]))
        headroom = np.maximum(st["u_best"] - u_last, 0.0)  # distance to the best possible value
        dist = np.where(st["ahead"], 1.0, 0.0)
        scale = np.sqrt(
            (cal["noise"] * noise) ** 2
            + (cal["quantum"] * st["quantum"]) ** 2
            + dist
            * (
                (cal["change"] * g) ** 2
                + (cal["spread"] * spread) ** 2
                + (cal["headroom"] * headroom * st["log_ratio"]) ** 2
            )
            + 1e-6
        ) * np.where(st["ahead"], mult, 1.0)
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
                                scalar=scalar, weights=self._t_weights, bounds=self.bounds)
            )
        return preds

    # ------------------------------------------------------------------ public API
    def fit(self, steps: Any, values: Any, horizon: float | None = None) -> FastExtrapolator:
        """Keep the observed curve (``values`` at increasing ``steps > 0``); returns self.

        ``horizon`` is the step at which the bound on the best possible value is checked
        (default: the steps later passed to :meth:`predict`).
        """
        from lowfi.curves.domhan import check_curve

        x, v = check_curve(steps, values, bounds=self.bounds)
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
        chunk = 32
        for s in range(0, len(curves), chunk):
            try:
                o = self._core(curves[s : s + chunk], t[s : s + chunk, None])
            except (ValueError, TypeError) as exc:
                _name_bad_curve(curves[s : s + chunk], s, self.bounds)  # names the curve
                raise ValueError(f"curves: {exc}") from exc
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


def _check_width(width: Any) -> dict[float, float]:
    if not isinstance(width, dict) or not width:
        raise ValueError(f"width: got {width!r}; allowed is a non-empty dict "
                         "{fraction observed in (0, 1]: multiplier > 0}")
    out = {}
    for f, m in width.items():
        ok_f = isinstance(f, int | float) and 0 < f <= 1
        ok_m = isinstance(m, int | float) and np.isfinite(m) and m > 0
        if not (ok_f and ok_m):
            raise ValueError(f"width: got entry {f!r}: {m!r}; allowed are fractions observed in "
                             "(0, 1] mapped to multipliers > 0")
        out[float(f)] = float(m)
    return out


def default_extrapolator(**kwargs: Any) -> FastExtrapolator:
    """The default curve model of :mod:`lowfi.curves`: a :class:`FastExtrapolator`."""
    return FastExtrapolator(**kwargs)
