"""Which model the default optimizer ("auto") should use on conditional search spaces.

Two synthetic conditional problems with a known optimum, each evaluated noisily with a bias
that shrinks with the budget (``loss = f(config) + bias / budget + noise``):

- ``branches``: a switch ``mode`` in {"a", "b", "c"}; ``x`` is active only for "a" and the
  integer ``z`` only for "c"; ``y`` and ``w`` are always active. Optimum 0 in branch "a".
- ``model-selection``: ``algo`` in {"svm", "forest", "knn"} with the SVM's log-scaled ``C``
  and ``gamma``, the forest's log-scaled tree count and depth, kNN's ``k``; a shared
  ``scale`` in [0, 1]. Optimum 0 for the SVM.

Each optimizer runs ``lowfi.minimize`` (inline, one worker) until 50 x ``max_budget`` has been
charged; the incumbent after 10x, 25x and 50x is the configuration with the lowest observed
loss at ``max_budget`` so far, and its regret is its noise-free loss at the full budget.

Run: ``nice -n 10 .venv/bin/python benchmarks/default_conditional.py --seeds 10``
(variants: ``auto`` -- the default --, ``auto:model=tpe``, ``auto:model=kde``,
``auto:model=random`` -- plain Hyperband -- and ``bohb``). Prints mean +- standard error.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from ConfigSpace import Categorical, ConfigurationSpace, EqualsCondition, Float, Integer

import lowfi

MAX_BUDGET = 27


def branches() -> tuple[ConfigurationSpace, callable, float]:
    cs = ConfigurationSpace(seed=0)
    mode = Categorical("mode", ["a", "b", "c"])
    x, z = Float("x", (-3.0, 3.0)), Integer("z", (0, 20))
    cs.add([mode, x, z, Float("y", (-3.0, 3.0)), Float("w", (-3.0, 3.0)),
            EqualsCondition(x, mode, "a"), EqualsCondition(z, mode, "c")])

    def f(c):
        shared = (c["y"] + 0.5) ** 2 + 0.5 * (c["w"] - 1.0) ** 2
        if c["mode"] == "a":
            return shared + (c["x"] - 1.0) ** 2
        if c["mode"] == "c":
            return shared + 0.3 + 0.01 * (c["z"] - 7) ** 2
        return shared + 0.6

    return cs, f, 0.5


def model_selection() -> tuple[ConfigurationSpace, callable, float]:
    cs = ConfigurationSpace(seed=0)
    algo = Categorical("algo", ["svm", "forest", "knn"])
    C, gamma = Float("C", (1e-3, 1e3), log=True), Float("gamma", (1e-4, 1e1), log=True)
    trees, depth = Integer("trees", (10, 500), log=True), Integer("depth", (2, 30))
    k = Integer("k", (1, 50))
    cs.add([algo, C, gamma, trees, depth, k, Float("scale", (0.0, 1.0)),
            EqualsCondition(C, algo, "svm"), EqualsCondition(gamma, algo, "svm"),
            EqualsCondition(trees, algo, "forest"), EqualsCondition(depth, algo, "forest"),
            EqualsCondition(k, algo, "knn")])

    def f(c):
        s = (c["scale"] - 0.7) ** 2
        if c["algo"] == "svm":
            return s + 0.02 * (np.log10(c["C"]) - 1.5) ** 2 + 0.05 * (np.log10(c["gamma"]) + 2.5) ** 2
        if c["algo"] == "forest":
            return 0.07 + s + 0.0125 * (np.log(c["trees"]) - 5.5) ** 2 + 0.001 * (c["depth"] - 12) ** 2
        return 0.15 + s + 0.0004 * (c["k"] - 8) ** 2

    return cs, f, 0.3


PROBLEMS = {"branches": branches, "model-selection": model_selection}
VARIANTS = {"auto": ("auto", {}), "auto:model=tpe": ("auto", {"model": "tpe"}),
            "auto:model=kde": ("auto", {"model": "kde"}),
            "auto:model=random": ("auto", {"model": "random"}), "bohb": ("bohb", {})}


def run(problem: str, variant: str, seed: int) -> np.ndarray:
    cs, f, bias = PROBLEMS[problem]()
    rng = np.random.default_rng(1000 + seed)
    name, kwargs = VARIANTS[variant]

    def objective(config, budget):
        return f(config) + bias / budget + 0.02 * rng.standard_normal()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = lowfi.minimize(objective, cs, name, optimizer_kwargs=kwargs, min_budget=1,
                             max_budget=MAX_BUDGET, eta=3, total_budget=50 * MAX_BUDGET,
                             seed=seed, progress=False)
    t = res.trials.sort_values("end", kind="stable")
    spent = t["budget"].astype(float).cumsum().to_numpy()
    out = []
    for k in (10, 25, 50):
        done = t[(spent <= k * MAX_BUDGET) & (t["status"] == "ok")
                 & (t["budget"].astype(float) == MAX_BUDGET)]
        if not len(done):
            out.append(np.nan)
            continue
        best = done.loc[done["loss"].astype(float).idxmin()]
        config = {c[len("config."):]: best[c] for c in t.columns
                  if c.startswith("config.") and best[c] == best[c]}
        out.append(f(config))
    return np.array(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--problems", default=",".join(PROBLEMS))
    ap.add_argument("--variants", default=",".join(VARIANTS))
    a = ap.parse_args()
    for problem in a.problems.split(","):
        for variant in a.variants.split(","):
            t0 = time.process_time()
            r = np.array([run(problem, variant, s) for s in range(a.seeds)])
            m, se = np.nanmean(r, 0), np.nanstd(r, 0, ddof=1) / np.sqrt(len(r))
            print(f"{problem:16s} {variant:18s} " + " ".join(
                f"{x:.4g} ± {e:.2g}" for x, e in zip(m, se))
                + f" | {time.process_time() - t0:.0f} CPU s", flush=True)


if __name__ == "__main__":
    main()
