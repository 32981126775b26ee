"""NAS-Bench-101's optimizer comparison on the shipped mini table (or the official file).

Runs every available optimizer of the paper (random, hyperband, bohb, tpe, re, reinforce, smac)
for ``--seeds`` seeds with the table's training time as simulated wall clock, prints mean
final test regret and its ratio to random search measured in the same run, and writes
``regret.png`` / ``summary.md`` / ``summary.json`` to ``--out``.

Usage: python benchmarks/nasbench101_compare.py --seeds 100 [--data mini|mini5|PATH.tfrecord]
       [--jobs 2]
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from lowfi.nas.nasbench101.compare import compare


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="mini")
    ap.add_argument("--seeds", type=int, default=100)
    ap.add_argument("--encoding", default="A")
    ap.add_argument("--optimizers", default=None)
    ap.add_argument("--budget", type=float, default=None)
    ap.add_argument("--out", default="bench-out/nasbench101")
    ap.add_argument("--png", default=None, help="also copy the plot here (e.g. docs/img/...)")
    ap.add_argument("--jobs", type=int, default=1, help="processes running seeds in parallel")
    args = ap.parse_args()
    names = args.optimizers.split(",") if args.optimizers else None
    res = compare(args.data, names, seeds=args.seeds, encoding=args.encoding,
                  budget=args.budget, out=args.out, jobs=args.jobs)
    opts = res["optimizers"]
    base = opts.get("random", {}).get("final_mean")
    print(f"\nsimulated budget per run: {res['budget']:.1f} s of training time; "
          f"y*_test = {res['y_star_test']:.4f}")
    print("| optimizer | final test regret (mean ± s.e.) | vs random | evals/run | seconds |")
    print("|---|---|---|---|---|")
    for name in sorted(opts, key=lambda k: opts[k]["final_mean"]):
        r = opts[name]
        ratio = f"{r['final_mean'] / base:.2f}" if base else "-"
        print(f"| {name} | {r['final_mean']:.5f} ± {r['final_sem']:.5f} | {ratio} | "
              f"{r['evaluations_mean']:.0f} | {r['seconds']:.0f} |")
    print()
    print(Path(args.out, "summary.md").read_text())
    if args.png:
        shutil.copy(Path(args.out) / "regret.png", args.png)


if __name__ == "__main__":
    main()
