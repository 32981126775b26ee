"""Ablations of lowfi's default optimizer ("auto") on lowfi's benchmark problems: the design
choices of docs/benchmarks/default-optimizer.md, each measured with the ``lowfi bench`` harness
(``lowfi.analysis.bench.run_one``: every evaluation charged its budget, one simulated worker,
incumbent = best observed at max_budget, normalized regret at 10x/25x/50x max_budget).

Variants (``auto`` with one setting changed):

- ``auto``: the defaults;
- ``perbudget``: GP on the model budget's data only (``joint=False``), BOHB's rule;
- ``perbudget-r20``: the same with ``random_fraction=0.2``;
- ``r20`` / ``r33``: ``random_fraction`` 0.2 / 1/3 instead of 0.1;
- ``kde`` / ``tpe`` / ``gp`` / ``rf`` / ``hb``: force the model (``hb``: no model, plain
  Hyperband; ``kde`` is BOHB's KDE with its random fraction 1/3);
- ``kde-r10``: KDE with ``random_fraction=0.1``;
- ``kde-r20`` / ``rf-r20``: KDE / random forest with ``random_fraction=0.2``.

Run: ``nice -n 10 .venv/bin/python benchmarks/default_variants.py auto,perbudget mf-branin,mf-hartmann6 10``
(variants, problems, seeds, and optionally the number of simulated asynchronous workers). Prints mean ± standard error at 10x/25x/50x and the overhead
(median / mean ms per evaluation, wall time).
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd

from lowfi import optimizers
from lowfi.analysis import bench as B

VARIANTS = {
    "auto": {}, "perbudget": {"joint": False}, "perbudget-r20": {"joint": False, "random_fraction": 0.2},
    "r20": {"random_fraction": 0.2}, "r33": {"random_fraction": 1 / 3},
    "kde": {"model": "kde"}, "tpe": {"model": "tpe"}, "kde-r10": {"model": "kde", "random_fraction": 0.1},
    "kde-r20": {"model": "kde", "random_fraction": 0.2},
    "rf-r20": {"model": "rf", "random_fraction": 0.2},
    "gp": {"model": "gp"}, "rf": {"model": "rf"}, "hb": {"model": "random"},
}
_orig = B._make_optimizer


def _make(name, b, seed):
    if name in VARIANTS:
        return optimizers.get("auto", b.space, min_budget=float(b.min_budget),
                              max_budget=float(b.max_budget), eta=float(getattr(b, "eta", 3) or 3),
                              seed=seed, **VARIANTS[name])
    return _orig(name, b, seed)


def main() -> None:
    B._make_optimizer = _make
    opts, problems, seeds = sys.argv[1].split(","), sys.argv[2].split(","), int(sys.argv[3])
    workers = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    for prob in problems:
        for opt in opts:
            t, regs, oh = time.time(), [], []
            for s in range(seeds):
                df = pd.DataFrame(B.run_one(opt, prob, s, budget=50, n_workers=workers, engine="own"))
                mb = df.budget.max()
                regs.append([df[df.cum_budget <= k * mb].regret.iloc[-1] for k in (10, 25, 50)])
                oh.append(df.overhead.to_numpy())
                wall = float(df["end"].max())
            o, r = np.concatenate(oh) * 1e3, np.array(regs)
            se = r.std(0, ddof=1) / np.sqrt(len(r)) if len(r) > 1 else np.full(3, np.nan)
            print(f"{prob:22s} {opt:14s} " + " ".join(f"{m:.4g}±{e:.2g}" for m, e in zip(r.mean(0), se))
                  + f" | overhead {np.median(o):.2f}/{o.mean():.2f} ms | simulated wall clock (last seed) "
                  f"{wall:.4g} | {time.time() - t:.0f}s", flush=True)


if __name__ == "__main__":
    main()
