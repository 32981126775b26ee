"""Overhead of SMAC-style BO (ask + tell) against random search, measured in the same run.

Target (issue 5, item 7): median ask+tell below 20 ms at 200 observations in a 10-d space.
The objective's time is not counted. As a reference measured in the same run, the last
column is one plain scikit-learn surrogate step (fit a 10-tree RandomForestRegressor and
predict mean and across-tree variance for 1000 candidates), i.e. a lower bound of a naive
implementation's cost before any acquisition search. Times are wall clock (``perf_counter``)
except the "CPU ms" column (``process_time`` of this process), which is less sensitive to other
processes on a shared machine; "fit ms" and "acq ms" are mean wall-clock parts of SMAC's ask.
For each number of observations ``n`` the optimizer is first fed ``n`` results, then
``--repeats`` further ask+tell cycles are timed one by one.
With ``--quality`` it also compares final losses of SMAC, regularized evolution, REINFORCE
and random search on two toy problems (medians over seeds).

    python benchmarks/smac_overhead.py [--dim 10] [--obs 50,100,200] [--repeats 30] [--quality]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from lowfi.optimizers.base import RandomSearch
from lowfi.optimizers.evolution import RegularizedEvolution
from lowfi.optimizers.reinforce import REINFORCE
from lowfi.optimizers.smac import SMAC


def make_space(dim: int, mixed: bool) -> dict:
    if not mixed:
        return {f"x{i}": (0.0, 1.0) for i in range(dim)}
    space = {f"x{i}": (0.0, 1.0) for i in range(dim - 4)}
    space.update({"n1": (1, 64), "n2": (1, 8), "c1": ["a", "b", "c"], "c2": ["u", "v"]})
    return space


def objective(config: dict) -> float:
    loss = 0.0
    for v in config.values():
        if isinstance(v, float):
            loss += (v - 0.3) ** 2
        elif isinstance(v, int):
            loss += 0.01 * v
        else:
            loss += 0.1 * (v != "a")
    return loss


def timed_cycles(opt, n_obs: int, repeats: int) -> tuple[np.ndarray, dict]:
    """Feed ``n_obs`` results, then time ``repeats`` ask+tell cycles (seconds each)."""
    for _ in range(n_obs):
        t = opt.ask()
        opt.tell(t, objective(t.config))
    parts = {"fit": 0.0, "acquisition": 0.0}
    prop = getattr(opt, "proposer", None)
    if isinstance(opt, SMAC):  # split SMAC's time into model fit and acquisition search
        fit, maximize = prop.model.fit, prop._maximize

        def fit_t(X, y):
            t0 = time.perf_counter()
            out = fit(X, y)
            parts["fit"] += time.perf_counter() - t0
            return out

        def max_t(history):
            t0 = time.perf_counter()
            out = maximize(history)
            parts["acquisition"] += time.perf_counter() - t0
            return out

        prop.model.fit, prop._maximize = fit_t, max_t
    times = np.empty((repeats, 2))  # wall-clock and CPU seconds of this process
    for i in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        t = opt.ask()
        times[i] = time.perf_counter() - t0, time.process_time() - c0
        loss = objective(t.config)  # not timed
        t0, c0 = time.perf_counter(), time.process_time()
        opt.tell(t, loss)
        times[i] += time.perf_counter() - t0, time.process_time() - c0
    return times, {k: v / repeats for k, v in parts.items()}


def naive_sklearn_step(X: np.ndarray, y: np.ndarray, candidates: np.ndarray, seed: int) -> float:
    """Seconds for one plain scikit-learn surrogate step: fit a 10-tree RandomForestRegressor
    and predict mean and across-tree variance of ``candidates`` (what a naive SMAC does)."""
    from sklearn.ensemble import RandomForestRegressor

    t0 = time.perf_counter()
    rf = RandomForestRegressor(n_estimators=10, max_features=5 / 6, random_state=seed)
    rf.fit(np.nan_to_num(X, nan=-1.0), y)
    per_tree = np.stack([est.predict(candidates) for est in rf.estimators_])
    _ = per_tree.mean(axis=0), per_tree.var(axis=0)
    return time.perf_counter() - t0


def overhead(args: argparse.Namespace) -> None:
    space = make_space(args.dim, args.mixed)
    print(
        f"space: {args.dim}-d ({'mixed' if args.mixed else 'continuous'}), "
        f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
    )
    print(
        f"{'n_obs':>6} {'SMAC median ms':>15} {'p90 ms':>8} {'CPU ms':>7} {'fit ms':>7} "
        f"{'acq ms':>7} {'random median ms':>17} {'sklearn RF step ms':>19}"
    )
    for n in args.obs:
        smac = SMAC(space, seed=args.seed)
        rs = RandomSearch(space, seed=args.seed)
        ts, parts = timed_cycles(smac, n, args.repeats)
        tr, _ = timed_cycles(rs, n, args.repeats)
        X, y = smac.history.observations(1.0)
        cands = smac.space.sample_vectors(np.random.default_rng(args.seed), 1000)
        naive = np.median([naive_sklearn_step(X[:n], y[:n], cands, k) for k in range(5)])
        print(
            f"{n:>6} {np.median(ts[:, 0]) * 1e3:>15.2f} {np.quantile(ts[:, 0], 0.9) * 1e3:>8.2f} "
            f"{np.median(ts[:, 1]) * 1e3:>7.2f} {parts['fit'] * 1e3:>7.2f} "
            f"{parts['acquisition'] * 1e3:>7.2f} {np.median(tr[:, 0]) * 1e3:>17.3f} "
            f"{naive * 1e3:>19.2f}"
        )
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


def quality(args: argparse.Namespace) -> None:
    ones = {f"c{i}": ["0", "1"] for i in range(16)}
    smooth = {f"x{i}": (0.0, 1.0) for i in range(6)}
    problems = {
        "counting-ones-16 (min -16)": (ones, lambda c: -sum(int(v) for v in c.values())),
        "sphere-6d (min 0)": (smooth, lambda c: sum((v - 0.3) ** 2 for v in c.values())),
    }
    makers = {
        "random": lambda s, seed: RandomSearch(s, seed=seed),
        "re (pop 20, sample 5)": lambda s, seed: RegularizedEvolution(
            s, population_size=20, sample_size=5, seed=seed
        ),
        "reinforce (lr 0.5)": lambda s, seed: REINFORCE(s, learning_rate=0.5, seed=seed),
        "smac": lambda s, seed: SMAC(s, seed=seed),
    }
    print(
        f"\nquality: median best loss after {args.evals} evaluations over seeds 0..{args.seeds - 1}"
    )
    print(f"{'problem':>28} " + " ".join(f"{m:>22}" for m in makers))
    for pname, (space, f) in problems.items():
        row = []
        for make in makers.values():
            best = []
            for seed in range(args.seeds):
                opt = make(space, seed)
                for _ in range(args.evals):
                    t = opt.ask()
                    opt.tell(t, f(t.config))
                best.append(opt.incumbent()[1])
            row.append(np.median(best))
        print(f"{pname:>28} " + " ".join(f"{v:>22.4f}" for v in row))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dim", type=int, default=10)
    ap.add_argument("--obs", type=lambda s: [int(x) for x in s.split(",")], default=[50, 100, 200])
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--mixed", action="store_true", help="6 floats, 2 integers, 2 categoricals")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quality", action="store_true")
    ap.add_argument("--evals", type=int, default=100)
    ap.add_argument("--seeds", type=int, default=5)
    args = ap.parse_args()
    overhead(args)
    if args.quality:
        quality(args)


if __name__ == "__main__":
    main()
