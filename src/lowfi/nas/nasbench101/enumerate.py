"""Vectorized enumeration of every unique NAS-Bench-101 cell.

The count is exact (isomorphism classes, not hash buckets). For each vertex count ``n``:

1. all upper-triangular 0/1 matrices are built at once as bit arrays, and those with at most
   ``max_edges`` edges in which every vertex lies on an input-to-output path are kept;
2. every permutation of the ``n - 2`` interior vertices is applied to all of them in one matrix
   product per permutation; the minimum code is the graph's canonical form, so
   ``numpy.unique`` leaves one representative per unlabelled isomorphism class, and the
   permutations that fix a representative's code are its automorphism group;
3. the labelled cells of a graph are the orbits of the ``3 ** (n - 2)`` labellings under
   that group, counted by taking the minimum code over the group.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass

import numpy as np

from lowfi.nas.nasbench101.spec import INPUT, MAX_EDGES, MAX_VERTICES, OPS, OUTPUT, ModelSpec


@dataclass
class Enumeration:
    """Unique cells with a given vertex count, padded to ``max_vertices``.

    Attributes
    ----------
    matrices
        ``(K, V, V)`` int8 adjacency matrices; a cell with ``n < V`` vertices uses the top-left
        ``n x n`` block and has its output at index ``n - 1``.
    labels
        ``(K, V)`` int8 interior-op indices into :data:`OPS` (``-1`` for input, output and padding).
    num_vertices
        ``(K,)`` vertex counts.
    counts
        Number of unique cells per vertex count.
    seconds
        Wall-clock seconds per vertex count.
    """

    matrices: np.ndarray
    labels: np.ndarray
    num_vertices: np.ndarray
    counts: dict[int, int]
    seconds: dict[int, float]

    def __len__(self) -> int:
        return int(self.matrices.shape[0])

    def spec(self, i: int) -> ModelSpec:
        """Cell ``i`` as a :class:`ModelSpec`."""
        n = int(self.num_vertices[i])
        ops = [INPUT] + [OPS[k] for k in self.labels[i, 1 : n - 1]] + [OUTPUT]
        return ModelSpec(self.matrices[i, :n, :n], ops)

    def specs(self):
        for i in range(len(self)):
            yield self.spec(i)


def _full_dags(n: int, max_edges: int) -> np.ndarray:
    """Upper-triangular bit arrays ``(G, n(n-1)/2)`` of graphs with every vertex on a path."""
    iu = np.triu_indices(n, 1)
    m = len(iu[0])
    codes = np.arange(2**m, dtype=np.int64)
    bits = ((codes[:, None] >> np.arange(m)) & 1).astype(np.int8)
    keep = bits.sum(axis=1) <= max_edges
    bits = bits[keep]
    # out-degree of vertices 0..n-2 and in-degree of 1..n-1 must be positive; in an
    # upper-triangular matrix this puts every vertex on an input-to-output path
    src = np.zeros((m, n), dtype=np.int8)
    dst = np.zeros((m, n), dtype=np.int8)
    src[np.arange(m), iu[0]] = 1
    dst[np.arange(m), iu[1]] = 1
    out_deg = bits @ src
    in_deg = bits @ dst
    ok = (out_deg[:, : n - 1] > 0).all(axis=1) & (in_deg[:, 1:] > 0).all(axis=1)
    return bits[ok]


def _interior_perms(n: int) -> np.ndarray:
    """All permutations of the vertices that fix the input (0) and the output (n - 1)."""
    inner = list(itertools.permutations(range(1, n - 1)))
    return np.array([[0, *p, n - 1] for p in inner], dtype=np.int64)


def enumerate_cells(
    max_vertices: int = MAX_VERTICES, max_edges: int = MAX_EDGES, min_vertices: int = 2
) -> Enumeration:
    """All unique valid cells with ``min_vertices..max_vertices`` vertices.

    Parameters
    ----------
    max_vertices
        Largest vertex count, input and output included (2..7 for the 423,624-cell space).
    max_edges
        Edge limit.
    min_vertices
        Smallest vertex count enumerated.

    Returns
    -------
    Enumeration
    """
    if not isinstance(max_vertices, int) or not 2 <= max_vertices <= 8:
        raise ValueError(f"max_vertices: got {max_vertices!r}; allowed are integers 2..8")
    if not isinstance(max_edges, int) or max_edges < 1:
        raise ValueError(f"max_edges: got {max_edges!r}; allowed are integers >= 1")
    n_ops = len(OPS)
    mats, labs, nv = [], [], []
    counts: dict[int, int] = {}
    seconds: dict[int, float] = {}
    V = max_vertices
    for n in range(max(2, min_vertices), max_vertices + 1):
        t0 = time.perf_counter()
        bits = _full_dags(n, max_edges)
        iu = np.triu_indices(n, 1)
        perms = _interior_perms(n)
        # weight of upper-triangular edge (i, j) after relabelling vertex v -> perm[v]:
        # the edge becomes (perm[i], perm[j]) in the full n x n code
        weights = np.left_shift(np.int64(1), perms[:, iu[0]] * n + perms[:, iu[1]])  # (P, m)
        codes = bits.astype(np.int64) @ weights.T  # (G, P)
        canon = codes.min(axis=1)
        _, first = np.unique(canon, return_index=True)
        reps = bits[np.sort(first)]
        rep_codes = codes[np.sort(first)]
        k = n - 2
        labellings = np.array(
            list(itertools.product(range(n_ops), repeat=k)), dtype=np.int64
        ).reshape(n_ops**k, k)
        powers = n_ops ** np.arange(k, dtype=np.int64)[::-1]
        own = labellings @ powers
        inner_perms = perms[:, 1 : n - 1] - 1  # (P, k): interior index permutations
        count = 0
        for g in range(reps.shape[0]):
            auts = inner_perms[rep_codes[g] == rep_codes[g, 0]]
            if k == 0:
                keep = np.ones(1, dtype=bool)
            else:
                # labelling L and L o sigma describe the same cell for sigma in Aut(g)
                orbit_min = (labellings[:, auts] @ powers).min(axis=1)  # (L, A) -> (L,)
                keep = orbit_min == own
            kept = labellings[keep]
            count += kept.shape[0]
            mat = np.zeros((V, V), dtype=np.int8)
            mat[iu] = reps[g]
            mats.append(np.broadcast_to(mat, (kept.shape[0], V, V)))
            lab = np.full((kept.shape[0], V), -1, dtype=np.int8)
            lab[:, 1 : n - 1] = kept
            labs.append(lab)
            nv.append(np.full(kept.shape[0], n, dtype=np.int8))
        counts[n] = count
        seconds[n] = time.perf_counter() - t0
    return Enumeration(
        matrices=np.concatenate(mats) if mats else np.zeros((0, V, V), np.int8),
        labels=np.concatenate(labs) if labs else np.zeros((0, V), np.int8),
        num_vertices=np.concatenate(nv) if nv else np.zeros(0, np.int8),
        counts=counts,
        seconds=seconds,
    )


def count_cells(max_vertices: int = MAX_VERTICES, max_edges: int = MAX_EDGES) -> dict[int, int]:
    """Number of unique cells per vertex count (2..``max_vertices``)."""
    return enumerate_cells(max_vertices, max_edges).counts


__all__ = ["Enumeration", "enumerate_cells", "count_cells"]
