"""lowfi's SearchCV against scikit-learn's HalvingRandomSearchCV and HalvingGridSearchCV.

Task: an RBF SVC (standardized inputs) tuned over C and gamma on three scikit-learn datasets
(breast_cancer, digits, wine), with the number of training samples as the resource and 5-fold
CV. Each seed draws a stratified 70/30 train/test split; every search runs on the same split
and is scored on the held-out 30%.

Equal resource: HalvingRandomSearchCV runs with its defaults (``min_resources="smallest"``,
``n_candidates="exhaust"``, factor 3); the sum of the resources of its evaluations (samples
per evaluation, summed) is the ``total_budget`` SearchCV gets (lowfi stops asking once the
budget is spent, so the last evaluation may overshoot it). HalvingGridSearchCV searches a log
grid with about as many points as HalvingRandomSearchCV's first rung has candidates, from
the same ``min_resources="smallest"``, so it spends about the same. The table reports the
mean (and standard error) of the test accuracy, the resource spent, evaluations, rungs used
and the wall time of ``fit``, over the seeds.

    nice -n 10 .venv/bin/python benchmarks/searchcv_compare.py --seeds 10 [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import math
import time
import warnings

import numpy as np


def make_task(name: str):
    from sklearn import datasets

    X, y = {"breast_cancer": datasets.load_breast_cancer, "digits": datasets.load_digits,
            "wine": datasets.load_wine}[name](return_X_y=True)
    return X, y


def estimator():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    return make_pipeline(StandardScaler(), SVC())


C_RANGE, GAMMA_RANGE = (1e-2, 1e3), (1e-5, 1e0)


def run_one(dataset: str, seed: int, optimizers: list[str]) -> list[dict]:
    from ConfigSpace import ConfigurationSpace, Float
    from scipy.stats import loguniform
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.model_selection import (
        HalvingGridSearchCV,
        HalvingRandomSearchCV,
        train_test_split,
    )

    import lowfi.optimizers
    from lowfi.integrations import SearchCV

    X, y = make_task(dataset)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, stratify=y, random_state=seed)
    rows = []

    def record(method: str, search, seconds: float) -> None:
        r = search.cv_results_
        rows.append({"dataset": dataset, "seed": seed, "method": method,
                     "test_accuracy": float(search.score(Xte, yte)),
                     "resource": int(np.sum(r["n_resources"])),
                     "evaluations": len(r["params"]), "rungs": len(set(r["n_resources"])),
                     "seconds": seconds})

    t0 = time.perf_counter()
    h = HalvingRandomSearchCV(estimator(), {"svc__C": loguniform(*C_RANGE),
                                            "svc__gamma": loguniform(*GAMMA_RANGE)},
                              random_state=seed).fit(Xtr, ytr)
    record("HalvingRandomSearchCV", h, time.perf_counter() - t0)
    budget = int(np.sum(h.cv_results_["n_resources"]))

    side = max(int(round(math.sqrt(h.n_candidates_[0]))), 2)
    grid = {"svc__C": np.geomspace(*C_RANGE, side), "svc__gamma": np.geomspace(*GAMMA_RANGE, side)}
    t0 = time.perf_counter()
    g = HalvingGridSearchCV(estimator(), grid, min_resources="smallest",
                            random_state=seed).fit(Xtr, ytr)
    record("HalvingGridSearchCV", g, time.perf_counter() - t0)

    space = ConfigurationSpace({"svc__C": Float("svc__C", C_RANGE, log=True),
                                "svc__gamma": Float("svc__gamma", GAMMA_RANGE, log=True)})
    for opt in optimizers:
        name = lowfi.optimizers.DEFAULT if opt == "default" else opt
        t0 = time.perf_counter()
        s = SearchCV(estimator(), space, optimizer=None if opt == "default" else opt,
                     total_budget=budget, random_state=seed).fit(Xtr, ytr)
        record(f"lowfi SearchCV ({name})", s, time.perf_counter() - t0)
    return rows


def summarize(rows: list[dict]) -> str:
    out = ["| dataset | method | test accuracy (mean ± s.e.) | resource spent | evaluations | rungs | fit seconds |",
           "|---|---|---|---|---|---|---|"]
    keys = sorted({(r["dataset"], r["method"]) for r in rows}, key=lambda k: (k[0], k[1]))
    for ds, method in keys:
        sel = [r for r in rows if r["dataset"] == ds and r["method"] == method]
        acc = np.array([r["test_accuracy"] for r in sel])
        se = acc.std(ddof=1) / math.sqrt(len(acc)) if len(acc) > 1 else float("nan")
        out.append(f"| {ds} | {method} | {acc.mean():.4f} ± {se:.4f} | "
                   f"{np.mean([r['resource'] for r in sel]):.0f} | "
                   f"{np.mean([r['evaluations'] for r in sel]):.1f} | "
                   f"{np.mean([r['rungs'] for r in sel]):.1f} | "
                   f"{np.mean([r['seconds'] for r in sel]):.2f} |")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--datasets", default="breast_cancer,digits,wine")
    ap.add_argument("--optimizers", default="default,bohb",
                    help="lowfi optimizers for SearchCV ('default': lowfi.optimizers.DEFAULT)")
    ap.add_argument("--out", default=None, help="also write the rows as JSON")
    args = ap.parse_args()
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for ds in args.datasets.split(","):
            for seed in range(args.seeds):
                rows.extend(run_one(ds, seed, args.optimizers.split(",")))
                print(f"{ds} seed {seed} done", flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(rows, f, indent=1)
    print(summarize(rows))


if __name__ == "__main__":
    main()
