"""The 11 parametric learning-curve families of Domhan, Springenberg & Hutter (IJCAI 2015).

Every family is written as an *increasing* curve ``f(x | theta)`` of the step ``x >= 1``
(accuracy-like). Loss-like curves are mirrored before fitting (see
:class:`lowfi.curves.DomhanExtrapolator`). Each family is evaluated for many parameter vectors
at once: ``family(x, theta)`` with ``x`` of shape ``(n,)`` and ``theta`` of shape ``(S, p)``
returns an ``(S, n)`` array.

Constraints follow the paper's intent that every component curve is non-decreasing in ``x``
and saturates (or grows slowly); they are enforced by the prior box (``lower``/``upper``) and
by an extra per-family constraint where a box is not enough (e.g. MMF's ``alpha > beta``).
Scale parameters (``kappa``) are sampled on a log scale; all other priors are uniform in the
box, as in the paper's uniform priors restricted by the constraints.

Facts used: the functional forms listed in the paper's Table 1 (vapor pressure, pow3,
log log linear, Hill3 = ``dr_hill_zero_background``, log power, pow4, MMF, exp4, Janoschek,
Weibull, ilog2). ``ilog2`` uses ``log(x + 1)`` so that it is finite at ``x = 1``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

_EXP_CLIP = 50.0


def _exp(z: np.ndarray) -> np.ndarray:
    return np.exp(np.clip(z, -_EXP_CLIP, _EXP_CLIP))


def _col(theta: np.ndarray, i: int) -> np.ndarray:
    return theta[:, i : i + 1]


def _vap(x, t):  # exp(a + b/x + c log x); b <= 0, c >= 0 -> increasing
    return _exp(_col(t, 0) + _col(t, 1) / x + _col(t, 2) * np.log(x))


def _pow3(x, t):  # c - a x^-alpha
    return _col(t, 0) - _col(t, 1) * _exp(-_col(t, 2) * np.log(x))


def _loglog_linear(x, t):  # log(a log x + b)
    return np.log(np.maximum(_col(t, 0) * np.log(x) + _col(t, 1), 1e-12))


def _hill3(x, t):  # ymax x^eta / (kappa^eta + x^eta) = ymax / (1 + (kappa/x)^eta)
    return _col(t, 0) / (1.0 + _exp(_col(t, 1) * (_col(t, 2) - np.log(x))))


def _log_power(x, t):  # a / (1 + (x / e^b)^c), c < 0
    return _col(t, 0) / (1.0 + _exp(_col(t, 2) * (np.log(x) - _col(t, 1))))


def _pow4(x, t):  # c - (a x + b)^-alpha
    arg = np.maximum(_col(t, 1) * x + _col(t, 2), 1e-12)
    return _col(t, 0) - _exp(-_col(t, 3) * np.log(arg))


def _mmf(x, t):  # alpha - (alpha - beta) / (1 + (kappa x)^delta)
    a, b = _col(t, 0), _col(t, 1)
    return a - (a - b) / (1.0 + _exp(_col(t, 3) * (_col(t, 2) + np.log(x))))


def _exp4(x, t):  # c - exp(-a x^alpha + b)
    return _col(t, 0) - _exp(-_col(t, 1) * _exp(_col(t, 2) * np.log(x)) + _col(t, 3))


def _janoschek(x, t):  # alpha - (alpha - beta) exp(-kappa x^delta)
    a, b = _col(t, 0), _col(t, 1)
    return a - (a - b) * _exp(-_col(t, 2) * _exp(_col(t, 3) * np.log(x)))


def _weibull(x, t):  # alpha - (alpha - beta) exp(-(kappa x)^delta)
    a, b = _col(t, 0), _col(t, 1)
    return a - (a - b) * _exp(-_exp(_col(t, 3) * (_col(t, 2) + np.log(x))))


def _ilog2(x, t):  # c - a / log(x + 1)
    return _col(t, 0) - _col(t, 1) / np.log(x + 1.0)


def _ordered(i: int, j: int) -> Callable[[np.ndarray], np.ndarray]:
    def check(theta: np.ndarray) -> np.ndarray:
        return theta[:, i] > theta[:, j]

    return check


def _pow4_ok(theta: np.ndarray) -> np.ndarray:
    return theta[:, 1] + theta[:, 2] > 0.0  # a x + b > 0 for every x >= 1


@dataclass(frozen=True)
class Family:
    """One parametric curve family.

    Attributes
    ----------
    name
        Short name (as in Domhan et al. 2015).
    params
        Parameter names, in column order of ``theta``.
    lower, upper
        The uniform prior box (internal units: steps start at 1, values roughly in [0.1, 1.1]).
    guess
        A central starting point inside the box.
    fn
        ``fn(x, theta) -> (S, n)``.
    constraint
        Extra validity check ``theta (S, p) -> bool (S,)`` or None.
    """

    name: str
    params: tuple[str, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    guess: tuple[float, ...]
    fn: Callable[[np.ndarray, np.ndarray], np.ndarray]
    constraint: Callable[[np.ndarray], np.ndarray] | None = None

    @property
    def n_params(self) -> int:
        return len(self.params)

    def __call__(self, x: np.ndarray, theta: np.ndarray) -> np.ndarray:
        """Evaluate at steps ``x`` (n,) for parameters ``theta`` (S, p) or (p,); returns (S, n)."""
        x = np.asarray(x, dtype=float).reshape(1, -1)
        theta = np.atleast_2d(np.asarray(theta, dtype=float))
        if theta.shape[1] != self.n_params:
            raise ValueError(
                f"theta: got shape {theta.shape}; {self.name} needs (n_samples, {self.n_params})"
            )
        return self.fn(x, theta)

    def valid(self, theta: np.ndarray) -> np.ndarray:
        """Whether each row of ``theta`` lies in the prior box and meets the constraint."""
        theta = np.atleast_2d(theta)
        lo, hi = np.asarray(self.lower), np.asarray(self.upper)
        ok = np.all((theta >= lo) & (theta <= hi), axis=1) & np.all(np.isfinite(theta), axis=1)
        if self.constraint is not None:
            ok &= self.constraint(theta)
        return ok

    def sample_prior(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` valid draws from the uniform prior (rejection; invalid rows get ``guess``)."""
        lo, hi = np.asarray(self.lower), np.asarray(self.upper)
        theta = lo + (hi - lo) * rng.random((n, self.n_params))
        bad = ~self.valid(theta)
        theta[bad] = np.asarray(self.guess)
        return theta


_BIG = 15.0
FAMILIES: dict[str, Family] = {
    f.name: f
    for f in [
        Family(
            "vap", ("a", "b", "c"), (-10.0, -20.0, 0.0), (5.0, 0.0, 3.0), (-1.0, -1.0, 0.3), _vap
        ),
        Family(
            "pow3", ("c", "a", "alpha"), (-2.0, 0.0, 0.0), (4.0, 10.0, 5.0), (1.2, 1.0, 0.5), _pow3
        ),
        Family("loglog_linear", ("a", "b"), (0.0, 1e-3), (20.0, 20.0), (0.5, 1.1), _loglog_linear),
        Family(
            "hill3",
            ("ymax", "eta", "log_kappa"),
            (0.0, 0.0, -10.0),
            (4.0, 10.0, _BIG),
            (1.2, 1.0, 1.0),
            _hill3,
        ),
        Family(
            "log_power",
            ("a", "b", "c"),
            (0.0, -10.0, -10.0),
            (4.0, _BIG, 0.0),
            (1.2, 1.0, -1.0),
            _log_power,
        ),
        Family(
            "pow4",
            ("c", "a", "b", "alpha"),
            (-2.0, 0.0, -10.0, 0.0),
            (4.0, 10.0, 10.0, 5.0),
            (1.2, 1.0, 0.5, 0.5),
            _pow4,
            _pow4_ok,
        ),
        Family(
            "mmf",
            ("alpha", "beta", "log_kappa", "delta"),
            (-2.0, -4.0, -10.0, 0.0),
            (4.0, 2.0, 10.0, 10.0),
            (1.2, 0.0, -1.0, 1.0),
            _mmf,
            _ordered(0, 1),
        ),
        Family(
            "exp4",
            ("c", "a", "alpha", "b"),
            (-2.0, 0.0, 0.0, -10.0),
            (4.0, 10.0, 3.0, 10.0),
            (1.2, 0.5, 0.5, 0.0),
            _exp4,
        ),
        Family(
            "janoschek",
            ("alpha", "beta", "kappa", "delta"),
            (-2.0, -4.0, 0.0, 0.0),
            (4.0, 2.0, 10.0, 3.0),
            (1.2, 0.0, 0.2, 0.7),
            _janoschek,
            _ordered(0, 1),
        ),
        Family(
            "weibull",
            ("alpha", "beta", "log_kappa", "delta"),
            (-2.0, -4.0, -10.0, 0.0),
            (4.0, 2.0, 10.0, 10.0),
            (1.2, 0.0, -2.0, 0.7),
            _weibull,
            _ordered(0, 1),
        ),
        Family("ilog2", ("c", "a"), (-2.0, 0.0), (4.0, 20.0), (1.2, 0.5), _ilog2),
    ]
}
"""The 11 families of Domhan et al. (2015), keyed by name."""

FAMILY_NAMES: tuple[str, ...] = tuple(FAMILIES)


def get_families(names: tuple[str, ...] | list[str] | None = None) -> list[Family]:
    """The families called ``names`` (all 11 if None); unknown names raise ``ValueError``."""
    if names is None:
        return list(FAMILIES.values())
    out = []
    for n in names:
        if n not in FAMILIES:
            raise ValueError(f"families: got {n!r}; allowed are {', '.join(FAMILY_NAMES)}")
        out.append(FAMILIES[n])
    if not out:
        raise ValueError("families: got an empty list; give at least one family name")
    return out
