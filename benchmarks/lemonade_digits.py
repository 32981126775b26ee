"""LEMONADE vs random search on scikit-learn digits (error vs. number of parameters).

Both methods search the same MLP family on the 64-pixel digits vectors (hidden Linear layers
with ReLU, optional BatchNorm and skip connections, at most ``--max-params`` parameters) and
get the same compute budget per seed, measured as CPU seconds of training (one torch thread,
``time.process_time``; less sensitive to other processes than wall time). Training is Adam with
a cosine-annealed learning rate for both. Random search trains every network from scratch for
``--rs-epochs``; LEMONADE trains its initial networks
for ``--rs-epochs`` and every accepted child for ``--child-epochs`` starting from the weights
inherited through network morphisms. Objectives: validation error and log10(parameters);
hypervolume with reference point (1.0, log10(max_params) + 0.1), on validation error (what
the search saw) and on test error of the final fronts' networks.

Run (results in docs/benchmarks/lemonade.md)::

    nice -n 10 python benchmarks/lemonade_digits.py --seeds 5 --budget 60
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits

from lowfi.analysis.pareto import hypervolume, pareto_mask
from lowfi.nas import morphisms as M
from lowfi.nas.network import Network
from lowfi.optimizers.lemonade import LEMONADE, run_lemonade

ROOT = Path(__file__).resolve().parents[1]
#: random-search widths: 2..128, roughly log-uniform (LEMONADE reaches any width by morphisms)
WIDTHS = tuple(sorted({int(round(2 ** u)) for u in np.linspace(1, 7, 25)}))


def data(seed: int = 0):
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    perm = np.random.default_rng(seed).permutation(len(X))
    tr, va, te = perm[:1000], perm[1000:1400], perm[1400:]
    return X[tr], y[tr], X[va], y[va], X[te], y[te]


def objectives(err: float, n_params: float) -> list[float]:
    return [float(err), math.log10(n_params)]


def hv(points, ref) -> float:
    return hypervolume(np.asarray(points, dtype=float).reshape(-1, 2), ref) if len(points) else 0.0


def run_random(seed, budget, args, D):
    Xtr, ytr, Xva, yva, Xte, yte = D
    rng = np.random.default_rng(seed)
    spent, evals = 0.0, []
    while spent < budget:
        desc = M.random_description("mlp", rng, depth=(1, 3), widths=WIDTHS, skip_prob=0.3)
        if M.count_params(desc) > args.max_params:
            continue
        t0 = time.process_time()
        net = Network(desc, seed=rng)
        net.fit(Xtr, ytr, epochs=args.rs_epochs, lr=args.lr, schedule="cosine", seed=rng)
        err = net.error(Xva, yva)
        spent += time.process_time() - t0
        evals.append({"obj": objectives(err, net.n_params), "cost": spent, "net": net})
    return evals


def run_lemo(seed, budget, args, D):
    Xtr, ytr, Xva, yva, Xte, yte = D
    rng = np.random.default_rng(seed + 1000)
    evals = []
    clock = {"spent": 0.0}

    def train(net, epochs):
        t0 = time.process_time()
        child = net.morph_info is not None
        net.fit(Xtr, ytr, epochs=epochs, lr=args.child_lr if child else args.lr,
                schedule="cosine", seed=rng)
        err = net.error(Xva, yva)
        clock["spent"] += time.process_time() - t0
        from lowfi import Result

        return Result(loss=(err, float(net.n_params)), cost=time.process_time() - t0)

    def callback(trial, result, net):
        evals.append({"obj": objectives(result.loss[0], net.n_params), "cost": clock["spent"],
                      "generation": trial.config["generation"], "trial": trial.id})

    opt = LEMONADE(n_init=args.n_init, kind="mlp", n_children=args.n_children,
                   n_accept=args.n_accept, max_budget=args.child_epochs,
                   init_budget=args.rs_epochs, max_params=args.max_params,
                   morph_kwargs={"noise": 0.01}, seed=seed)
    res = run_lemonade(train, optimizer=opt, max_cost=budget, callback=callback)
    for e in evals:
        e["net"] = res.networks.get(e["trial"])
    return evals, opt


def front_points(evals, key="obj"):
    F = np.array([e[key] for e in evals])
    return F[pareto_mask(F)]


def test_front(evals, D):
    """Test-set objectives of the networks on the final validation front."""
    Xte, yte = D[4], D[5]
    F = np.array([e["obj"] for e in evals])
    keep = pareto_mask(F)
    pts = [objectives(e["net"].error(Xte, yte), e["net"].n_params)
           for e, k in zip(evals, keep, strict=True) if k and e.get("net") is not None]
    return np.array(pts).reshape(-1, 2)


def hv_curve(evals, ref, grid):
    costs = np.array([e["cost"] for e in evals])
    F = np.array([e["obj"] for e in evals])
    return [hv(F[costs <= g], ref) for g in grid]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--budget", type=float, default=60.0, help="CPU seconds per method per seed")
    ap.add_argument("--rs-epochs", type=float, default=10.0)
    ap.add_argument("--child-epochs", type=float, default=3.0)
    ap.add_argument("--lr", type=float, default=1e-2)
    ap.add_argument("--child-lr", type=float, default=3e-3,
                    help="Adam learning rate when a child resumes from inherited weights")
    ap.add_argument("--n-init", type=int, default=4)
    ap.add_argument("--n-children", type=int, default=32)
    ap.add_argument("--n-accept", type=int, default=4)
    ap.add_argument("--max-params", type=int, default=50_000)
    ap.add_argument("--out", default=str(ROOT / "docs" / "img"))
    ap.add_argument("--json", default=None, help="write raw numbers here")
    args = ap.parse_args()
    torch.set_num_threads(1)
    D = data(0)
    ref = [1.0, math.log10(args.max_params) + 0.1]
    ref10 = [0.1, ref[1]]  # only the accurate part of the front (error < 10 %)
    grid = np.linspace(0, args.budget, 31)[1:]
    rows, curves, fronts, lemo_hist = [], {"random": [], "lemonade": []}, [], None
    wall0 = time.time()
    for seed in range(args.seeds):
        t0 = time.time()
        rs = run_random(seed, args.budget, args, D)
        t1 = time.time()
        le, opt = run_lemo(seed, args.budget, args, D)
        t2 = time.time()
        row = {"seed": seed, "rs_evals": len(rs), "le_evals": len(le),
               "le_generations": opt.generation - 1,
               "rs_hv_val": hv(front_points(rs), ref), "le_hv_val": hv(front_points(le), ref),
               "rs_hv_test": hv(test_front(rs, D), ref), "le_hv_test": hv(test_front(le, D), ref),
               "rs_hv10_val": hv(front_points(rs), ref10), "le_hv10_val": hv(front_points(le), ref10),
               "rs_front": front_points(rs).tolist(), "le_front": front_points(le).tolist(),
               "rs_best_val": min(e["obj"][0] for e in rs), "le_best_val": min(e["obj"][0] for e in le),
               "rs_wall": t1 - t0, "le_wall": t2 - t1}
        rows.append(row)
        curves["random"].append(hv_curve(rs, ref, grid))
        curves["lemonade"].append(hv_curve(le, ref, grid))
        fronts.append((front_points(rs), front_points(le)))
        if seed == 0:
            lemo_hist = [h[:, :2].copy() for h in opt.front_history]
            for h in lemo_hist:
                h[:, 1] = np.log10(h[:, 1])
        print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()
                          if not k.endswith("front")}), flush=True)
    total_wall = time.time() - wall0

    keys = ["rs_hv_val", "le_hv_val", "rs_hv_test", "le_hv_test", "rs_hv10_val", "le_hv10_val",
            "rs_evals", "le_evals",
            "le_generations", "rs_best_val", "le_best_val"]
    summary = {k: (float(np.mean([r[k] for r in rows])), float(np.std([r[k] for r in rows])))
               for k in keys}
    wins_val = sum(r["le_hv_val"] > r["rs_hv_val"] for r in rows)
    wins_test = sum(r["le_hv_test"] > r["rs_hv_test"] for r in rows)
    print("\nmean ± std over", args.seeds, "seeds (budget", args.budget, "CPU s per method per seed)")
    for k in keys:
        print(f"  {k:15s} {summary[k][0]:.4f} ± {summary[k][1]:.4f}")
    print(f"  HV ratio LEMONADE / random (val)  {summary['le_hv_val'][0] / summary['rs_hv_val'][0]:.3f}"
          f"   wins {wins_val}/{args.seeds}")
    print(f"  HV ratio LEMONADE / random (test) {summary['le_hv_test'][0] / summary['rs_hv_test'][0]:.3f}"
          f"   wins {wins_test}/{args.seeds}")
    wins10 = sum(r["le_hv10_val"] > r["rs_hv10_val"] for r in rows)
    print(f"  HV ratio LEMONADE / random (val, error<0.1) "
          f"{summary['le_hv10_val'][0] / summary['rs_hv10_val'][0]:.3f}   wins {wins10}/{args.seeds}")
    print(f"  wall time {total_wall:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "summary": summary,
                                               "args": vars(args)}, indent=1))
    plot(args, fronts, lemo_hist, curves, grid, ref)


def plot(args, fronts, lemo_hist, curves, grid, ref) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    def stairs(ax, F, **kw):
        F = F[np.argsort(F[:, 1])]
        ax.step(F[:, 1], F[:, 0], where="post", **kw)
        ax.plot(F[:, 1], F[:, 0], "o", ms=3, color=kw.get("color"))

    fig, ax = plt.subplots(figsize=(6, 4))
    for s, (rs, le) in enumerate(fronts):
        stairs(ax, rs, color="tab:gray", alpha=0.7, label="random search" if s == 0 else None)
        stairs(ax, le, color="tab:red", alpha=0.7, label="LEMONADE" if s == 0 else None)
    ax.set_xlabel("log10(parameters)")
    ax.set_ylabel("validation error")
    ax.set_title(f"Final Pareto fronts, digits MLP, {len(fronts)} seeds, {args.budget:.0f} CPU s")
    ax.set_ylim(0, 0.25)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "lemonade_fronts.png", dpi=120)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 4))
    cmap = plt.get_cmap("viridis")
    n = len(lemo_hist)
    show = sorted(set(np.linspace(0, n - 1, min(n, 8)).round().astype(int)))
    for g in show:
        stairs(ax, lemo_hist[g], color=cmap(g / max(1, n - 1)), label=f"generation {g}")
    ax.set_xlabel("log10(parameters)")
    ax.set_ylabel("validation error")
    ax.set_title("LEMONADE population (Pareto front) over generations, seed 0")
    ax.set_ylim(0, 0.5)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "lemonade_evolution.png", dpi=120)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, color in (("random", "tab:gray"), ("lemonade", "tab:red")):
        C = np.array(curves[name])
        ax.plot(grid, C.mean(0), color=color, label=name)
        ax.fill_between(grid, C.min(0), C.max(0), color=color, alpha=0.2)
    ax.set_xlabel("training CPU seconds")
    ax.set_ylabel("hypervolume (val error, log10 params)")
    ax.set_title("Hypervolume vs compute (mean, min-max over seeds)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "lemonade_hypervolume.png", dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
