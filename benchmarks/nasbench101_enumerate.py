"""Time the vectorized enumeration of NAS-Bench-101 cells against a per-cell baseline.

The baseline is the reference generator's approach: loop over every upper-triangular matrix,
keep full DAGs with at most 9 edges, loop over every labelling and insert each cell's hash
into a set (here with lowfi's exact ``ModelSpec.hash``). Both run in this process.

Usage: python benchmarks/nasbench101_enumerate.py [--baseline-max 5]
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np

from lowfi.nas import ModelSpec
from lowfi.nas.nasbench101.enumerate import enumerate_cells
from lowfi.nas.nasbench101.spec import OPS


def baseline(n: int, max_edges: int = 9) -> int:
    iu = np.triu_indices(n, 1)
    seen = set()
    for bits in itertools.product((0, 1), repeat=len(iu[0])):
        if sum(bits) > max_edges:
            continue
        m = np.zeros((n, n), dtype=np.int8)
        m[iu] = bits
        # full DAG: every vertex but the output has an out-edge, every one but the input an in-edge
        if not (m[:-1].any(axis=1).all() and m[:, 1:].any(axis=0).all()):
            continue
        for ops in itertools.product(OPS, repeat=n - 2):
            seen.add(ModelSpec(m, ["input", *ops, "output"]).hash())
    return len(seen)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--baseline-max", type=int, default=5)
    args = ap.parse_args()
    t0 = time.perf_counter()
    e = enumerate_cells(7)
    total = time.perf_counter() - t0
    print(f"vectorized enumeration, max 7 vertices: {len(e):,} cells in {total:.2f} s")
    print("| vertices | unique cells | cumulative | vectorized s | baseline s | speed-up |")
    print("|---|---|---|---|---|---|")
    cum = 0
    for n in range(2, 8):
        cum += e.counts[n]
        t1 = time.perf_counter()
        c = enumerate_cells(n, min_vertices=n).counts[n]
        fast = time.perf_counter() - t1
        assert c == e.counts[n]
        if n <= args.baseline_max:
            t2 = time.perf_counter()
            b = baseline(n)
            slow = time.perf_counter() - t2
            assert b == c, (n, b, c)
            print(f"| {n} | {c:,} | {cum:,} | {fast:.4f} | {slow:.3f} | {slow / fast:,.0f}x |")
        else:
            print(f"| {n} | {c:,} | {cum:,} | {fast:.4f} | - | - |")


if __name__ == "__main__":
    main()
