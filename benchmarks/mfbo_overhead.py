"""Optimizer overhead per ask with 200 and 2,000 observations (GP BO and MFBO).

The history is filled with ``n`` random evaluations of mf-hartmann6 (MFBO: at random budgets
of its grid; GP BO: at the full budget), then ``--asks`` asks (each followed by a tell) are
timed (median CPU time and wall time). Above ``max_exact=600`` observations the GPs use the sparse DTC posterior with 300
inducing points; the baseline measured in the same run is the exact posterior
(``max_exact=10**6``) at the same ``n`` (hyperparameters are fit on 300-point subsets in both).

    nice -n 10 python benchmarks/mfbo_overhead.py --asks 3
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import lowfi.benchmarks as B  # noqa: E402
from lowfi.core.seeding import as_generator  # noqa: E402
from lowfi.optimizers.gp import GPBO  # noqa: E402
from lowfi.optimizers.mfbo import MFBO  # noqa: E402


def fill(opt, bench, n: int, budgets: list[float], seed: int = 0) -> None:
    rng = as_generator(seed)
    configs = opt.space.sample(rng, n)
    for c, b in zip(configs, rng.choice(budgets, n)):
        t = opt._new_trial(c, float(b))
        opt.history.add_pending(t)
        opt.tell(t, bench.evaluate(c, float(b)))


def time_asks(opt, bench, k: int) -> tuple[float, float]:
    """Median CPU seconds and wall seconds per ask (CPU time is robust on a shared machine;
    BLAS runs single-threaded inside the GP code, so on an idle machine they agree)."""
    cpu, wall = [], []
    for _ in range(k):
        c0, w0 = time.process_time(), time.perf_counter()
        t = opt.ask()
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
        opt.tell(t, bench.evaluate(t.config, t.budget))
    return float(np.median(cpu)), float(np.median(wall))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--asks", type=int, default=3)
    ap.add_argument("--sizes", default="200,2000")
    args = ap.parse_args()
    bench = B.get("mf-hartmann6")
    grid = [10.0, 30.0, 90.0]
    print("| optimizer | n observations | posterior | median CPU s per ask | median wall s |")
    print("|---|---|---|---|---|")
    for n in (int(v) for v in args.sizes.split(",")):
        variants = [("sparse above 600", {})]
        if n > 600:
            variants.append(("exact (baseline)", {"max_exact": 10 ** 6}))
        for label, gpk in variants:
            post = label if n > 600 else "exact"
            gp = GPBO(bench.space, max_budget=90, seed=0, gp_kwargs=gpk)
            fill(gp, bench, n, [90.0])
            c, w = time_asks(gp, bench, args.asks)
            print(f"| GP BO (EI) | {n} | {post} | {c:.3f} | {w:.3f} |", flush=True)
            for acq in ("es", "mf-kg"):
                mf = MFBO(bench.space, 10, 90, 3, acquisition=acq, seed=0, gp_kwargs=gpk)
                mf._init_queue = []
                fill(mf, bench, n, grid)
                c, w = time_asks(mf, bench, args.asks)
                print(f"| MFBO {acq} | {n} | {post} | {c:.3f} | {w:.3f} |", flush=True)


if __name__ == "__main__":
    main()
