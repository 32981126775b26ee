"""The :class:`Space` wrapper around a ConfigSpace ``ConfigurationSpace``.

Vector encoding (one column per hyperparameter, in ConfigSpace's order):
numerical parameters in [0, 1], log-scaled where declared; categoricals and ordinals as the
index of their value; constants as ConfigSpace encodes them; inactive parameters as NaN.
All sampling goes through a caller-supplied ``numpy.random.Generator`` (never ConfigSpace's
own random state), so same seed means same configurations.
"""

from __future__ import annotations

import json
import numbers
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from ConfigSpace import Configuration, ConfigurationSpace
from ConfigSpace.hyperparameters import (
    CategoricalHyperparameter,
    Constant,
    FloatHyperparameter,
    IntegerHyperparameter,
    OrdinalHyperparameter,
)

FLOAT, INT, CAT, ORD, CONST = "float", "int", "cat", "ord", "const"


def _mixed_range(value: Any) -> bool:
    """A ``(low, high)`` shorthand with one int and one float bound."""
    if not (isinstance(value, tuple) and len(value) == 2):
        return False
    kinds = {isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in value
             if isinstance(v, numbers.Real) and not isinstance(v, bool)}
    return kinds == {True, False}


class Space:
    """A search space lowfi can sample, encode, decode and check.

    Parameters
    ----------
    space
        A ``ConfigSpace.ConfigurationSpace`` or its dict shorthand, e.g.
        ``{"lr": (1e-5, 1e-1), "layers": (1, 4), "act": ["relu", "tanh"]}``.
    """

    def __init__(self, space: ConfigurationSpace | Mapping[str, Any]):
        if isinstance(space, Mapping) and not isinstance(space, ConfigurationSpace):
            for key, value in space.items():
                if type(value).__module__.startswith("scipy.stats"):  # as in sklearn's searches
                    raise TypeError(
                        f"space: {key!r} is a scipy.stats distribution ({type(value).__name__}); "
                        "write it as a ConfigSpace hyperparameter, e.g. "
                        f"Float({key!r}, (1e-2, 1e3), log=True) for loguniform, or the "
                        f"shorthand {key!r}: (low, high) for a uniform range")
                if isinstance(value, tuple) and len(value) == 2 and all(
                        isinstance(v, int | float) and not isinstance(v, bool) for v in value) \
                        and not value[0] < value[1]:
                    raise ValueError(f"space: {key!r}: got the range {value!r}; the lower bound "
                                     "must be below the upper bound, (low, high)")
                name = getattr(value, "name", None)
                if isinstance(name, str) and type(value).__module__.startswith("ConfigSpace") \
                        and name != key:
                    raise ValueError(f"space: key {key!r} holds the hyperparameter named {name!r}; "
                                     "the configuration uses the hyperparameter's name: give "
                                     "both the same name")
            # a range with one float bound is a float range ((0, 0.5) is what (0.0, 0.5) means;
            # ConfigSpace would make (0, 1.0) the integers 0 and 1 and reject (0, 0.5))
            space = {k: (float(v[0]), float(v[1])) if _mixed_range(v) else v
                     for k, v in space.items()}
            try:
                space = ConfigurationSpace(dict(space))
            except Exception as exc:  # ConfigSpace raises several types for bad shorthand
                raise ValueError(f"space: could not build a ConfigurationSpace from {space!r}: {exc}") from exc
        if not isinstance(space, ConfigurationSpace):
            raise TypeError(
                f"space: got {type(space).__name__}; allowed are a ConfigSpace.ConfigurationSpace, "
                "a dict in ConfigSpace's shorthand, or a lowfi.space.Space"
            )
        if len(space) == 0:
            raise ValueError("space: got an empty ConfigurationSpace; add at least one hyperparameter")
        self.cs = space
        self.names: list[str] = list(space.at)  # ConfigSpace's vector order (topological)
        self.hps = [space[n] for n in self.names]
        self.index = {n: i for i, n in enumerate(self.names)}
        kinds, n_choices, log, n_values = [], [], [], []
        #: choices of categorical / ordinal parameters (None for others), tuples where the
        #: space holds lists: a space read back from JSON has lists where it had tuples
        self.choices: list[tuple | None] = [
            tuple(_as_tuple(c) for c in (hp.choices if isinstance(hp, CategoricalHyperparameter)
                                         else hp.sequence))
            if isinstance(hp, CategoricalHyperparameter | OrdinalHyperparameter) else None
            for hp in self.hps]
        for hp in self.hps:
            if isinstance(hp, Constant):
                kinds.append(CONST), n_choices.append(1), n_values.append(1)
            elif isinstance(hp, CategoricalHyperparameter):
                kinds.append(CAT), n_choices.append(len(hp.choices)), n_values.append(len(hp.choices))
            elif isinstance(hp, OrdinalHyperparameter):
                kinds.append(ORD), n_choices.append(len(hp.sequence)), n_values.append(len(hp.sequence))
            elif isinstance(hp, IntegerHyperparameter):
                kinds.append(INT), n_choices.append(0), n_values.append(int(hp.upper - hp.lower + 1))
            elif isinstance(hp, FloatHyperparameter):
                kinds.append(FLOAT), n_choices.append(0), n_values.append(0)
            else:
                raise TypeError(f"space: hyperparameter {hp.name!r} has unsupported type {type(hp).__name__}")
            log.append(bool(getattr(hp, "log", False)))
        self.kinds: list[str] = kinds
        #: number of choices for categoricals/ordinals (1 for constants, 0 for numerical)
        self.n_choices = np.asarray(n_choices, dtype=int)
        #: number of distinct values for ints, categoricals, ordinals, constants (0 for floats)
        self.n_values = np.asarray(n_values, dtype=int)
        self.log = np.asarray(log, dtype=bool)
        self.is_categorical = np.array([k == CAT for k in kinds])
        self.is_ordinal = np.array([k == ORD for k in kinds])
        self.is_constant = np.array([k == CONST for k in kinds])
        self._const_vec = np.array(
            [float(hp.to_vector(np.array([hp.value]))[0]) if k == CONST else 0.0 for hp, k in zip(self.hps, kinds)]
        )
        self._uniform = [
            ((np.log(hp.lower), np.log(hp.upper), True) if hp.log else (hp.lower, hp.upper, False))
            if k == FLOAT and not _has_prior(hp) else None
            for hp, k in zip(self.hps, kinds)
        ]
        self._conditions = list(space._dag.minimum_conditions)
        self._uncond_forbidden = list(space._dag.unconditional_forbiddens)
        self._cond_forbidden = list(space._dag.conditional_forbiddens)
        self.has_conditions = bool(self._conditions)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_any(cls, space: Any) -> Space:
        return space if isinstance(space, Space) else cls(space)

    @property
    def dim(self) -> int:
        return len(self.names)

    def __len__(self) -> int:
        return len(self.names)

    def __repr__(self) -> str:
        return f"Space({', '.join(f'{n}:{k}' for n, k in zip(self.names, self.kinds))})"

    def to_json(self) -> str:
        return json.dumps(self.cs.to_serialized_dict())

    @classmethod
    def from_json(cls, text: str) -> Space:
        return cls(ConfigurationSpace.from_serialized_dict(json.loads(text)))

    def __getstate__(self) -> dict:
        return {"json": self.to_json()}

    def __setstate__(self, state: dict) -> None:
        self.__init__(ConfigurationSpace.from_serialized_dict(json.loads(state["json"])))

    # ------------------------------------------------------------------ vectors
    def sample_vectors(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` valid encoded configurations drawn from the space's prior (shape ``(n, dim)``)."""
        if n <= 0:
            return np.empty((0, self.dim))
        rs = np.random.RandomState(rng.bit_generator)  # same stream as rng, for ConfigSpace's priors
        out, have = [], 0
        size = n
        for _ in range(1000):
            cols = np.empty((self.dim, size))
            for i, (hp, kind) in enumerate(zip(self.hps, self.kinds)):
                if kind == FLOAT and not _has_prior(hp):
                    cols[i] = rng.random(size)
                else:
                    cols[i] = hp._vector_dist.sample_vector(n=size, seed=rs)
            X, ok = self._repair_columns(cols)
            X = X[:, ok].T
            out.append(X)
            have += len(X)
            if have >= n:
                break
            size = max(2 * (n - have), 8)
        else:  # pragma: no cover - only for spaces whose forbiddens exclude almost everything
            raise RuntimeError("space: could not sample valid configurations (forbidden clauses exclude nearly all)")
        return np.concatenate(out)[:n]

    def repair(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Make model-made vectors legal: snap discrete dims, clip to [0, 1], set inactive
        parameters to NaN. Returns ``(X_repaired, valid)`` where ``valid`` is False for rows
        that violate a forbidden clause."""
        X = np.array(X, dtype=float, ndmin=2, copy=True)
        if X.shape[1] != self.dim:
            raise ValueError(f"X: got {X.shape[1]} columns; this space has {self.dim} dimensions")
        X = self.snap(X)
        cols, ok = self._repair_columns(X.T.copy())
        return cols.T, ok

    def snap(self, X: np.ndarray) -> np.ndarray:
        """Round categorical/ordinal indices, put integers on their grid, clip to range."""
        X = np.array(X, dtype=float, copy=True)
        for i, kind in enumerate(self.kinds):
            col = X[:, i]
            nan = np.isnan(col)
            if kind in (CAT, ORD):
                col = np.clip(np.round(col), 0, self.n_choices[i] - 1)
            elif kind == CONST:
                col = np.full_like(col, self._const_vec[i])
            elif kind == INT:
                hp = self.hps[i]
                col = np.clip(col, 0.0, 1.0)
                ok = ~nan
                if ok.any():
                    col[ok] = hp.to_vector(hp.to_value(col[ok]))
            else:
                col = np.clip(col, 0.0, 1.0)
            col[nan] = np.nan
            X[:, i] = col
        return X

    def _repair_columns(self, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # cols: (dim, n) as ConfigSpace's vectorized checks expect
        n = cols.shape[1]
        forbidden = np.zeros(n, dtype=bool)
        if self.has_conditions:
            for i in range(self.dim):  # every parameter gets a value before conditions decide
                nan = np.isnan(cols[i])
                if nan.any():
                    cols[i, nan] = 0.0 if self.kinds[i] in (CAT, ORD) else (
                        self._const_vec[i] if self.kinds[i] == CONST else 0.5)
        for clause in self._uncond_forbidden:
            forbidden |= clause.is_forbidden_vector_array(cols)
        for cnode in self._conditions:
            satisfied = cnode.condition.satisfied_by_vector_array(cols)
            cols[np.ix_(cnode.children_indices, ~satisfied)] = np.nan
        for clause in self._cond_forbidden:
            forbidden |= clause.is_forbidden_vector_array(cols)
        return cols, ~forbidden

    def to_dicts(self, X: np.ndarray) -> list[dict[str, Any]]:
        """Decode encoded rows to configuration dicts holding only active parameters."""
        X = np.asarray(X, dtype=float)
        if X.ndim == 1:
            X = X[None, :]
        n = len(X)
        cols: list[list[Any]] = []
        for i, (hp, kind) in enumerate(zip(self.hps, self.kinds)):
            col = X[:, i]
            active = ~np.isnan(col)
            vals: list[Any] = [_INACTIVE] * n  # None can be a choice (max_depth=None)
            if active.any():
                idx = np.flatnonzero(active)
                v = col[idx]
                if kind in (CAT, ORD):
                    ch = self.choices[i]
                    py = [ch[int(k)] for k in np.clip(np.round(v), 0, self.n_choices[i] - 1)]
                elif kind == CONST:
                    py = [hp.value] * len(idx)
                elif kind == INT:
                    py = [int(a) for a in hp.to_value(np.clip(v, 0.0, 1.0))]
                elif self._uniform[i] is not None:  # plain uniform float: decode with numpy
                    lo, hi, is_log = self._uniform[i]
                    u = np.clip(v, 0.0, 1.0)
                    dec = np.exp(lo + u * (hi - lo)) if is_log else lo + u * (hi - lo)
                    py = np.clip(dec, hp.lower, hp.upper).tolist()
                else:
                    py = [float(a) for a in hp.to_value(np.clip(v, 0.0, 1.0))]
                for k, a in zip(idx, py):
                    vals[k] = _py(a)
            cols.append(vals)
        names = self.names
        return [
            {names[i]: cols[i][r] for i in range(len(names)) if cols[i][r] is not _INACTIVE}
            for r in range(n)
        ]

    def encode(self, configs: Iterable[Mapping[str, Any]]) -> np.ndarray:
        """Encode configuration dicts to rows (inactive or missing parameters become NaN)."""
        configs = list(configs)
        X = np.full((len(configs), self.dim), np.nan)
        for i, (name, hp, kind) in enumerate(zip(self.names, self.hps, self.kinds)):
            rows = [r for r, c in enumerate(configs) if name in c]
            if not rows:
                continue
            vals = [configs[r][name] for r in rows]
            if kind in (CAT, ORD):
                X[rows, i] = [_index_of(self.choices[i], _as_tuple(v), name) for v in vals]
            elif kind == CONST:
                X[rows, i] = self._const_vec[i]
            else:
                X[rows, i] = hp.to_vector(np.asarray(vals, dtype=float))
        return X

    # ------------------------------------------------------------------ dicts
    def sample(self, rng: np.random.Generator, n: int | None = None):
        """One configuration dict (``n=None``) or a list of ``n``, drawn with ``rng``."""
        dicts = self.to_dicts(self.sample_vectors(rng, 1 if n is None else n))
        return dicts[0] if n is None else dicts

    def validate(self, config: Mapping[str, Any], *, argument: str = "config") -> dict[str, Any]:
        """Check that ``config`` lies in the space; return it as a plain dict or raise ValueError."""
        if not isinstance(config, Mapping):
            raise TypeError(f"{argument}: got {type(config).__name__}; a configuration is a dict")
        unknown = sorted(set(config) - set(self.names))
        if unknown:
            raise ValueError(f"{argument}: unknown parameters {unknown}; the space has {self.names}")
        out = {k: _py(v) for k, v in config.items()}
        for i, (name, kind) in enumerate(zip(self.names, self.kinds)):
            if name in out and kind in (CAT, ORD):  # the choice itself (2.0 -> the choice 2)
                choices = self.choices[i] or ()
                try:
                    out[name] = choices[_index_of(choices, _as_tuple(out[name]), name)]
                except ValueError:
                    raise ValueError(f"{argument}: {name!r} got {out[name]!r}; allowed are "
                                     f"{list(choices)}") from None
                continue
            if name not in out or kind not in (INT, FLOAT):
                continue
            v = out[name]
            if isinstance(v, bool) or not isinstance(v, numbers.Real):
                raise ValueError(f"{argument}: {name!r} got {v!r} of type {type(v).__name__}; "
                                 f"allowed is {'an int' if kind == INT else 'a number'} in "
                                 f"[{self.hps[i].lower}, {self.hps[i].upper}]")
            if kind == INT:
                if float(v) != round(float(v)):
                    raise ValueError(f"{argument}: {name!r} got {v!r}; allowed is an int in "
                                     f"[{self.hps[i].lower}, {self.hps[i].upper}]")
                out[name] = int(round(float(v)))
            else:  # the same types as sampled configurations; a bound missed by rounding
                lo, hi = float(self.hps[i].lower), float(self.hps[i].upper)  # is the bound
                tol = 1e-9 * max(abs(lo), abs(hi), 1e-300)
                out[name] = min(max(float(v), lo), hi) if lo - tol <= v <= hi + tol else float(v)
        try:
            Configuration(self.cs, values=dict(out))
        except Exception as exc:  # ConfigSpace raises ValueError/IllegalValueError/ForbiddenValueError
            raise ValueError(f"{argument}: {dict(config)!r} is not in the space: {exc}") from exc
        return out

    def default(self) -> dict[str, Any]:
        return {k: _py(v) for k, v in dict(self.cs.get_default_configuration()).items()}

    def restore_choices(self, frame: Any) -> Any:
        """``frame`` (a trials DataFrame) with the ``config.*`` columns of categorical and
        ordinal parameters whose choices are tuples holding those tuples again (the journal
        stores them as JSON lists), so that the table compares equal to ``best_config``."""
        import pandas as pd
        for name, kind, choices in zip(self.names, self.kinds, self.choices):
            col = f"config.{name}"
            if kind not in (CAT, ORD) or col not in frame:
                continue
            if not any(isinstance(c, tuple) for c in choices or ()):
                continue
            frame[col] = pd.Series([_as_tuple(v) for v in frame[col]], index=frame.index,
                                   dtype=object)
        return frame

    def key(self, config: Mapping[str, Any]) -> tuple:
        """A hashable key of a configuration (for duplicate checks)."""
        return tuple(sorted((k, _hashable(v)) for k, v in config.items()))


_INACTIVE = object()  # marks an inactive parameter while decoding


def _as_tuple(v: Any) -> Any:
    return tuple(_as_tuple(x) for x in v) if isinstance(v, list) else v


def _has_prior(hp: Any) -> bool:
    return type(hp).__name__ not in ("UniformFloatHyperparameter",)


def _index_of(seq: Any, value: Any, name: str) -> int:
    for k, s in enumerate(seq):
        if s == value or (isinstance(s, float) and isinstance(value, float) and s == value):
            return k
    raise ValueError(f"config: value {value!r} of {name!r} is not one of {list(seq)}")


def _py(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    return v


def _hashable(v: Any) -> Any:
    return round(v, 12) if isinstance(v, float) else v
