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
    a noise level ``sigma[s, j]``; the predictive density is the equal-weight mixture of
    ``N(f[s, j], sigma[s, j]^2)``.

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
    """

    def __init__(
        self,
        steps: np.ndarray,
        f: np.ndarray,
        sigma: np.ndarray | float,
        direction: str = "minimize",
        scalar: bool = False,
        seed: int = 0,
    ):
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

    def _out(self, a: np.ndarray):
        return float(a[0]) if self.scalar else a

    @property
    def n_samples(self) -> int:
        return self.f.shape[0]

    @property
    def mean(self):
        """Predictive mean at each step."""
        return self._out(self.f.mean(axis=0))

    @property
    def std(self):
        """Predictive standard deviation (spread of the samples plus noise)."""
        var = self.f.var(axis=0) + np.mean(self.sigma**2, axis=0)
        return self._out(np.sqrt(var))

    @property
    def samples(self) -> np.ndarray:
        """Draws from the predictive distribution, shape ``(S, m)`` (``(S,)`` for one step)."""
        if self._samples is None:
            rng = np.random.default_rng(self._seed)
            eps = rng.standard_normal(self.f.shape)
            self._samples = self.f + self.sigma * eps
        return self._samples[:, 0] if self.scalar else self._samples

    def quantile(self, q: float | np.ndarray):
        """Predictive quantile(s) ``q`` in [0, 1] at each step (from :attr:`samples`)."""
        q = np.asarray(q, dtype=float)
        if np.any((q < 0) | (q > 1)):
            raise ValueError(f"q: got {q!r}; quantiles must lie in [0, 1]")
        s = self.samples
        return np.quantile(s, q, axis=0)

    def prob_better(self, y_best: float | np.ndarray):
        """P(value at the step is better than ``y_best``): lower for minimize, higher for maximize.

        Computed exactly from the mixture: the mean over samples of the Gaussian CDF, so it is
        smooth and monotone in ``y_best``.
        """
        yb = np.asarray(y_best, dtype=float)
        z = self._sign * (self.f[..., None] - yb.reshape(-1)) / self.sigma[..., None]
        p = ndtr(z).mean(axis=0)  # (m, len(yb))
        if yb.ndim == 0:
            p = p[:, 0]
            return self._out(p)
        return p[0] if self.scalar else p

    def log_likelihood(self, y: float | np.ndarray):
        """Log predictive density of observed value(s) ``y`` at each step (mixture density)."""
        y = np.asarray(y, dtype=float)
        z = (y - self.f) / self.sigma
        logpdf = -0.5 * z**2 - np.log(self.sigma) - 0.5 * np.log(2 * np.pi)
        m = logpdf.max(axis=0)
        out = m + np.log(np.mean(np.exp(logpdf - m), axis=0))
        return self._out(out)

    def log_prob_better(self, y_best: float):
        """``log`` of :meth:`prob_better` (stable for tiny probabilities)."""
        z = self._sign * (self.f - float(y_best)) / self.sigma
        lp = log_ndtr(z)
        m = lp.max(axis=0)
        return self._out(m + np.log(np.mean(np.exp(lp - m), axis=0)))

    def __repr__(self) -> str:
        return (
            f"CurvePrediction(steps={self.steps.tolist() if self.steps.size < 6 else '...'}, "
            f"n_samples={self.n_samples}, direction={self.direction!r})"
        )
