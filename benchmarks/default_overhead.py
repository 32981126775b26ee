"""Overhead of lowfi's default optimizer (``"auto"``): time of ask() + tell() with about 1,000
observations, on the 16 + 16 Counting Ones space and on a 6-d continuous space (MF-Hartmann-6),
with Hyperband (same scheduler, random configurations) measured in the same run as the baseline.

Protocol (as ``benchmarks/bohb_overhead.py``): one single-threaded process; run the optimizer
sequentially on the problem until it holds ``--warm`` observations, then time ``--measure``
further ask + tell pairs (the objective's time is not counted). Wall and CPU time are printed;
the targets are a median under 5 ms and a mean under 20 ms (wall).

Run: ``nice -n 10 .venv/bin/python benchmarks/default_overhead.py``
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse
import time

import numpy as np

from lowfi import benchmarks, optimizers


def _n_opt(opt) -> int:
    """Hyperparameter optimizations of the default's GP so far (0 for other models)."""
    return int(getattr(getattr(getattr(opt, "proposer", None), "_impl", None), "n_optimizations", 0))


def measure(opt, bench, warm: int, n: int, seed: int = 0) -> tuple[np.ndarray, int]:
    """ask + tell times (ms; columns wall, CPU) of the calls made while the history holds
    ``warm`` to ``warm + n`` observations, and the GP hyperparameter optimizations among them."""
    rng = np.random.default_rng(seed)
    times, k0 = [], None
    while len(opt.history) < warm + n:
        if k0 is None and len(opt.history) >= warm:
            k0 = _n_opt(opt)
        t0, c0 = time.perf_counter(), time.process_time()
        trial = opt.ask()
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        res = bench.evaluate(trial.config, trial.budget, seed=int(rng.integers(2**31 - 1)))
        t0, c0 = time.perf_counter(), time.process_time()
        opt.tell(trial, res)
        dt, dc = dt + time.perf_counter() - t0, dc + time.process_time() - c0
        if len(opt.history) > warm:
            times.append((dt, dc))
    return np.asarray(times) * 1e3, _n_opt(opt) - (k0 or 0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--warm", type=int, default=1000)
    ap.add_argument("--measure", type=int, default=300)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--problems", default="counting-ones-16-16,mf-hartmann6")
    args = ap.parse_args()
    print(f"ask+tell time (ms) after {args.warm} observations, {args.measure} calls x {args.seeds} seeds; "
          f"1-minute load average at the start {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)")
    print("| problem | optimizer (model) | wall median | wall mean | wall p95 | wall max | CPU median | CPU mean |")
    print("|---|---|---|---|---|---|---|---|")
    ratios = []
    for pname in args.problems.split(","):
        bench = benchmarks.get(pname)
        kw = dict(min_budget=float(bench.min_budget), max_budget=float(bench.max_budget),
                  eta=float(getattr(bench, "eta", 3) or 3))
        out = {}
        for name in ("hyperband", "auto"):
            parts, n_opt = [], 0
            for s in range(args.seeds):
                opt = optimizers.get(name, bench.space, seed=s, **kw)
                t, k = measure(opt, bench, args.warm, args.measure, s)
                parts.append(t)
                n_opt += k
            tc = np.concatenate(parts)
            t, c = tc[:, 0], tc[:, 1]
            out[name] = t
            if name == "auto":
                cpu_ok = np.median(c) < 5 and c.mean() < 20
            label = name
            if name == "auto":
                label = (f"auto ({optimizers.get('auto', bench.space, seed=0, **kw).model}; "
                         f"{n_opt} hyperparameter fits in the measured calls)")
            print(f"| {pname} | {label} | {np.median(t):.3f} | {t.mean():.3f} | {np.percentile(t, 95):.3f} "
                  f"| {t.max():.3f} | {np.median(c):.3f} | {c.mean():.3f} |", flush=True)
        a, h = out["auto"], out["hyperband"]
        ratios.append((pname, np.median(a) / np.median(h), a.mean() / h.mean(),
                       np.median(a) < 5 and a.mean() < 20, cpu_ok))
    for pname, rm, rmean, ok, cok in ratios:
        print(f"{pname}: auto / hyperband (same run): median {rm:.0f}x, mean {rmean:.0f}x; "
              f"target (median < 5 ms, mean < 20 ms) on wall time {'met' if ok else 'MISSED'}, "
              f"on CPU time {'met' if cok else 'MISSED'}")
    print(f"1-minute load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
