"""Value distribution of the mini NAS-Bench-101 table (or any results file).

Prints per epoch budget: number of cells and runs, quantiles of validation/test accuracy and
training time, the best cell, the rank correlation between budgets, and plots histograms.

Usage: python benchmarks/nasbench101_mini_stats.py [--data mini|mini5|build/nasbench101_mini/results.jsonl]
       [--png docs/img/nasbench101_mini_distribution.png]
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy.stats import spearmanr

from lowfi.nas import NASBench101Table


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="mini")
    ap.add_argument("--png", default=None)
    args = ap.parse_args()
    t = NASBench101Table.from_path(args.data)  # 'mini', 'mini5' or a results file
    print(f"{t}: {int(t.n_repeats.sum())} runs; repeats per (cell, epochs): "
          f"min {t.n_repeats.min()}, max {t.n_repeats.max()}")
    print(f"total training CPU time recorded: {np.nansum(t.data['training_time']):.0f} s")
    q = [0, 0.1, 0.5, 0.9, 1.0]
    print("| epochs | runs | metric | min | 10% | median | 90% | max | mean |")
    print("|---|---|---|---|---|---|---|---|---|")
    for j, e in enumerate(t.epochs):
        for k in ("validation_accuracy", "test_accuracy", "training_time"):
            v = t.data[k][:, j].ravel()
            v = v[~np.isnan(v)]
            qs = " | ".join(f"{x:.4f}" if k != "training_time" else f"{x:.2f}"
                            for x in np.quantile(v, q))
            print(f"| {e} | {len(v)} | {k} | {qs} | {v.mean():.4f} |")
    mv = {e: t.mean("validation_accuracy", e) for e in t.epochs}
    for a, b in zip(t.epochs[:-1], t.epochs[1:]):
        ok = ~np.isnan(mv[a]) & ~np.isnan(mv[b])
        print(f"Spearman rank correlation of mean validation accuracy, {a} vs {b} epochs: "
              f"{spearmanr(mv[a][ok], mv[b][ok]).statistic:.3f}")
    top = t.epochs[-1]
    mt = t.mean("test_accuracy", top)
    i = int(np.nanargmax(t.mean("validation_accuracy", top)))
    print(f"best mean validation accuracy at {top} epochs: {np.nanmax(mv[top]):.4f} "
          f"(cell {t.specs[i].ops}, {t.specs[i].matrix.tolist()}); y*_valid error "
          f"{t.y_star_valid:.4f}, y*_test error {t.y_star_test:.4f}")
    print(f"test accuracy at {top} epochs: mean over cells {np.nanmean(mt):.4f}")
    noise = np.nanstd(t.data["validation_accuracy"][:, -1], axis=1)
    print(f"seed-to-seed std of validation accuracy at {top} epochs: median {np.nanmedian(noise):.4f}")
    if args.png:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
        for j, e in enumerate(t.epochs):
            v = t.data["validation_accuracy"][:, j].ravel()
            axes[0].hist(v[~np.isnan(v)], bins=40, alpha=0.5, label=f"{e} epochs")
            axes[1].scatter(t.data["training_time"][:, j].ravel(),
                            t.data["validation_accuracy"][:, j].ravel(), s=5, label=f"{e} epochs")
        axes[0].set_xlabel("validation accuracy (all runs)")
        axes[0].set_ylabel("runs")
        axes[0].legend()
        axes[1].set_xscale("log")
        axes[1].set_xlabel("training time (CPU s)")
        axes[1].set_ylabel("validation accuracy")
        fig.suptitle("mini NAS-Bench-101 (cells with <= 4 vertices, 8x8 digits)")
        fig.tight_layout()
        fig.savefig(args.png, dpi=110)
        print(f"wrote {args.png}")


if __name__ == "__main__":
    main()
