"""Reproduce NAS-Bench-101's optimizer comparison on a table (``lowfi nas compare``).

Each optimizer runs alone (one worker) in a plain ask/tell loop; every evaluation is a table
look-up whose recorded training time advances a simulated wall clock. After each evaluation
the incumbent is the configuration with the lowest validation error so far, and the test
regret is its mean test error at the largest budget minus the table's best mean test error
(the paper's definition, see :func:`~lowfi.nas.nasbench101.tabular.regret_curve`).
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lowfi.core.seeding import as_generator
from lowfi.nas.nasbench101.tabular import NASBench101Benchmark, NASBench101Table, regret_curve

#: the paper's seven optimizers, by lowfi name
PAPER_OPTIMIZERS = ("random", "hyperband", "bohb", "tpe", "re", "reinforce", "smac")


def run_one(
    bench: NASBench101Benchmark, name: str, seed: int, budget: float, max_evaluations: int = 5000,
) -> dict[str, np.ndarray]:
    """One run of optimizer ``name``: arrays ``cost`` (cumulative) and ``regret`` per evaluation."""
    from lowfi import optimizers

    opt = optimizers.get(name, bench.space, min_budget=bench.min_budget,
                         max_budget=bench.max_budget, eta=bench.eta, seed=seed)
    valid, test, cost = [], [], []
    spent = 0.0
    for _ in range(max_evaluations):
        trial = opt.ask()
        if trial is None:
            break
        res = bench.evaluate(trial.config, trial.budget)
        opt.tell(trial, res)
        valid.append(res.loss)
        test.append(res.info["test_error"])
        cost.append(res.cost)
        spent += res.cost
        if spent >= budget:
            break
    t, r = regret_curve(valid, test, cost, bench.y_star_test)
    return {"cost": t, "regret": r}


_POOL_TABLE: dict[str, Any] = {}


def _init_pool(table: NASBench101Table, encoding: str) -> None:
    _POOL_TABLE["table"], _POOL_TABLE["encoding"] = table, encoding


def _pool_run(name: str, s: int, bench_seed: int, budget: float) -> tuple[dict, float]:
    t0 = time.perf_counter()
    bench = NASBench101Benchmark(_POOL_TABLE["table"], _POOL_TABLE["encoding"], seed=bench_seed)
    return run_one(bench, name, seed=s, budget=budget), time.perf_counter() - t0


def on_grid(runs: Sequence[dict[str, np.ndarray]], grid: np.ndarray) -> np.ndarray:
    """Regret of each run at each time of ``grid`` (NaN before its first evaluation)."""
    out = np.full((len(runs), len(grid)), np.nan)
    for i, run in enumerate(runs):
        if len(run["cost"]) == 0:
            continue
        k = np.searchsorted(run["cost"], grid, side="right") - 1
        ok = k >= 0
        out[i, ok] = run["regret"][k[ok]]
    return out


def compare(
    data: str | NASBench101Table | None = "mini",
    optimizers: Sequence[str] | None = None,
    seeds: int = 100,
    encoding: str = "A",
    budget: float | None = None,
    out: str | Path = "bench-out/nasbench101",
    log: Callable[[str], Any] = print,
    plot: bool = True,
    jobs: int = 1,
) -> dict[str, Any]:
    """Run each optimizer for ``seeds`` seeds and plot mean test regret over simulated time.

    Parameters
    ----------
    data
        A table, ``"mini"`` or a path (see :meth:`NASBench101Table.from_path`).
    optimizers
        lowfi names; default: those of :data:`PAPER_OPTIMIZERS` that
        ``lowfi.optimizers.available()`` reports.
    seeds
        Runs per optimizer (seeds 0..seeds-1).
    budget
        Simulated wall clock per run, in the table's training-time units; default 50 times
        the mean training time at the largest budget.
    out
        Folder for ``regret.png``, ``summary.json`` and ``summary.md``.
    jobs
        Processes running seeds in parallel; the results do not depend on it (each run is
        seeded by its index). ``seconds`` is then the sum of the runs' own times.

    Returns
    -------
    dict
        ``grid`` and per optimizer ``mean``, ``sem`` (regret on the grid), ``final`` regrets
        and run ``seconds``.
    """
    from lowfi import optimizers as opts

    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs: got {jobs!r}; allowed is an int >= 1")
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ValueError(f"seeds: got {seeds!r}; allowed is an int >= 1")
    table = data if isinstance(data, NASBench101Table) else NASBench101Table.from_path(data)
    probe = NASBench101Benchmark(table, encoding, seed=0)
    avail = set(opts.available())
    names = list(optimizers) if optimizers else [n for n in PAPER_OPTIMIZERS if n in avail]
    missing = [n for n in names if n not in avail]
    if missing:
        raise ValueError(f"optimizers: {missing} are not available; available are {sorted(avail)}")
    if budget is None:
        budget = 50.0 * float(np.nanmean(table.data["training_time"][:, -1]))
    tmin = float(np.nanmin(table.data["training_time"][:, 0]))
    grid = np.geomspace(max(tmin, 1e-3), budget, 60)
    results: dict[str, Any] = {"grid": grid.tolist(), "budget": budget, "table": table.name,
                               "encoding": encoding, "seeds": seeds,
                               "y_star_test": probe.y_star_test, "optimizers": {}}
    seed_seq = as_generator(12345).integers(2**31, size=seeds)
    pool = None
    if jobs > 1:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        methods = mp.get_all_start_methods()
        ctx = mp.get_context("fork" if "fork" in methods else "spawn")  # fork: no table copy
        pool = ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_init_pool,
                                   initargs=(table, encoding))
    try:
        for name in names:
            _compare_one(results, name, table, encoding, seeds, seed_seq, budget, grid, pool,
                         log)
    finally:
        if pool is not None:
            pool.shutdown()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(results))
    (out / "summary.md").write_text(_markdown(results))
    if plot:
        plot_regret(results, out / "regret.png")
    return results


def _compare_one(results: dict[str, Any], name: str, table: NASBench101Table, encoding: str,
                 seeds: int, seed_seq: np.ndarray, budget: float, grid: np.ndarray, pool: Any,
                 log: Callable[[str], Any]) -> None:
    t0 = time.perf_counter()
    if pool is None:
        runs = []
        for s in range(seeds):
            bench = NASBench101Benchmark(table, encoding, seed=int(seed_seq[s]))
            runs.append(run_one(bench, name, seed=s, budget=budget))
        secs = time.perf_counter() - t0
    else:
        futs = [pool.submit(_pool_run, name, s, int(seed_seq[s]), budget) for s in range(seeds)]
        done = [f.result() for f in futs]
        runs = [r for r, _ in done]
        secs = float(sum(t for _, t in done))
    R = on_grid(runs, grid)
    n = np.sum(~np.isnan(R), axis=0)
    with warnings.catch_warnings():  # grid times before any run's first result
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(R, axis=0)
        sem = np.nanstd(R, axis=0) / np.sqrt(np.maximum(n, 1))
    final = np.array([r["regret"][-1] if len(r["regret"]) else np.nan for r in runs])
    results["optimizers"][name] = {
        "mean": mean.tolist(), "sem": sem.tolist(), "n": n.tolist(),
        "final_mean": float(np.nanmean(final)),
        "final_sem": float(np.nanstd(final) / np.sqrt(seeds)),
        "evaluations_mean": float(np.mean([len(r["cost"]) for r in runs])),
        "seconds": secs,
    }
    log(f"{name:>10}: final test regret {np.nanmean(final):.5f} +- "
        f"{np.nanstd(final) / np.sqrt(seeds):.5f} "
        f"({results['optimizers'][name]['evaluations_mean']:.0f} evals/run, {secs:.1f}s)")


def _markdown(results: dict[str, Any]) -> str:
    grid = np.array(results["grid"])
    cols = [len(grid) // 4, len(grid) // 2, 3 * len(grid) // 4, len(grid) - 1]
    head = "| optimizer | " + " | ".join(f"t={grid[c]:.3g}" for c in cols) + " | evals/run |"
    lines = [head, "|" + "---|" * (len(cols) + 2)]
    order = sorted(results["optimizers"], key=lambda k: results["optimizers"][k]["final_mean"])
    for name in order:
        r = results["optimizers"][name]
        cells = [f"{r['mean'][c]:.4f} ± {r['sem'][c]:.4f}" for c in cols]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {r['evaluations_mean']:.0f} |")
    return "\n".join(lines) + "\n"


def plot_regret(results: dict[str, Any], path: str | Path) -> Path:
    """Mean test regret over simulated time with standard-error bands."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grid = np.array(results["grid"])
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, r in results["optimizers"].items():
        m, s = np.array(r["mean"]), np.array(r["sem"])
        line = ax.plot(grid, m, label=name)[0]
        ax.fill_between(grid, m - s, m + s, color=line.get_color(), alpha=0.2)
    ax.set_xscale("log")
    ax.set_yscale("symlog", linthresh=1e-3)
    ax.set_ylim(bottom=0)  # regret is >= 0: y*_test is the table's best mean test error
    ax.set_xlabel("simulated wall clock (training time of the table)")
    ax.set_ylabel("mean test regret")
    ax.set_title(f"{results['table']} (encoding {results['encoding']}, {results['seeds']} seeds)")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)
