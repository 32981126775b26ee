"""Pareto fronts, non-dominated sorting and hypervolume against hand-computed cases."""

import numpy as np
import pytest

from lowfi.analysis.pareto import (
    domination_matrix,
    hypervolume,
    hypervolume_inclusion_exclusion,
    non_dominated_sort,
    pareto_front,
    pareto_mask,
)


def test_pareto_front_by_hand():
    F = [[1, 5], [2, 3], [3, 4], [4, 1], [2, 3], [5, 5]]
    # (3,4) is dominated by (2,3); (5,5) by everything; the duplicate (2,3) stays
    assert pareto_mask(F).tolist() == [True, True, False, True, True, False]
    assert pareto_front(F).tolist() == [0, 1, 4, 3]
    D = domination_matrix(F)
    assert D[1, 2] and not D[2, 1] and not D[1, 4] and not D[0, 3]


def test_non_dominated_sort_by_hand():
    F = [[1, 1], [2, 2], [3, 3], [1, 3], [3, 1], [0, 4]]
    fronts = non_dominated_sort(F)
    assert [f.tolist() for f in fronts] == [[0, 5], [1, 3, 4], [2]]


def test_hypervolume_2d_by_hand():
    F = [[1, 3], [2, 2], [3, 1]]
    # staircase under ref (4, 4), slabs by f2: (4-1)*(4-3) + (4-2)*(3-2) + (4-3)*(2-1) = 6
    assert hypervolume(F, [4, 4]) == pytest.approx(6.0)
    assert hypervolume([[1, 1]], [3, 2]) == pytest.approx(2.0)
    # dominated and outside points add nothing
    assert hypervolume(F + [[3, 3], [5, 0]], [4, 4]) == pytest.approx(6.0)
    assert hypervolume([[5, 5]], [4, 4]) == 0.0
    assert hypervolume(np.empty((0, 2)), [1, 1]) == 0.0


def test_hypervolume_3d_by_hand():
    # two boxes [1,3]x[0,3]x[0,3]... : points (1,2,2) and (2,1,2) with ref (3,3,3)
    # box A = 2*1*1 = 2, box B = 1*2*1 = 2, overlap = (3-2)*(3-2)*(3-2) = 1 -> 3
    assert hypervolume([[1, 2, 2], [2, 1, 2]], [3, 3, 3]) == pytest.approx(3.0)
    assert hypervolume([[0, 0, 0]], [1, 2, 3]) == pytest.approx(6.0)
    F = [[1, 2, 3], [2, 3, 1], [3, 1, 2]]
    # by inclusion-exclusion with ref (4,4,4): 3*6 - 3*2 + 1 = 13
    assert hypervolume(F, [4, 4, 4]) == pytest.approx(13.0)


@pytest.mark.parametrize("d", [2, 3, 4, 5])
def test_wfg_matches_inclusion_exclusion_and_monte_carlo(d):
    rng = np.random.default_rng(d)
    for _ in range(5):
        F = rng.random((9, d))
        ref = np.full(d, 1.1)
        hv = hypervolume(F, ref)
        assert hv == pytest.approx(hypervolume_inclusion_exclusion(F, ref), rel=1e-9)
    # Monte Carlo check on a larger set (WFG only)
    F = rng.random((30, d)) ** 0.5
    ref = np.ones(d)
    U = rng.random((100_000, d))
    dominated = np.zeros(len(U), dtype=bool)
    for p in F:
        dominated |= np.all(U >= p, axis=1)
    assert hypervolume(F, ref) == pytest.approx(dominated.mean(), abs=0.01)


def test_bad_input():
    with pytest.raises(ValueError, match="ref"):
        hypervolume([[1, 2]], [3, 3, 3])
    with pytest.raises(ValueError, match="F"):
        pareto_mask([[1, np.nan]])
