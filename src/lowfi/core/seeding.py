"""One way to turn a user's ``seed`` into a :class:`numpy.random.Generator`.

Every public constructor takes ``seed`` (int, ``SeedSequence``, ``Generator`` or None) and calls
:func:`as_generator` once; child components get independent streams through :func:`spawn`.
"""

from __future__ import annotations

import numbers

import numpy as np

SeedLike = int | np.random.SeedSequence | np.random.Generator | None


def as_generator(seed: SeedLike) -> np.random.Generator:
    """Return a ``numpy.random.Generator`` for ``seed`` (a Generator is returned unchanged)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or isinstance(seed, np.random.SeedSequence):
        return np.random.default_rng(seed)
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        if int(seed) < 0:
            raise ValueError(f"seed: got {seed}; a seed must be a non-negative integer")
        return np.random.default_rng(int(seed))
    raise TypeError(
        f"seed: got {seed!r} of type {type(seed).__name__}; allowed are an int >= 0, "
        "a numpy SeedSequence, a numpy Generator or None"
    )


def spawn(rng: np.random.Generator, n: int | None = None):
    """Independent child generator(s) of ``rng`` (one if ``n`` is None, else a list of ``n``)."""
    children = rng.spawn(1 if n is None else n)
    return children[0] if n is None else children
