"""Optimizer overhead of BOHB: time of ask() + tell() with about 1,000 observations in the
16 + 16 Counting Ones space (everything single-threaded, one process).

Protocol: run the optimizer sequentially on Counting Ones (16, 16) until it holds ``--warm``
observations, then time ``--measure`` further ask + tell pairs (the objective's time is not
counted). Wall time is the protocol's figure; CPU time (``time.process_time``) is printed
beside it because on a loaded machine wall time includes waits for a core. Baselines measured in the same run: Hyperband with random configurations (same
scheduler, no model) and BOHB with ``random_fraction=0`` (every new configuration from the
model, the worst case). Reference figures (ANCHORS.md): HpBandSter BOHB 7.9 ms median,
39.9 ms mean per evaluation.

Run: ``nice -n 10 python benchmarks/bohb_overhead.py``
"""

from __future__ import annotations

import os

# set before numpy loads: one single-threaded process per run, as the protocol says
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse
import time

import numpy as np

from lowfi.benchmarks.counting_ones import CountingOnes
from lowfi.optimizers import Hyperband
from lowfi.optimizers.bohb import BOHB
from lowfi.optimizers.tpe import TPE


def measure(opt, bench: CountingOnes, warm: int, n: int, seed: int = 0,
            trace: list | None = None) -> np.ndarray:
    """ask + tell times (ms) of the calls made while the history holds ``warm`` to
    ``warm + n`` observations; ``trace`` collects ``(n_observations, ms)`` of every call."""
    rng = np.random.default_rng(seed)
    times = []
    while len(opt.history) < warm + n:
        t0, c0 = time.perf_counter(), time.process_time()
        trial = opt.ask()
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        res = bench.evaluate(trial.config, trial.budget, seed=rng)
        t0, c0 = time.perf_counter(), time.process_time()
        opt.tell(trial, res)
        dt, dc = dt + time.perf_counter() - t0, dc + time.process_time() - c0
        if trace is not None:
            trace.append((len(opt.history), dt * 1e3))
        if len(opt.history) > warm:
            times.append((dt, dc))
    return np.asarray(times) * 1e3  # columns: wall, CPU


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--warm", type=int, default=1000)
    ap.add_argument("--measure", type=int, default=500)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--plot", default="docs/img/bohb_overhead.png")
    args = ap.parse_args()
    bench = CountingOnes(16, 16)
    makers = {
        "Hyperband (random proposer)": lambda s: Hyperband(bench.space, 9, 729, 3, seed=s),
        "BOHB (defaults)": lambda s: BOHB(bench.space, 9, 729, 3, seed=s),
        "BOHB (random_fraction=0)": lambda s: BOHB(bench.space, 9, 729, 3, seed=s, random_fraction=0.0),
        "TPE (defaults, univariate)": lambda s: TPE(bench.space, max_budget=729, seed=s),
        "TPE (multivariate)": lambda s: TPE(bench.space, max_budget=729, seed=s, multivariate=True),
    }
    print(f"ask+tell time (ms) after {args.warm} observations, {args.measure} calls x {args.seeds} seeds")
    print("| optimizer | wall median | wall mean | wall p95 | wall max | CPU median | CPU mean |")
    print("|---|---|---|---|---|---|---|")
    out, traces = {}, {}
    for name, make in makers.items():
        traces[name] = []
        tc = np.concatenate([measure(make(s), bench, args.warm, args.measure, s,
                                     traces[name] if s == 0 else None) for s in range(args.seeds)])
        t, c = tc[:, 0], tc[:, 1]
        out[name] = t
        print(f"| {name} | {np.median(t):.3f} | {t.mean():.3f} | {np.percentile(t, 95):.3f} | {t.max():.3f} "
              f"| {np.median(c):.3f} | {c.mean():.3f} |", flush=True)
    b = out["BOHB (defaults)"]
    hb = out["Hyperband (random proposer)"]
    print(f"BOHB vs HpBandSter BOHB (7.9 ms median / 39.9 ms mean): "
          f"{7.9 / np.median(b):.0f}x lower median, {39.9 / b.mean():.0f}x lower mean")
    print(f"BOHB / Hyperband (same run): median {np.median(b) / np.median(hb):.1f}x, mean {b.mean() / hb.mean():.1f}x")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 4))
        for name, tr in traces.items():
            tr = np.asarray(tr)
            edges = np.arange(0, tr[:, 0].max() + 100, 100)
            idx = np.digitize(tr[:, 0], edges)
            xs = [edges[i - 1] + 50 for i in np.unique(idx)]
            ax.plot(xs, [np.median(tr[idx == i, 1]) for i in np.unique(idx)], "-", label=f"{name} median")
            ax.plot(xs, [tr[idx == i, 1].mean() for i in np.unique(idx)], ":", color=ax.lines[-1].get_color(),
                    label=f"{name} mean")
        ax.set_yscale("log")
        ax.set_xlabel("observations in the history")
        ax.set_ylabel("ask + tell time (ms), per 100 calls")
        ax.set_title("Optimizer overhead, Counting Ones 16+16 (seed 0)")
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(args.plot, dpi=110)
        print("wrote", args.plot)


if __name__ == "__main__":
    main()
