"""NAS then HPO against HPO around NAS, at equal compute, on scikit-learn's 8x8 digits (CPU).

Option 1 (Auto-DispNet's recipe): one DARTS search with fixed settings, then the optimizer
tunes the training hyperparameters (lr, weight decay, batch size) of the found network, budget
= training epochs. Option 2: the optimizer tunes DARTS' own hyperparameters (weight lr,
architecture lr, inner L2 factor, drop-path, warm-start fraction), budget = search epochs; each
evaluation searches, trains the found genotype with default hyperparameters and returns its
validation error. Both options are charged in training epochs (a search epoch counts
``--search-epoch-cost``) up to ``--budget``; both then train their final choice for
``--final-epochs`` and report the error on the 400 test images neither loop sees.
(``lowfi.nas.darts.compare_nas_hpo``.)

Usage::

    nice -n 10 python benchmarks/nas_hpo.py --seeds 10 --out /tmp/nas_hpo.jsonl
    python benchmarks/nas_hpo.py --load /tmp/nas_hpo.jsonl          # table only
    nice -n 10 python benchmarks/nas_hpo.py --calibrate             # search/train epoch ratio
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

LABELS = {"nas_then_hpo": "option 1: NAS then HPO", "hpo_around_nas": "option 2: HPO around NAS"}


def make_data(n_search: int, n_train: int) -> dict:
    from lowfi.nas.darts import digits_task

    data = digits_task("classification", seed=0)  # one split for every seed

    def sub(pair, n):
        return pair[0][:n], pair[1][:n]

    data["train"] = sub(data["train"], n_train)
    data["search_train"] = sub(data["search_train"], n_search)
    data["search_val"] = sub(data["search_val"], n_search)
    return data


def calibrate(args) -> None:
    """Wall-clock seconds of one DARTS search epoch and one training epoch of a genotype."""
    from lowfi.nas.darts import (
        SearchConfig,
        SearchNetwork,
        build_seeded,
        darts_search,
        random_genotype,
        train_network,
    )

    data = make_data(args.n_search, args.n_train)
    sk = dict(C=args.C, n_nodes=args.nodes)
    t0 = time.perf_counter()
    model = SearchNetwork(seed=0, **sk)
    darts_search(model, data["search_train"], data["search_val"],
                 SearchConfig(epochs=3, arch_lr=0.01, eigenvalue_every=0), seed=0)
    search = (time.perf_counter() - t0) / 3
    train = []
    for s in range(3):
        net = build_seeded(random_genotype(s, n_nodes=args.nodes), "classification", s,
                           **model.network_kwargs())
        t0 = time.perf_counter()
        train_network(net, data["train"], 3, seed=s)
        train.append((time.perf_counter() - t0) / 3)
    print(f"search epoch {search:.2f} s, training epoch (batch 64, 3 random genotypes) "
          f"{np.mean(train):.2f} s: ratio {search / np.mean(train):.1f}")


def add_baseline(rows: list[dict], args) -> None:
    """Fill ``default_test_metric`` (option 1's genotype trained with the default
    hyperparameters, exactly as ``compare_nas_hpo`` trains) where a row lacks it; retraining
    option 2's genotypes the same way must reproduce their test errors."""
    from lowfi.nas.darts import Genotype, SearchNetwork, build_seeded, train_network
    from lowfi.nas.darts.nas_hpo import seed_ints

    data = make_data(args.n_search, args.n_train)
    kw = SearchNetwork(C=args.C, n_nodes=args.nodes, layers=3).network_kwargs()
    for r in rows:
        if r["option"] == "nas_then_hpo" and r.get("default_test_metric") is not None:
            continue
        t = seed_ints(r["seed"])["train"]
        net = build_seeded(Genotype.from_dict(r["genotype"]), "classification", t, **kw)
        err = train_network(net, data["train"], args.final_epochs, seed=t,
                            eval_sets={"test": data["test"]})["test_metric"]
        if r["option"] == "nas_then_hpo":
            r["default_test_metric"] = err
        elif abs(err - r["test_metric"]) > 1e-12:
            print(f"seed {r['seed']}: option 2 retrained to {err}, recorded {r['test_metric']}")


def _ms(x, fmt="{:.4f}"):
    x = np.asarray(x, float)
    se = x.std(ddof=1) / np.sqrt(len(x)) if len(x) > 1 else 0.0
    return f"{fmt.format(x.mean())} ± {fmt.format(se)}"


def summarize(rows: list[dict]) -> str:
    """One table row per (option, budget); paired differences per seed between option 2 and
    option 1 on the seeds both have (for every pair of budgets present)."""
    groups: dict[tuple[str, float], dict[int, dict]] = {}
    for r in rows:
        groups.setdefault((r["option"], float(r["budget"])), {})[r["seed"]] = r
    opt = sorted({r["optimizer"] for r in rows})
    lines = [f"\noptimizer {', '.join(opt)}; mean ± standard error over seeds\n",
             "| option | budget | seeds | test error | validation error of the choice | compute "
             "charged (training epochs) | evaluations | search epochs | training epochs | "
             "parameterless fraction | wall clock (s) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for (o, b), by in sorted(groups.items(), key=lambda kv: (list(LABELS).index(kv[0][0]), kv[0][1])):
        rs = [by[s] for s in sorted(by)]
        lines.append(
            f"| {LABELS[o]} | {b:g} | {len(rs)} | {_ms([r['test_metric'] for r in rs])} | "
            f"{_ms([r['best_val'] for r in rs])} | {_ms([r['spent'] for r in rs], '{:.1f}')} | "
            f"{np.mean([r['n_evaluations'] for r in rs]):.1f} | "
            f"{np.mean([r['search_epochs'] for r in rs]):.1f} | "
            f"{np.mean([r['train_epochs'] for r in rs]):.1f} | "
            f"{np.mean([r['parameterless_fraction'] for r in rs]):.2f} | "
            f"{np.mean([r['seconds'] for r in rs]):.0f} |")
        base = [r.get("default_test_metric") for r in rs]
        if o == "nas_then_hpo" and all(x is not None for x in base):
            lines.append(f"| reference: option 1's genotype with default training "
                         f"hyperparameters (DARTS alone, no HPO) | {b:g} | {len(rs)} | "
                         f"{_ms(base)} | - | - | - | - | - | - | - |")
    for (o1, b1), by1 in sorted(groups.items()):
        for (o2, b2), by2 in sorted(groups.items()):
            if (o1, o2) != ("nas_then_hpo", "hpo_around_nas"):
                continue
            seeds = sorted(set(by1) & set(by2))
            if not seeds:
                continue
            d = np.array([by2[s]["test_metric"] - by1[s]["test_metric"] for s in seeds])
            w1, w2 = int((d > 0).sum()), int((d < 0).sum())
            lines.append(f"\noption 2 (budget {b2:g}) - option 1 (budget {b1:g}), per-seed test "
                         f"error: {_ms(d)} over {len(d)} seeds (option 1 lower on {w1}, "
                         f"option 2 lower on {w2}, ties {len(d) - w1 - w2})")
            lines.append("per seed (option 1 / option 2): " + ", ".join(
                f"{s}: {by1[s]['test_metric']:.4f}/{by2[s]['test_metric']:.4f}" for s in seeds))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10, help="number of seeds")
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--budget", type=float, default=300.0,
                    help="compute per option, in training epochs")
    ap.add_argument("--search-epoch-cost", type=float, default=8.0,
                    help="charge of one DARTS search epoch, in training epochs")
    ap.add_argument("--optimizer", default="bohb", help="lowfi optimizer of both options")
    ap.add_argument("--min-search-epochs", type=int, default=2)
    ap.add_argument("--max-search-epochs", type=int, default=6)
    ap.add_argument("--final-epochs", type=int, default=9)
    ap.add_argument("--score-epochs", type=int, default=None,
                    help="option 2's training per evaluation (default: --final-epochs)")
    ap.add_argument("--n-search", type=int, default=200, help="images per search half")
    ap.add_argument("--n-train", type=int, default=600)
    ap.add_argument("--C", type=int, default=4)
    ap.add_argument("--nodes", type=int, default=2)
    ap.add_argument("--out", default=None, help="append one JSON line per seed and option")
    ap.add_argument("--load", nargs="+", default=None, help="only summarize these files")
    ap.add_argument("--calibrate", action="store_true")
    ap.add_argument("--baseline", action="store_true",
                    help="with --load: train option 1's genotypes with default hyperparameters "
                         "where the rows lack that reference")
    ap.add_argument("--options", default="nas_then_hpo,hpo_around_nas",
                    help="which options to run (comma-separated)")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    if a.calibrate:
        calibrate(a)
        return
    if a.load:
        rows = [json.loads(x) for f in a.load for x in open(f) if x.strip()]
        if a.baseline:
            add_baseline(rows, a)
        print(summarize(rows))
        return
    from lowfi.nas.darts import SearchConfig, compare_nas_hpo

    data = make_data(a.n_search, a.n_train)
    rows = []
    for seed in range(a.first_seed, a.first_seed + a.seeds):
        out = compare_nas_hpo(
            data=data, budget=a.budget, search_epoch_cost=a.search_epoch_cost,
            base_search=SearchConfig(arch_lr=0.01, eigenvalue_every=0),
            supernet_kwargs=dict(C=a.C, n_nodes=a.nodes, layers=3),
            min_search_epochs=a.min_search_epochs, max_search_epochs=a.max_search_epochs,
            score_epochs=a.score_epochs, final_epochs=a.final_epochs, optimizer=a.optimizer,
            options=tuple(a.options.split(",")), seed=seed, verbose=a.verbose)
        for o, res in out.items():
            row = {"seed": seed, **res.summary(), "budget": a.budget,
                   "search_epoch_cost": a.search_epoch_cost}
            rows.append(row)
            print(f"seed {seed} {o:15s} test {res.test_metric:.4f} val {res.best_val:.4f} "
                  f"spent {res.spent:.0f} evals {len(res.trials)} {res.seconds:.0f}s", flush=True)
            if a.out:
                with open(a.out, "a") as fh:
                    fh.write(json.dumps(row) + "\n")
    print(summarize(rows))


if __name__ == "__main__":
    main()
