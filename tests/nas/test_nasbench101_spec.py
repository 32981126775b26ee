"""ModelSpec: validity, pruning, exact isomorphism hash; enumeration counts."""

import itertools

import numpy as np
import pytest

from lowfi.nas import ModelSpec, enumerate_cells
from lowfi.nas.nasbench101.encodings import random_spec
from lowfi.nas.nasbench101.spec import _LABEL, OPS, brute_force_canonical

C3, C1, MP = OPS


def chain(*ops):
    n = len(ops) + 2
    return ModelSpec(np.eye(n, k=1, dtype=int), ["input", *ops, "output"])


def permuted(spec, perm):
    """Relabel the interior vertices of ``spec`` (the result need not be upper triangular)."""
    m = spec.original_matrix
    n = m.shape[0]
    order = [0, *perm, n - 1]
    inv = np.argsort(order)
    new = m[np.ix_(order, order)]
    ops = [spec.original_ops[i] for i in order]
    # reorder to a topological order so the matrix is upper triangular again
    del inv
    topo = _topo(new)
    return ModelSpec(new[np.ix_(topo, topo)], [ops[i] for i in topo])


def _topo(m):
    n = m.shape[0]
    indeg = m.sum(axis=0).tolist()
    order, ready = [], [v for v in range(n) if indeg[v] == 0 and v != n - 1]
    while ready:
        ready.sort(key=lambda v: (v == n - 1, v))
        v = ready.pop(0)
        order.append(v)
        for w in np.flatnonzero(m[v]):
            indeg[w] -= 1
            if indeg[w] == 0:
                ready.append(int(w))
    if n - 1 not in order:
        order.append(n - 1)
    return order


def test_validity_rules():
    assert chain(C3, MP).is_valid
    assert not ModelSpec([[0, 0], [0, 0]], ["input", "output"]).is_valid  # disconnected
    assert not ModelSpec([[0, 1], [1, 0]], ["input", "output"]).is_valid  # not a DAG
    assert not ModelSpec(np.eye(3, k=1), ["input", "conv5x5", "output"]).is_valid
    assert not ModelSpec(np.eye(3, k=1), ["output", C3, "input"]).is_valid
    assert not chain(*[C3] * 6).is_valid  # 8 vertices
    assert chain(*[C3] * 5).is_valid
    full = np.triu(np.ones((7, 7), dtype=int), 1)  # 21 edges
    assert not ModelSpec(full, ["input", *[C3] * 5, "output"]).is_valid
    with pytest.raises(ValueError, match="matrix"):
        ModelSpec(np.zeros((2, 3)), ["input", "output"])
    with pytest.raises(ValueError, match="ops"):
        ModelSpec(np.eye(3, k=1), ["input", "output"])


def test_pruning_removes_dead_vertices():
    m = np.zeros((5, 5), dtype=int)
    m[0, 1] = m[1, 4] = 1  # the main path
    m[0, 2] = 1  # vertex 2 is a dead end (no path to the output)
    m[3, 4] = 1  # vertex 3 is not reachable from the input
    spec = ModelSpec(m, ["input", C3, C1, MP, "output"])
    assert spec.is_valid
    p = spec.pruned()
    assert p.num_vertices == 3 and p.ops == ["input", C3, "output"]
    assert p.matrix.tolist() == [[0, 1, 0], [0, 0, 1], [0, 0, 0]]
    assert spec.hash() == chain(C3).hash()
    # the edge limit applies after pruning: 11 raw edges, 2 of them into a dead end
    m = np.zeros((7, 7), dtype=int)
    for i, j in [(0, 1), (1, 2), (2, 3), (3, 4), (4, 6), (0, 2), (0, 3), (1, 3), (2, 4)]:
        m[i, j] = 1
    m[0, 5] = m[1, 5] = 1
    spec = ModelSpec(m, ["input", *[C3] * 5, "output"])
    assert spec.original_matrix.sum() == 11 and spec.num_edges == 9 and spec.is_valid
    assert spec.pruned().num_vertices == 6


def test_hash_invariant_under_random_permutations():
    rng = np.random.default_rng(0)
    for _ in range(60):
        spec = random_spec(rng)
        k = spec.original_matrix.shape[0] - 2
        perm = list(rng.permutation(np.arange(1, k + 1)))
        assert permuted(spec, perm).hash() == spec.hash()


def test_hash_distinguishes_non_isomorphic():
    assert chain(C3, C1).hash() != chain(C1, C3).hash()
    assert chain(C3).hash() != chain(C1).hash()
    a = np.array([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]])
    b = a.copy()
    b[0, 3] = 1
    assert ModelSpec(a, ["input", C3, C1, "output"]).hash() != ModelSpec(b, ["input", C3, C1, "output"]).hash()
    # swapping the two parallel branches is an isomorphism
    assert ModelSpec(a, ["input", C3, C1, "output"]).hash() == ModelSpec(a, ["input", C1, C3, "output"]).hash()


def test_hash_matches_brute_force_canonical_form():
    """hash equality == isomorphism, checked against the all-permutations canonical form."""
    rng = np.random.default_rng(1)
    specs = [random_spec(rng, vertices=6) for _ in range(150)]
    specs += [s for s in enumerate_cells(4).specs()]
    for s in specs[:60]:  # isomorphic copies, so that equal pairs are tested too
        k = s.original_matrix.shape[0] - 2
        specs.append(permuted(s, list(rng.permutation(np.arange(1, k + 1)))))
    fast = [s.hash() for s in specs]
    slow = [brute_force_canonical(s.matrix, [_LABEL[o] for o in s.ops]) for s in specs]
    for (h1, c1), (h2, c2) in itertools.combinations(zip(fast, slow), 2):
        assert (h1 == h2) == (c1 == c2)


@pytest.mark.parametrize("n,count", [(2, 1), (3, 6), (4, 84), (5, 2441), (6, 62010)])
def test_enumeration_counts_per_vertex_count(n, count):
    assert enumerate_cells(n).counts[n] == count


def test_enumeration_cells_are_unique_valid_and_complete():
    e = enumerate_cells(5)
    specs = list(e.specs())
    hashes = {s.hash() for s in specs}
    assert all(s.is_valid for s in specs) and len(hashes) == len(specs) == 2532
    # brute force over every 5-vertex labelled DAG: same set of isomorphism classes
    brute = set()
    iu = np.triu_indices(5, 1)
    for bits in itertools.product((0, 1), repeat=10):
        m = np.zeros((5, 5), dtype=int)
        m[iu] = bits
        for ops in itertools.product(OPS, repeat=3):
            s = ModelSpec(m, ["input", *ops, "output"])
            if s.is_valid:
                brute.add(s.hash())
    assert brute == hashes


@pytest.mark.slow
def test_enumeration_count_nasbench101():
    assert len(enumerate_cells(7)) == 423_624


def test_importing_lowfi_nas_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, lowfi.nas; lowfi.nas.ModelSpec; assert 'torch' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
