"""DARTS on scikit-learn digits (CPU, minutes): genotype from scratch vs a random genotype.

Two tasks: 10-class classification of the 8x8 digits, and denoising of the same images with an
encoder-decoder of Auto-DispNet upsampling cells (mean absolute error per pixel). For every
seed the script runs four DARTS variants - plain, with warm-starting, with the RobustDARTS
regularizations (L2 x factor on the inner objective, drop-path, eigenvalue early stopping), and
both - then trains each found genotype and a random genotype of the same space from scratch
with identical settings, and prints test error, ratios to the random genotype, the
skip-connection fraction and the Hessian eigenvalue at the end of the search.

Usage::

    python benchmarks/darts_digits.py --tasks classification dense --seeds 0 1 2 \
        --out /tmp/darts.jsonl --plots docs/img
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict

import numpy as np
import torch

from lowfi.core.seeding import as_generator
from lowfi.nas.darts import (
    SearchConfig,
    SearchEncoderDecoder,
    SearchNetwork,
    build_seeded,
    darts_search,
    digits_task,
    random_genotype,
    train_network,
)

VARIANTS = {
    "darts": dict(warm=False, reg=False),
    "darts+warm": dict(warm=True, reg=False),
    "darts+reg": dict(warm=False, reg=True),
    "darts+warm+reg": dict(warm=True, reg=True),
    # RobustDARTS' data-augmentation regularization alone: Cutout on the inner objective
    "darts+da": dict(warm=False, reg=False, da=True),
}


def subset(pair, n):
    return pair[0][:n], pair[1][:n]


def run(args) -> list[dict]:
    rows = []
    for task in args.tasks:
        for seed in args.seeds:
            data = digits_task(task, seed=0)  # the same split for every seed
            data["train"] = subset(data["train"], args.n_train)
            st, sv = subset(data["search_train"], args.n_search), subset(data["search_val"], args.n_search)
            sizes = dict(C=args.C, n_nodes=args.nodes)
            sizes.update(dict(layers=args.layers) if task == "classification"
                         else dict(n_levels=2, residual=args.residual))
            evals = {"test": data["test"]}
            train_kw = dict(epochs=args.train_epochs, lr=0.05, batch_size=64, eval_sets=evals)
            for name, v in VARIANTS.items():
                if name not in args.variants:
                    continue
                rng = as_generator(1000 * seed + list(VARIANTS).index(name))
                cfg = SearchConfig(
                    epochs=args.epochs, warmstart_epochs=args.warmstart if v["warm"] else 0,
                    order=args.order, batch_size=args.batch, arch_lr=args.arch_lr,
                    weight_decay=3e-4 * (args.l2_factor if v["reg"] else 1.0),
                    drop_path=args.drop_path if v["reg"] else 0.0, early_stop=v["reg"],
                    es_window=args.es_window, es_k=args.es_k, eigen_iters=args.eigen_iters,
                    eigen_batch=args.eigen_batch,
                    cutout_prob=args.cutout_prob if v.get("da") else 0.0,
                    cutout_length=args.cutout_length)
                cls = SearchNetwork if task == "classification" else SearchEncoderDecoder
                model = cls(seed=seed, **sizes)
                t0 = time.perf_counter()
                res = darts_search(model, st, sv, cfg, seed=rng)
                t_search = time.perf_counter() - t0
                net = build_seeded(res.genotype, task, seed, **model.network_kwargs())
                t0 = time.perf_counter()
                out = train_network(net, data["train"], seed=seed, **train_kw)
                rows.append({
                    "task": task, "seed": seed, "variant": name, "test_metric": out["test_metric"],
                    "n_params": out["n_params"], "skip_fraction": res.genotype.skip_fraction(),
                    "parameterless_fraction": res.genotype.parameterless_fraction(),
                    "eigenvalue_last": res.history[-1]["eigenvalue"],
                    "stopped_early": res.stopped_early, "stop_epoch": res.stop_epoch,
                    "genotype": res.genotype.to_dict(), "search_seconds": t_search,
                    "train_seconds": time.perf_counter() - t0,
                    "history": [{k: h[k] for k in ("epoch", "phase", "val_loss", "val_metric",
                                                   "eigenvalue", "skip_fraction",
                                                   "parameterless_fraction")} for h in res.history],
                    "config": asdict(cfg),
                })
                print(f"{task:14s} seed {seed} {name:15s} test {out['test_metric']:.4f} "
                      f"skip {rows[-1]['skip_fraction']:.2f} paramless "
                      f"{rows[-1]['parameterless_fraction']:.2f} eig {rows[-1]['eigenvalue_last']} "
                      f"es {res.stopped_early}@{res.stop_epoch} search {t_search:.0f}s", flush=True)
            if "random" in args.variants:
                g = random_genotype(seed, n_nodes=args.nodes, with_up=task == "dense")
                model = (SearchNetwork if task == "classification" else SearchEncoderDecoder)(seed=seed, **sizes)
                net = build_seeded(g, task, seed, **model.network_kwargs())
                t0 = time.perf_counter()
                out = train_network(net, data["train"], seed=seed, **train_kw)
                rows.append({"task": task, "seed": seed, "variant": "random",
                             "test_metric": out["test_metric"], "n_params": out["n_params"],
                             "skip_fraction": g.skip_fraction(),
                             "parameterless_fraction": g.parameterless_fraction(),
                             "eigenvalue_last": None, "stopped_early": False, "stop_epoch": None,
                             "genotype": g.to_dict(), "search_seconds": 0.0,
                             "train_seconds": time.perf_counter() - t0, "history": []})
                print(f"{task:14s} seed {seed} {'random':15s} test {out['test_metric']:.4f} "
                      f"skip {g.skip_fraction():.2f}", flush=True)
    return rows


def summarize(rows: list[dict]) -> str:
    lines = []
    for task in sorted({r["task"] for r in rows}):
        metric = "test error" if task == "classification" else "test MAE/pixel"
        lines += [f"\n### {task}\n", f"| variant | {metric} (mean ± sd) | ratio to random | "
                  "skip fraction | parameterless fraction | last eigenvalue | early-stopped | n |",
                  "|---|---|---|---|---|---|---|---|"]
        tr = [r for r in rows if r["task"] == task]
        base = [r["test_metric"] for r in tr if r["variant"] == "random"]
        for v in [*VARIANTS, "random"]:
            rs = [r for r in tr if r["variant"] == v]
            if not rs:
                continue
            m = np.array([r["test_metric"] for r in rs])
            ratio = f"{m.mean() / np.mean(base):.3f}" if base else "-"
            ev = [r["eigenvalue_last"] for r in rs if r["eigenvalue_last"] is not None]
            evs = f"{np.mean(ev):.4f}" if ev else "-"
            es = sum(bool(r["stopped_early"]) for r in rs)
            lines.append(f"| {v} | {m.mean():.4f} ± {m.std(ddof=1) if len(m) > 1 else 0:.4f} | "
                         f"{ratio} | {np.mean([r['skip_fraction'] for r in rs]):.2f} | "
                         f"{np.mean([r['parameterless_fraction'] for r in rs]):.2f} | {evs} | "
                         f"{es}/{len(rs)} | {len(rs)} |")
    return "\n".join(lines)


def plot(rows: list[dict], folder: str, prefix: str = "darts") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for task in sorted({r["task"] for r in rows}):
        tr = [r for r in rows if r["task"] == task and r["history"]]
        fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
        colors = dict(zip(VARIANTS, ["C0", "C1", "C2", "C3"]))
        for r in tr:
            # warm-start epochs have uniform alphas (the genotype there is only a tie-break)
            hist = [h for h in r["history"] if h["phase"] == "search"]
            ep = [h["epoch"] for h in hist]
            kw = dict(color=colors[r["variant"]], alpha=0.8,
                      label=r["variant"] if r["seed"] == min(x["seed"] for x in tr) else None)
            axes[0].plot([h["epoch"] for h in r["history"]],
                         [h["eigenvalue"] for h in r["history"]], **kw)
            axes[1].plot(ep, [h["skip_fraction"] for h in hist], marker=".", **kw)
            axes[2].plot(ep, [h["parameterless_fraction"] for h in hist], marker=".", **kw)
        for ax, t in zip(axes, ["dominant eigenvalue of Hessian wrt alpha", "skip-connection fraction",
                                "parameterless-op fraction"]):
            ax.set_title(t, fontsize=9)
            ax.set_xlabel("epoch (warm-start included; fractions shown for search epochs)", fontsize=7)
        axes[0].legend(fontsize=7)
        fig.suptitle(f"DARTS on digits ({task}), per seed; epochs count the warm-start")
        fig.tight_layout()
        fig.savefig(f"{folder}/{prefix}_{task}_search.png", dpi=90)
        plt.close(fig)
    fig, axes = plt.subplots(1, len({r["task"] for r in rows}), figsize=(11, 3.8), squeeze=False)
    for ax, task in zip(axes[0], sorted({r["task"] for r in rows})):
        names = [v for v in [*VARIANTS, "random"] if any(r["variant"] == v and r["task"] == task
                                                          for r in rows)]
        vals = [[r["test_metric"] for r in rows if r["task"] == task and r["variant"] == v]
                for v in names]
        ax.boxplot(vals, tick_labels=names)
        for i, v in enumerate(vals):
            ax.scatter(np.full(len(v), i + 1), v, s=12, color="k", zorder=3)
        ax.set_title(f"{task}: " + ("test error" if task == "classification" else "test MAE/pixel"))
        ax.tick_params(axis="x", labelsize=7, rotation=20)
    fig.tight_layout()
    fig.savefig(f"{folder}/{prefix}_test_metric.png", dpi=90)
    plt.close(fig)


def run_hpo(args) -> dict:
    """The Auto-DispNet recipe on digits classification: DARTS, then BOHB on lr/wd/batch size."""
    from lowfi.nas.darts import nas_then_hpo

    data = digits_task("classification", seed=0)
    data["train"] = subset(data["train"], args.n_train)
    data["search_train"] = subset(data["search_train"], args.n_search)
    data["search_val"] = subset(data["search_val"], args.n_search)
    cfg = SearchConfig(epochs=args.epochs, warmstart_epochs=args.warmstart, batch_size=args.batch,
                       arch_lr=args.arch_lr, eigen_iters=args.eigen_iters,
                       eigen_batch=args.eigen_batch)
    t0 = time.perf_counter()
    res = nas_then_hpo("classification", data=data, search_config=cfg,
                       supernet_kwargs=dict(C=args.C, n_nodes=args.nodes, layers=args.layers),
                       min_budget=1, max_budget=args.hpo_max_budget, eta=3, seed=args.seeds[0])
    # the same genotype trained with the default hyperparameters, for the ratio
    net = build_seeded(res.genotype, "classification", args.seeds[0],
                       **res.search.model.network_kwargs())
    default = train_network(net, data["train"], int(args.hpo_max_budget), lr=0.05,
                            weight_decay=3e-4, batch_size=64, seed=args.seeds[0],
                            eval_sets={"test": data["test"]})
    out = {"optimizer": res.optimizer, "engine": res.engine, "best_config": res.best_config,
           "best_val_error": res.best_loss, "test_error_tuned": res.test_metric,
           "test_error_default_hparams": default["test_metric"], "n_evaluations": len(res.trials),
           "genotype": res.genotype.to_dict(), "seconds": time.perf_counter() - t0}
    print(json.dumps(out, indent=1))
    return out


def retrain(args, rows: list[dict]) -> list[dict]:
    """Train the genotypes of earlier rows again from scratch with ``--train-epochs``."""
    from lowfi.nas.darts import Genotype

    out = []
    for r in rows:
        task, seed = r["task"], r["seed"]
        data = digits_task(task, seed=0)
        data["train"] = subset(data["train"], args.n_train)
        g = Genotype.from_dict(r["genotype"])
        sizes = dict(C=args.C) if task == "dense" else dict(C=args.C, layers=args.layers)
        if task == "dense":
            sizes.update(n_levels=2, residual=args.residual)
        net = build_seeded(g, task, seed, **sizes)
        t0 = time.perf_counter()
        res = train_network(net, data["train"], args.train_epochs, lr=0.05, batch_size=64,
                            seed=seed, eval_sets={"test": data["test"]})
        out.append({**r, "test_metric": res["test_metric"], "train_epochs": args.train_epochs,
                    "train_seconds": time.perf_counter() - t0})
        print(f"{task:14s} seed {seed} {r['variant']:15s} retrained {args.train_epochs} epochs: "
              f"test {res['test_metric']:.4f}", flush=True)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tasks", nargs="+", default=["classification", "dense"])
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--variants", nargs="+", default=[*VARIANTS, "random"])
    p.add_argument("--C", type=int, default=4)
    p.add_argument("--nodes", type=int, default=2)
    p.add_argument("--layers", type=int, default=3)
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--warmstart", type=int, default=3)
    p.add_argument("--order", default="first")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--arch-lr", type=float, default=0.01)
    p.add_argument("--l2-factor", type=float, default=9.0)
    p.add_argument("--drop-path", type=float, default=0.2)
    p.add_argument("--cutout-prob", type=float, default=0.6,
                   help="largest Cutout probability of the darts+da variant")
    p.add_argument("--cutout-length", type=int, default=4, help="Cutout square side (pixels)")
    p.add_argument("--es-window", type=int, default=1)
    p.add_argument("--es-k", type=int, default=2)
    p.add_argument("--eigen-iters", type=int, default=8)
    p.add_argument("--eigen-batch", type=int, default=128)
    p.add_argument("--n-search", type=int, default=300)
    p.add_argument("--n-train", type=int, default=1097)
    p.add_argument("--train-epochs", type=int, default=10)
    p.add_argument("--out", default=None, help="write one JSON line per run here")
    p.add_argument("--plots", default=None, help="folder for the PNG plots")
    p.add_argument("--plot-prefix", default="darts", help="file name prefix of the plots")
    p.add_argument("--residual", action="store_true",
                   help="dense task: add the input to the network output")
    p.add_argument("--from-jsonl", nargs="+", default=None,
                   help="only summarize/plot earlier --out files")
    p.add_argument("--retrain", action="store_true",
                   help="with --from-jsonl: train those genotypes again for --train-epochs")
    p.add_argument("--hpo", action="store_true", help="run nas_then_hpo (DARTS, then BOHB) instead")
    p.add_argument("--hpo-max-budget", type=float, default=9)
    args = p.parse_args()
    torch.set_num_threads(1)
    if args.hpo:
        run_hpo(args)
        return
    if args.from_jsonl:
        rows = [json.loads(x) for f in args.from_jsonl for x in open(f)]
        if args.retrain:
            rows = retrain(args, rows)
            if args.out:
                with open(args.out, "w") as f:
                    for r in rows:
                        f.write(json.dumps(r) + "\n")
    else:
        rows = run(args)
        if args.out:
            with open(args.out, "w") as f:
                for r in rows:
                    f.write(json.dumps(r) + "\n")
    print(summarize(rows))
    if args.plots:
        plot(rows, args.plots, args.plot_prefix)


if __name__ == "__main__":
    main()
