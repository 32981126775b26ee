"""The NAS-Bench-101 cell: a labelled DAG, its validity, pruning and isomorphism hash.

A cell (Ying et al., "NAS-Bench-101: Towards Reproducible Neural Architecture Search",
ICML 2019) is a directed acyclic graph given by an upper-triangular 0/1 adjacency matrix over
at most 7 vertices with at most 9 edges. Vertex 0 is the cell input, the last vertex the cell
output; every other vertex carries one operation from :data:`OPS`.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

INPUT = "input"
OUTPUT = "output"
CONV3X3 = "conv3x3-bn-relu"
CONV1X1 = "conv1x1-bn-relu"
MAXPOOL3X3 = "maxpool3x3"
#: the interior operations, in the order used for integer labels
OPS: tuple[str, ...] = (CONV3X3, CONV1X1, MAXPOOL3X3)
MAX_VERTICES = 7
MAX_EDGES = 9

# integer labels used by the canonical form: input and output can never be confused with an op
_LABEL = {INPUT: 0, CONV3X3: 1, CONV1X1: 2, MAXPOOL3X3: 3, OUTPUT: 4}


class ModelSpec:
    """A NAS-Bench-101 cell.

    Parameters
    ----------
    matrix
        Square 0/1 adjacency matrix (``matrix[i, j] = 1`` is an edge ``i -> j``); a DAG must be
        upper triangular.
    ops
        One name per vertex: ``"input"``, then interior ops from :data:`OPS`, then ``"output"``.
    max_vertices, max_edges
        The space's limits, checked on the pruned cell (7 and 9 in NAS-Bench-101).

    Notes
    -----
    Malformed arguments (not square, not 0/1, ``len(ops)`` not matching) raise ``ValueError``;
    a well-formed cell outside the space is reported by :attr:`is_valid` and :attr:`invalid_reason`.
    """

    def __init__(
        self,
        matrix: Any,
        ops: Sequence[str],
        *,
        max_vertices: int = MAX_VERTICES,
        max_edges: int = MAX_EDGES,
    ) -> None:
        m = np.asarray(matrix)
        if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] < 2:
            raise ValueError(
                f"matrix: got shape {m.shape}; a square matrix with at least 2 vertices is required"
            )
        if not np.isin(m, (0, 1)).all():
            raise ValueError("matrix: entries must be 0 or 1")
        ops = [str(o) for o in ops]
        if len(ops) != m.shape[0]:
            raise ValueError(
                f"ops: got {len(ops)} ops for a {m.shape[0]}-vertex matrix; one op per vertex is required"
            )
        self.original_matrix = m.astype(np.int8)
        self.original_ops = ops
        self.max_vertices = int(max_vertices)
        self.max_edges = int(max_edges)
        self.matrix, self.ops, self.invalid_reason = _prune(
            self.original_matrix, ops, self.max_vertices, self.max_edges
        )
        self._hash: str | None = None

    # ------------------------------------------------------------------ properties
    @property
    def is_valid(self) -> bool:
        """True when the cell (after pruning) lies in the space."""
        return self.invalid_reason is None

    @property
    def num_vertices(self) -> int:
        return int(self.matrix.shape[0]) if self.matrix is not None else 0

    @property
    def num_edges(self) -> int:
        return int(self.matrix.sum()) if self.matrix is not None else 0

    def pruned(self) -> ModelSpec:
        """The cell without vertices that are not on an input-to-output path.

        Raises
        ------
        ValueError
            When the input is not connected to the output (nothing is left).
        """
        if self.matrix is None:
            raise ValueError(f"spec: cannot prune: {self.invalid_reason}")
        return ModelSpec(
            self.matrix, self.ops, max_vertices=self.max_vertices, max_edges=self.max_edges
        )

    def hash(self) -> str:
        """Hex digest of the pruned cell's canonical form: equal exactly for isomorphic cells.

        Raises
        ------
        ValueError
            For cells that are invalid.
        """
        if not self.is_valid:
            raise ValueError(f"spec: an invalid cell has no hash ({self.invalid_reason})")
        if self._hash is None:
            key = canonical_form(self.matrix, [_LABEL[o] for o in self.ops])
            self._hash = hashlib.md5(key).hexdigest()
        return self._hash

    def to_dict(self) -> dict[str, Any]:
        return {"matrix": self.original_matrix.tolist(), "ops": list(self.original_ops)}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ModelSpec):
            return NotImplemented
        if self.is_valid and other.is_valid:
            return self.hash() == other.hash()
        return (
            self.original_matrix.shape == other.original_matrix.shape
            and bool((self.original_matrix == other.original_matrix).all())
            and self.original_ops == other.original_ops
        )

    def __hash__(self) -> int:
        return hash(self.hash()) if self.is_valid else hash(self.original_matrix.tobytes())

    def __repr__(self) -> str:
        return f"ModelSpec(matrix={self.original_matrix.tolist()}, ops={self.original_ops})"


def _prune(matrix: np.ndarray, ops: list[str], max_vertices: int, max_edges: int):
    """Return (pruned matrix or None, pruned ops or None, reason or None)."""
    n = matrix.shape[0]
    if np.tril(matrix).any():
        return None, None, "matrix is not upper triangular (not a DAG in topological order)"
    if ops[0] != INPUT or ops[-1] != OUTPUT:
        return None, None, f"ops must start with {INPUT!r} and end with {OUTPUT!r}, got {ops}"
    bad = [o for o in ops[1:-1] if o not in OPS]
    if bad:
        return None, None, f"unknown interior ops {bad}; allowed are {list(OPS)}"
    reach_fwd = _reachable(matrix, 0)
    reach_bwd = _reachable(matrix.T, n - 1)
    if not reach_fwd[n - 1]:
        return None, None, "the input is not connected to the output"
    keep = np.flatnonzero(reach_fwd & reach_bwd)
    pm = matrix[np.ix_(keep, keep)]
    pops = [ops[i] for i in keep]
    if len(keep) > max_vertices:
        return pm, pops, f"{len(keep)} vertices after pruning; at most {max_vertices} allowed"
    if int(pm.sum()) > max_edges:
        return pm, pops, f"{int(pm.sum())} edges after pruning; at most {max_edges} allowed"
    return pm, pops, None


def _reachable(matrix: np.ndarray, start: int) -> np.ndarray:
    seen = np.zeros(matrix.shape[0], dtype=bool)
    seen[start] = True
    frontier = seen.copy()
    while frontier.any():
        nxt = matrix[frontier].any(axis=0) & ~seen
        seen |= nxt
        frontier = nxt
    return seen


def _refine_colors(matrix: np.ndarray, labels: Sequence[int]) -> list[int]:
    """Stable colour refinement (1-dimensional Weisfeiler-Lehman) on a directed graph.

    Colours are ranks of sorted signatures, so they depend only on the isomorphism class;
    two vertices of different colour can never be mapped onto each other by an isomorphism.
    """
    n = matrix.shape[0]
    colors = list(labels)
    preds = [np.flatnonzero(matrix[:, v]).tolist() for v in range(n)]
    succs = [np.flatnonzero(matrix[v]).tolist() for v in range(n)]
    while True:
        sig = [
            (colors[v], tuple(sorted(colors[u] for u in preds[v])),
             tuple(sorted(colors[w] for w in succs[v])))
            for v in range(n)
        ]
        ranks = {s: i for i, s in enumerate(sorted(set(sig)))}
        new = [ranks[s] for s in sig]
        if len(set(new)) == len(set(colors)):
            return new
        colors = new


def canonical_form(matrix: np.ndarray, labels: Sequence[int]) -> bytes:
    """Canonical byte string of a vertex-labelled digraph: equal iff the graphs are isomorphic.

    Vertices are first split by stable colour refinement (an isomorphism invariant); the
    canonical form is the lexicographic minimum, over all orderings that sort vertices by
    colour, of ``labels + adjacency``. Colour classes in NAS-Bench-101 cells are tiny, so the
    product of their factorials (at most 5! = 120) stays small.
    """
    m = np.asarray(matrix, dtype=np.int8)
    n = m.shape[0]
    labels = list(labels)
    colors = _refine_colors(m, labels)
    classes: dict[int, list[int]] = {}
    for v, c in enumerate(colors):
        classes.setdefault(c, []).append(v)
    groups = [classes[c] for c in sorted(classes)]
    best: bytes | None = None
    for choice in itertools.product(*(itertools.permutations(g) for g in groups)):
        order = [v for part in choice for v in part]
        key = bytes([n] + [labels[v] for v in order]) + np.packbits(m[np.ix_(order, order)]).tobytes()
        if best is None or key < best:
            best = key
    assert best is not None
    return best


def brute_force_canonical(matrix: np.ndarray, labels: Sequence[int]) -> bytes:
    """Reference canonical form: minimum over every permutation of all vertices (slow)."""
    m = np.asarray(matrix, dtype=np.int8)
    n = m.shape[0]
    best: bytes | None = None
    for order in itertools.permutations(range(n)):
        order = list(order)
        key = bytes([n] + [labels[v] for v in order]) + np.packbits(m[np.ix_(order, order)]).tobytes()
        if best is None or key < best:
            best = key
    assert best is not None
    return best
