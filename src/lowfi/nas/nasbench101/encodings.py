"""Encodings of NAS-Bench-101 cells for optimizers.

The three ConfigSpace encodings of the paper's black-box comparison (the ``nas_benchmarks``
wrappers of Ying et al. 2019), for a space of ``vertices`` vertices (7 in NAS-Bench-101):

- **A**: ``op_node_i`` categorical over the 3 ops for the ``vertices - 2`` interior vertices,
  and ``edge_j`` in {0, 1} for each of the ``vertices * (vertices - 1) / 2`` upper-triangular
  positions (in ``numpy.triu_indices`` order);
- **B**: the ops, and ``max_edges`` categorical ``edge_k`` each naming one of those positions
  (repeated positions give fewer edges);
- **C**: the ops, a float weight ``edge_j`` in [0, 1] per position and an integer ``num_edges``
  in [0, max_edges]; the ``num_edges`` largest weights become the edges.

A decoded matrix with more than ``max_edges`` edges (before pruning), or a cell that
:class:`ModelSpec` finds invalid, is answered with error 1 at cost 0, as in the paper's code.

The direct graph encoding used by regularized evolution and REINFORCE works on
:class:`ModelSpec` itself: :func:`random_spec` and :func:`mutate_spec`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from ConfigSpace import (
    CategoricalHyperparameter,
    ConfigurationSpace,
    UniformFloatHyperparameter,
    UniformIntegerHyperparameter,
)

from lowfi.core.seeding import SeedLike, as_generator
from lowfi.nas.nasbench101.spec import (
    CONV1X1,
    CONV3X3,
    INPUT,
    MAX_EDGES,
    MAX_VERTICES,
    MAXPOOL3X3,
    OUTPUT,
    ModelSpec,
)

#: op choices in the order of the paper's ConfigSpace spaces
OP_CHOICES: tuple[str, ...] = (CONV1X1, CONV3X3, MAXPOOL3X3)
ENCODINGS = ("A", "B", "C")


def _check(encoding: str, vertices: int, max_edges: int) -> str:
    enc = str(encoding).upper()
    if enc not in ENCODINGS:
        raise ValueError(f"encoding: got {encoding!r}; allowed are 'A', 'B', 'C'")
    if not isinstance(vertices, int) or not 2 <= vertices <= 8:
        raise ValueError(f"vertices: got {vertices!r}; allowed are integers 2..8")
    if not isinstance(max_edges, int) or max_edges < 1:
        raise ValueError(f"max_edges: got {max_edges!r}; allowed are integers >= 1")
    return enc


def config_space(
    encoding: str = "A", vertices: int = MAX_VERTICES, max_edges: int = MAX_EDGES
) -> ConfigurationSpace:
    """The ConfigSpace space of encoding ``encoding`` ("A", "B" or "C")."""
    enc = _check(encoding, vertices, max_edges)
    n_pos = vertices * (vertices - 1) // 2
    hps: list[Any] = [
        CategoricalHyperparameter(f"op_node_{i}", list(OP_CHOICES)) for i in range(vertices - 2)
    ]
    if enc == "A":
        hps += [CategoricalHyperparameter(f"edge_{j}", [0, 1]) for j in range(n_pos)]
    elif enc == "B":
        hps += [
            CategoricalHyperparameter(f"edge_{k}", list(range(n_pos)))
            for k in range(min(max_edges, n_pos))
        ]
    else:
        hps.append(UniformIntegerHyperparameter("num_edges", 0, min(max_edges, n_pos)))
        hps += [UniformFloatHyperparameter(f"edge_{j}", 0.0, 1.0) for j in range(n_pos)]
    cs = ConfigurationSpace()
    cs.add(hps)
    return cs


def decode(
    config: dict[str, Any],
    encoding: str = "A",
    vertices: int = MAX_VERTICES,
    max_edges: int = MAX_EDGES,
) -> ModelSpec | None:
    """The cell a configuration describes, or None when it is invalid (error 1, cost 0)."""
    enc = _check(encoding, vertices, max_edges)
    n_pos = vertices * (vertices - 1) // 2
    try:
        bits = np.zeros(n_pos, dtype=np.int8)
        if enc == "A":
            bits[:] = [int(config[f"edge_{j}"]) for j in range(n_pos)]
        elif enc == "B":
            bits[[int(config[f"edge_{k}"]) for k in range(min(max_edges, n_pos))]] = 1
        else:
            w = np.array([float(config[f"edge_{j}"]) for j in range(n_pos)])
            k = int(config["num_edges"])
            # stable sort on -w: ties go to the earlier position
            bits[np.argsort(-w, kind="stable")[:k]] = 1
        ops = [str(config[f"op_node_{i}"]) for i in range(vertices - 2)]
    except KeyError as exc:
        raise ValueError(f"config: missing {exc.args[0]!r} for encoding {enc}") from exc
    if int(bits.sum()) > max_edges:
        return None
    matrix = np.zeros((vertices, vertices), dtype=np.int8)
    matrix[np.triu_indices(vertices, 1)] = bits
    spec = ModelSpec(matrix, [INPUT, *ops, OUTPUT], max_vertices=vertices, max_edges=max_edges)
    return spec if spec.is_valid else None


def encode(
    spec: ModelSpec,
    encoding: str = "A",
    vertices: int = MAX_VERTICES,
    max_edges: int = MAX_EDGES,
) -> dict[str, Any]:
    """A configuration of encoding ``encoding`` that decodes to ``spec``.

    Cells with fewer than ``vertices`` vertices are padded with disconnected vertices
    (op ``conv3x3-bn-relu``) placed before the output, which pruning removes again.
    """
    enc = _check(encoding, vertices, max_edges)
    if not spec.is_valid:
        raise ValueError(f"spec: got an invalid cell ({spec.invalid_reason})")
    n = spec.num_vertices
    if n > vertices:
        raise ValueError(f"spec: has {n} vertices; the encoding allows at most {vertices}")
    matrix = np.zeros((vertices, vertices), dtype=np.int8)
    idx = list(range(n - 1)) + [vertices - 1]
    matrix[np.ix_(idx, idx)] = spec.matrix
    ops = list(spec.ops[1:-1]) + [CONV3X3] * (vertices - n)
    config: dict[str, Any] = {f"op_node_{i}": op for i, op in enumerate(ops)}
    bits = matrix[np.triu_indices(vertices, 1)]
    n_pos = len(bits)
    if enc == "A":
        config.update({f"edge_{j}": int(b) for j, b in enumerate(bits)})
    elif enc == "B":
        on = np.flatnonzero(bits).tolist()
        slots = min(max_edges, n_pos)
        on = on + [on[-1]] * (slots - len(on))  # repeats add no edge
        config.update({f"edge_{k}": int(p) for k, p in enumerate(on[:slots])})
    else:
        config["num_edges"] = int(bits.sum())
        config.update({f"edge_{j}": float(b) for j, b in enumerate(bits)})
    return config


# ---------------------------------------------------------------------------- direct encoding
def random_spec(
    seed: SeedLike = None, vertices: int = MAX_VERTICES, max_edges: int = MAX_EDGES,
    max_tries: int = 10_000,
) -> ModelSpec:
    """A uniformly drawn valid cell: random 0/1 upper-triangular matrix and ops, redrawn
    until valid (NAS-Bench-101's random sampling)."""
    rng = as_generator(seed)
    for _ in range(max_tries):
        matrix = np.triu(rng.integers(0, 2, size=(vertices, vertices)), 1)
        ops = [INPUT, *(OP_CHOICES[i] for i in rng.integers(0, 3, vertices - 2)), OUTPUT]
        spec = ModelSpec(matrix, ops, max_vertices=vertices, max_edges=max_edges)
        if spec.is_valid:
            return spec
    raise RuntimeError(f"random_spec: no valid cell in {max_tries} draws")


def mutate_spec(
    spec: ModelSpec,
    seed: SeedLike = None,
    mutation_rate: float = 1.0,
    max_tries: int = 10_000,
) -> ModelSpec:
    """Mutate a cell in the direct graph encoding (NAS-Bench-101's evolution example).

    Each upper-triangular edge flips with probability ``mutation_rate / n_positions`` and
    each interior op is redrawn (to a different op) with probability
    ``mutation_rate / n_interior``; repeated until the result is valid and differs from
    ``spec``. Works on the unpruned matrix, so disconnected vertices can become connected.
    """
    if mutation_rate <= 0:
        raise ValueError(f"mutation_rate: got {mutation_rate!r}; a positive number is required")
    rng = as_generator(seed)
    m0 = spec.original_matrix
    n = m0.shape[0]
    iu = np.triu_indices(n, 1)
    n_int = n - 2
    for _ in range(max_tries):
        m = m0.copy()
        flip = rng.random(len(iu[0])) < mutation_rate / len(iu[0])
        m[iu] = np.where(flip, 1 - m[iu], m[iu])
        ops = list(spec.original_ops)
        if n_int:
            change = rng.random(n_int) < mutation_rate / n_int
            for i in np.flatnonzero(change):
                others = [o for o in OP_CHOICES if o != ops[i + 1]]
                ops[i + 1] = others[int(rng.integers(len(others)))]
        new = ModelSpec(m, ops, max_vertices=spec.max_vertices, max_edges=spec.max_edges)
        if new.is_valid and (not spec.is_valid or new.hash() != spec.hash()):
            return new
    raise RuntimeError(f"mutate_spec: no valid distinct mutant in {max_tries} tries")
