"""Genotypes of DARTS cells: discretization of the relaxed architecture, random genotypes, stats.

A cell genotype is a tuple of ``(operation, input_state)`` pairs, two per intermediate node, in
node order. State indices count the cell inputs first (``0, 1`` for normal and reduction cells:
the outputs of the two previous cells; ``0, 1, 2`` for an upsampling cell: the two previous
decoder states and the encoder skip at the same resolution) and then the intermediate nodes.
The cell output concatenates all intermediate nodes.

This module uses numpy only (no torch).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lowfi.core.seeding import SeedLike, as_generator

PRIMITIVES: tuple[str, ...] = (
    "none", "max_pool_3x3", "avg_pool_3x3", "skip_connect",
    "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5",
)
PARAMETERLESS = frozenset({"none", "max_pool_3x3", "avg_pool_3x3", "skip_connect"})

CellGenotype = tuple[tuple[str, int], ...]


def n_edges(n_nodes: int, n_inputs: int = 2) -> int:
    """Number of edges of a cell with ``n_nodes`` intermediate nodes and ``n_inputs`` inputs."""
    return sum(n_inputs + j for j in range(n_nodes))


def edge_index(n_nodes: int, n_inputs: int = 2) -> list[tuple[int, int]]:
    """``(node, input_state)`` for every edge, in the order of the rows of alpha."""
    return [(j, i) for j in range(n_nodes) for i in range(n_inputs + j)]


@dataclass(frozen=True)
class Genotype:
    """A discrete DARTS architecture: one genotype per cell type.

    Attributes
    ----------
    normal, reduce : CellGenotype
        Normal and reduction cells (two inputs each).
    up : CellGenotype or None
        Upsampling cell of an encoder-decoder network (three inputs), or None.
    n_nodes : int
        Intermediate nodes per cell.
    """

    normal: CellGenotype
    reduce: CellGenotype
    up: CellGenotype | None = None
    n_nodes: int = 4
    meta: dict = field(default_factory=dict, compare=False)

    def cells(self) -> dict[str, CellGenotype]:
        out = {"normal": self.normal, "reduce": self.reduce}
        if self.up is not None:
            out["up"] = self.up
        return out

    def ops(self) -> list[str]:
        """All chosen operations (every cell type once)."""
        return [op for cell in self.cells().values() for op, _ in cell]

    def skip_fraction(self) -> float:
        """Fraction of chosen operations that are skip connections."""
        ops = self.ops()
        return sum(op == "skip_connect" for op in ops) / len(ops)

    def parameterless_fraction(self) -> float:
        """Fraction of chosen operations without learnable weights (skip, pooling, none)."""
        ops = self.ops()
        return sum(op in PARAMETERLESS for op in ops) / len(ops)

    def to_dict(self) -> dict[str, Any]:
        return {"normal": [list(e) for e in self.normal], "reduce": [list(e) for e in self.reduce],
                "up": None if self.up is None else [list(e) for e in self.up],
                "n_nodes": self.n_nodes}

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Genotype:
        def cell(x):
            return None if x is None else tuple((str(op), int(i)) for op, i in x)
        return cls(cell(d["normal"]), cell(d["reduce"]), cell(d.get("up")), int(d["n_nodes"]))


def discretize(weights: Any, n_nodes: int, n_inputs: int = 2,
               primitives: tuple[str, ...] = PRIMITIVES, k: int = 2) -> CellGenotype:
    """Discrete cell from architecture weights, the DARTS rule.

    For every intermediate node keep the ``k`` incoming edges whose strongest non-zero
    operation has the largest weight, and on each kept edge that strongest non-zero operation.

    Parameters
    ----------
    weights : array of shape (n_edges, n_ops)
        Softmax(alpha) per edge (or alpha itself: the ranking within an edge is the same, but
        the comparison across edges follows the DARTS code only for softmax weights).
    n_nodes, n_inputs : int
        Intermediate nodes and cell inputs.
    primitives : tuple of str
        Operation names, one per column; ``"none"`` is never chosen.
    k : int
        Incoming edges kept per node.
    """
    w = np.asarray(weights, dtype=float)
    expected = (n_edges(n_nodes, n_inputs), len(primitives))
    if w.shape != expected:
        raise ValueError(f"weights: got shape {w.shape}; expected {expected} "
                         f"(n_nodes={n_nodes}, n_inputs={n_inputs}, {len(primitives)} operations)")
    masked = w.copy()
    if "none" in primitives:
        masked[:, primitives.index("none")] = -np.inf
    best_op = masked.argmax(axis=1)
    strength = masked.max(axis=1)
    out: list[tuple[str, int]] = []
    start = 0
    for j in range(n_nodes):
        n_in = n_inputs + j
        s = strength[start:start + n_in]
        # stable: ties go to the earlier input
        chosen = sorted(np.argsort(-s, kind="stable")[: min(k, n_in)].tolist())
        out.extend((primitives[int(best_op[start + i])], int(i)) for i in chosen)
        start += n_in
    return tuple(out)


def random_cell(rng: np.random.Generator, n_nodes: int, n_inputs: int = 2,
                primitives: tuple[str, ...] = PRIMITIVES, k: int = 2) -> CellGenotype:
    """A uniformly random cell of the same space: ``k`` distinct inputs and a non-zero op per node."""
    ops = [p for p in primitives if p != "none"]
    out: list[tuple[str, int]] = []
    for j in range(n_nodes):
        n_in = n_inputs + j
        inputs = sorted(rng.choice(n_in, size=min(k, n_in), replace=False).tolist())
        out.extend((ops[int(rng.integers(len(ops)))], int(i)) for i in inputs)
    return tuple(out)


def random_genotype(seed: SeedLike = None, n_nodes: int = 4, with_up: bool = False,
                    primitives: tuple[str, ...] = PRIMITIVES) -> Genotype:
    """A random genotype of the DARTS space (the random-search baseline of the DARTS paper)."""
    rng = as_generator(seed)
    normal = random_cell(rng, n_nodes, 2, primitives)
    reduce = random_cell(rng, n_nodes, 2, primitives)
    up = random_cell(rng, n_nodes, 3, primitives) if with_up else None
    return Genotype(normal, reduce, up, n_nodes)
