"""A predictive distribution of future curve values, shared by all curve models."""

from __future__ import annotations

import numpy as np
from scipy.special import log_ndtr, ndtr

DIRECTIONS = ("minimize", "maximize")


def check_direction(direction: str) -> int:
    """+1 for ``"maximize"``, -1 for ``"minimize"``; anything else raises ``ValueError``."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction: got {direction!r}; allowed are 'minimize', 'maximize'")
    return 1 if direction == "maximize" else -1


class CurvePrediction:
    """Predictive distribution of a curve at steps ``steps``: a Gaussian mixture.

    Each of the ``S`` posterior samples ``s`` gives a mean ``f[s, j]`` at step ``steps[j]`` and
    a noise level ``sigma[s, j]``; the predictive density is the mixture of
    ``N(f[s, j], sigma[s, j]^2)`` with weights ``weights[s]`` (equal by default).

    Parameters
    ----------
    steps
        The predicted steps, shape ``(m,)``; ``scalar=True`` when one step was asked for, then
        the per-step outputs are floats.
    f
        Noise-free sample curves, shape ``(S, m)``, in the user's units.
    sigma
        Observation noise per sample, shape ``(S,)``, per sample and step ``(S, m)``, or a
        scalar.
    direction
        ``"minimize"`` (lower is better) or ``"maximize"``.
    seed
        Seeds the noise draws behind :attr:`samples` (deterministic).
    weights
        Mixture weights of the ``S`` components, shape ``(S,)`` (normalised; default equal).
    bounds
        The metric's range ``(lo, hi)`` (e.g. ``(0, 1)`` for error rates), or None. A value
        cannot leave it, so the distribution is censored there: :meth:`quantile`,
        :meth:`interval` and :attr:`samples` lie inside, :meth:`cdf` is 0 below ``lo`` and 1
        from ``hi`` on, and :meth:`prob_better` follows the CDF. :attr:`mean`, :attr:`std` and
        :meth:`log_likelihood` are those of the mixture.
    """

    def __init__(
        self,
        steps: np.ndarray,
        f: np.ndarray,
        sigma: np.ndarray | float,
        direction: str = "minimize",
        scalar: bool = False,
        seed: int = 0,
        weights: np.ndarray | None = None,
        bounds: tuple[float, float] | None = None,
    ):
        self.bounds = None if bounds is None else (float(bounds[0]), float(bounds[1]))
        self.steps = np.atleast_1d(np.asarray(steps, dtype=float))
        self.f = np.atleast_2d(np.asarray(f, dtype=float))
        s = np.asarray(sigma, dtype=float)
        if s.ndim == 1:
            s = s[:, None]
        self.sigma = np.maximum(np.broadcast_to(s, self.f.shape).astype(float), 1e-12)
        self.direction = direction
        self._sign = check_direction(direction)
        self.scalar = scalar
        self._seed = int(seed)
        self._samples: np.ndarray | None = None
        if weights is None:
            self.weights = np.full(self.f.shape[0], 1.0 / self.f.shape[0])
        else:
            w = np.asarray(weights, dtype=float).reshape(-1)
            if w.shape != (self.f.shape[0],) or np.any(~np.isfinite(w)) or np.any(w < 0) \
                    or w.sum() <= 0:
                raise ValueError(f"weights: got shape {w.shape}; need {self.f.shape[0]} "
                                 "non-negative finite numbers with a positive sum")
            self.weights = w / w.sum()
        self._w = self.weights[:, None]
        self._logw = np.log(np.maximum(self.weights, 1e-300))[:, None]

    def _out(self, a: np.ndarray):
        return float(a[0]) if self.scalar else a

    @property
    def n_samples(self) -> int:
        return self.f.shape[0]

    @property
    def mean(self):
        """Predictive mean at each step."""
        return self._out((self._w * self.f).sum(axis=0))

    @property
    def std(self):
        """Predictive standard deviation (spread of the samples plus noise)."""
        mean = (self._w * self.f).sum(axis=0)
        var = (self._w * ((self.f - mean) ** 2 + self.sigma**2)).sum(axis=0)
        return self._out(np.sqrt(var))

    @property
    def samples(self) -> np.ndarray:
        """Draws from the predictive distribution, shape ``(S, m)`` (``(S,)`` for one step)."""
        if self._samples is None:
            rng = np.random.default_rng(self._seed)
            eps = rng.standard_normal(self.f.shape)
            S = self.f.shape[0]
            idx = np.arange(S)
            if not np.allclose(self.weights, 1.0 / S):  # resample components by weight
                idx = rng.choice(S, size=S, p=self.weights)
            self._samples = self._clip(self.f[idx] + self.sigma[idx] * eps)
        return self._samples[:, 0] if self.scalar else self._samples

    def _clip(self, a: np.ndarray) -> np.ndarray:
        return a if self.bounds is None else np.clip(a, *self.bounds)

    def cdf(self, y: float | np.ndarray):
        """Predictive ``P(value <= y)`` at each step (exact for the mixture)."""
        y = np.asarray(y, dtype=float)
        p = (self._w * ndtr((y - self.f) / self.sigma)).sum(axis=0)
        if self.bounds is not None:  # censored at the range of the metric
            p = np.where(y < self.bounds[0], 0.0, np.where(y >= self.bounds[1], 1.0, p))
        return self._out(p)

    def quantile(self, q: float | np.ndarray):
        """Predictive quantile(s) ``q`` in [0, 1] at each step.

        Exact for the Gaussian mixture (bisection on its CDF, to 1e-9 of the predictive
        spread); shapes as ``np.quantile(samples, q, axis=0)``.
        """
        q = np.asarray(q, dtype=float)
        if np.any((q < 0) | (q > 1)) or not np.all(np.isfinite(q)):
            raise ValueError(f"q: got {q!r}; quantiles must lie in [0, 1]")
        qq = np.clip(q.reshape(-1, 1), 1e-12, 1 - 1e-12)  # (Q, 1)
        f, sig, w = self.f, self.sigma, self.weights
        if f.shape[0] > 2000:  # thin very large sample sets evenly
            idx = np.linspace(0, f.shape[0] - 1, 2000).round().astype(int)
            f, sig, w = f[idx], sig[idx], w[idx] / w[idx].sum()
        w = w[None, :, None]
        lo = np.broadcast_to((f - 40 * sig).min(axis=0), (qq.shape[0], f.shape[1])).copy()
        hi = np.broadcast_to((f + 40 * sig).max(axis=0), lo.shape).copy()
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            c = (w * ndtr((mid[:, None, :] - f[None]) / sig[None])).sum(axis=1)  # (Q, m)
            below = c < qq
            lo = np.where(below, mid, lo)
            hi = np.where(below, hi, mid)
        out = self._clip(0.5 * (lo + hi))  # (Q, m)
        if self.scalar:
            out = out[:, 0]
        return out.reshape(q.shape + out.shape[1:]) if q.ndim else out[0]

    def interval(self, level: float = 0.9):
        """Central predictive interval ``(lo, hi)`` with probability ``level`` at each step."""
        if not (isinstance(level, int | float) and 0 < level < 1):
            raise ValueError(f"level: got {level!r}; allowed is a probability in (0, 1)")
        a = (1 - float(level)) / 2
        lo, hi = self.quantile([a, 1 - a])
        return lo, hi

    def prob_better(self, y_best: float | np.ndarray):
        """P(value at the step is better than ``y_best``): lower for minimize, higher for maximize.

        Computed exactly from the mixture: the weighted mean of the Gaussian CDFs, so it is
        smooth and monotone in ``y_best``.
        """
        yb = np.asarray(y_best, dtype=float)
        z = self._sign * (self.f[..., None] - yb.reshape(-1)) / self.sigma[..., None]
        p = (self._w[..., None] * ndtr(z)).sum(axis=0)  # (m, len(yb))
        if self.bounds is not None:  # values cannot pass the range of the metric
            lo, hi = self.bounds
            yr = yb.reshape(-1)
            if self._sign < 0:  # P(value < y_best)
                p = np.where(yr > hi, 1.0, np.where(yr <= lo, 0.0, p))
            else:  # P(value > y_best)
                p = np.where(yr < lo, 1.0, np.where(yr >= hi, 0.0, p))
        if yb.ndim == 0:
            p = p[:, 0]
            return self._out(p)
        return p[0] if self.scalar else p

    def log_likelihood(self, y: float | np.ndarray):
        """Log predictive density of observed value(s) ``y`` at each step (mixture density)."""
        y = np.asarray(y, dtype=float)
        z = (y - self.f) / self.sigma
        logpdf = -0.5 * z**2 - np.log(self.sigma) - 0.5 * np.log(2 * np.pi) + self._logw
        m = logpdf.max(axis=0)
        out = m + np.log(np.sum(np.exp(logpdf - m), axis=0))
        return self._out(out)

    def log_prob_better(self, y_best: float):
        """``log`` of :meth:`prob_better` (stable for tiny probabilities)."""
        if self.bounds is not None:
            p = np.asarray(self.prob_better(float(y_best)))
            if np.all((p == 0.0) | (p == 1.0)):  # outside the metric's range: certain
                with np.errstate(divide="ignore"):
                    return self._out(np.atleast_1d(np.log(p)))
        z = self._sign * (self.f - float(y_best)) / self.sigma
        lp = log_ndtr(z) + self._logw
        m = lp.max(axis=0)
        return self._out(m + np.log(np.sum(np.exp(lp - m), axis=0)))

    def __repr__(self) -> str:
        return (
            f"CurvePrediction(steps={self.steps.tolist() if self.steps.size < 6 else '...'}, "
            f"n_samples={self.n_samples}, direction={self.direction!r})"
        )
