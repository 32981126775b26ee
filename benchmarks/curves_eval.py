"""Evaluate lowfi.curves on real learning curves.

1. Extrapolation: for cut-offs at 10%, 20% and 40% of each curve, predict the final value
   with Domhan et al.'s MCMC ensemble (and Baker's nu-SVR and the window random forest,
   trained on the other curves, 4 folds) and compare with the last-seen-value baseline:
   mean absolute error, mean log-likelihood of the true final value, seconds per fit.
   The baseline's likelihood uses a Gaussian centred on the last value with the spread of
   (final - last) over all curves at that cut-off (a generous, data-fitted baseline).
2. Termination: random configurations trained one after another to the full budget, with
   and without early termination (Domhan; Baker; the model-free median and rung rules):
   epochs spent and final best.

Curves come from ``benchmarks/curves_data.py`` (cached under benchmarks/data/).

Run::

    nice -n 10 python benchmarks/curves_data.py            # once, records the curves
    nice -n 10 python benchmarks/curves_eval.py --out docs/img
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from curves_data import load  # noqa: E402

import lowfi  # noqa: E402
from lowfi.core.history import History  # noqa: E402
from lowfi.curves import (  # noqa: E402
    BakerRegressor,
    BakerStopping,
    DomhanExtrapolator,
    DomhanStopping,
    MedianStopping,
    RungStopping,
)
from lowfi.curves.next_value import WindowForest  # noqa: E402
from lowfi.curves.plot import plot_extrapolation  # noqa: E402
from lowfi.space import Space  # noqa: E402

CUTS = (0.1, 0.2, 0.4)
BOUNDS = (0.0, 1.0)  # validation error rates


def gauss_ll(y, mu, sd):
    sd = np.maximum(sd, 1e-9)
    return -0.5 * ((y - mu) / sd) ** 2 - np.log(sd) - 0.5 * np.log(2 * np.pi)


def extrapolation(name: str, data: dict, n_curves: int, seed: int, plot_dir: Path | None):
    C = data["curves"][:n_curves].astype(float)
    X = data["X"][:n_curves].astype(float)
    n, T = C.shape
    steps = np.arange(1, T + 1, dtype=float)
    folds = np.arange(n) % 4
    rows = []
    for cut in CUTS:
        c = max(3, int(round(cut * T)))
        final, last = C[:, -1], C[:, c - 1]
        res = {"domhan": ([], [], []), "baker": ([], [], []), "forest": ([], [], [])}
        cpu = []
        spread = np.std(final - last)
        base_ll = gauss_ll(final, last, spread)
        for i in range(n):
            t0, c0 = time.perf_counter(), time.process_time()
            ext = DomhanExtrapolator(bounds=BOUNDS, seed=seed + i)
            p = ext.fit(steps[:c], C[i, :c], horizon=T).predict(float(T))
            dt = time.perf_counter() - t0
            cpu.append(time.process_time() - c0)
            res["domhan"][0].append(abs(p.mean - final[i]))
            res["domhan"][1].append(p.log_likelihood(final[i]))
            res["domhan"][2].append(dt)
            if plot_dir is not None and i == 0 and cut == 0.2:
                full = ext.predict(steps)
                plot_extrapolation(
                    steps[:c],
                    C[i, :c],
                    full,
                    plot_dir / f"curves_{name}_example.png",
                    truth=(steps, C[i]),
                    title=f"{name}: curve 0, 20% observed (Domhan ensemble)",
                )
        for k in range(4):
            tr, te = folds != k, folds == k
            t0 = time.perf_counter()
            m = BakerRegressor(seed=seed).fit(X[tr], C[tr, :c], final[tr])
            mu, sd = m.predict(X[te], C[te, :c])
            dt = (time.perf_counter() - t0) / te.sum()
            res["baker"][0].extend(np.abs(mu - final[te]))
            res["baker"][1].extend(gauss_ll(final[te], mu, sd))
            res["baker"][2].extend([dt] * int(te.sum()))
            t0 = time.perf_counter()
            f = WindowForest(window=min(5, c), n_estimators=30, seed=seed).fit(list(C[tr]))
            for i in np.flatnonzero(te):
                p = f.predict(C[i, :c], horizon=T - c)
                res["forest"][0].append(abs(p.mean[-1] - final[i]))
                res["forest"][1].append(p.log_likelihood(final[i])[-1])
            res["forest"][2].extend([(time.perf_counter() - t0) / te.sum()] * int(te.sum()))
        row = {
            "data": name,
            "cut": cut,
            "points": c,
            "n": n,
            "last_mae": float(np.mean(np.abs(last - final))),
            "last_ll": float(np.mean(base_ll)),
            "last_ll_median": float(np.median(base_ll)),
        }
        for k, (mae, ll, dt) in res.items():
            row[f"{k}_mae"] = float(np.mean(mae))
            row[f"{k}_ll"] = float(np.mean(ll))
            row[f"{k}_ll_median"] = float(np.median(ll))
            row[f"{k}_sec"] = float(np.mean(dt))
        row["domhan_sec_median"] = float(np.median(res["domhan"][2]))
        row["domhan_cpu_sec"] = float(np.mean(cpu))
        row["domhan_cpu_sec_max"] = float(np.max(cpu))
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


def termination(
    name: str, data: dict, n_configs: int, seed: int, rule_name: str | None, n_min: int, every: int
):
    C = data["curves"].astype(float)
    X = data["X"].astype(float)
    names = [str(s) for s in data["names"]]
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(C))[:n_configs]
    T = C.shape[1]
    lo, hi = X.min(axis=0), X.max(axis=0)
    space = Space({nm: (float(a), float(b) + 1e-9) for nm, a, b in zip(names, lo, hi, strict=True)})
    hist = History(space)
    if rule_name == "domhan":
        rule = DomhanStopping(n_min=n_min, every=every, delta=0.05, bounds=BOUNDS, seed=seed,
                              method="mcmc")
    elif rule_name == "baker":
        rule = BakerStopping(n_min=n_min, every=every, delta=0.05, min_train=10, seed=seed)
    elif rule_name == "median":
        rule = MedianStopping(grace=n_min, min_trials=3)
    elif rule_name == "rung":
        rule = RungStopping(min_step=n_min, eta=3)
    else:
        rule = None
    epochs, best, n_stopped, wrong = 0, np.inf, 0, 0
    trace = []
    t0 = time.perf_counter()
    for j, idx in enumerate(order):
        cfg = {nm: float(v) for nm, v in zip(names, X[idx], strict=True)}
        trial = lowfi.Trial(j, cfg, float(T), j)
        if rule is not None:
            trial._rule = rule.for_trial(trial, hist)
        status = "ok"
        for s in range(1, T + 1):
            trial.report(s, float(C[idx, s - 1]))
            epochs += 1
            if trial.should_stop():
                status = "stopped"
                break
        if status == "ok":
            best = min(best, C[idx, -1])
            res = lowfi.Result(float(C[idx, -1]), curve=list(trial.curve))
            if rule_name == "baker":
                rule.add_curve(cfg, trial.curve)
        else:
            n_stopped += 1
            wrong += int(C[idx, -1] < best)  # it would have become the incumbent
            res = lowfi.Result(
                float(trial.curve[-1][1]), status="stopped", info=trial._rule.describe(trial)
            )
        hist.finish(trial, res)
        trace.append((epochs, float(best)))
    return {
        "data": name,
        "rule": rule_name or "none",
        "configs": n_configs,
        "epochs": epochs,
        "best": float(best),
        "stopped": n_stopped,
        "wrongly_stopped": wrong,
        "seconds": time.perf_counter() - t0,
        "trace": trace,
    }


def plot_termination(runs: list[dict], path: Path) -> None:
    """Best final error so far against epochs spent, first seed of each data set and rule."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = sorted({r["data"] for r in runs})
    fig, axes = plt.subplots(1, len(names), figsize=(5 * len(names), 3.6), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        seed0 = min(r["seed"] for r in runs if r["data"] == name)
        for r in runs:
            if r["data"] == name and r["seed"] == seed0:
                e, b = np.array(r["trace"]).T
                ax.step(e, b, where="post", label=f"{r['rule']} ({int(e[-1])} epochs)")
        ax.set_xlabel("epochs spent")
        ax.set_ylabel("best final validation error")
        ax.set_yscale("log")
        ax.set_title(f"{name}: sequential random search")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def markdown(out: dict) -> str:
    """Markdown tables of an evaluation result (as written to --json)."""
    lines = []
    if out.get("extrapolation"):
        lines += [
            "| data | cut-off | points | MAE last value | MAE Domhan | MAE Baker | MAE forest "
            "| mean LL last value | mean LL Domhan | median LL last / Domhan "
            "| Domhan s/fit wall (median) | Domhan CPU s/fit (mean, max) |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in out["extrapolation"]:
            lines.append(
                f"| {r['data']} | {int(r['cut'] * 100)}% | {r['points']} | {r['last_mae']:.4f} "
                f"| **{r['domhan_mae']:.4f}** | {r['baker_mae']:.4f} | {r['forest_mae']:.4f} "
                f"| {r['last_ll']:.2f} | {r['domhan_ll']:.3g} "
                f"| {r['last_ll_median']:.2f} / {r['domhan_ll_median']:.2f} "
                f"| {r['domhan_sec_median']:.2f} | {r['domhan_cpu_sec']:.2f}, "
                f"{r['domhan_cpu_sec_max']:.2f} |"
            )
        lines += ["", "| data | cut-off | mean LL Baker | mean LL forest |", "|---|---|---|---|"]
        for r in out["extrapolation"]:
            lines.append(
                f"| {r['data']} | {int(r['cut'] * 100)}% | {r['baker_ll']:.2f} "
                f"| {r['forest_ll']:.3g} |"
            )
    if out.get("termination"):
        lines += [
            "",
            "| data | rule | seed | epochs | epochs saved (x) | final best "
            "| same best as no rule | stopped | s (wall) |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        base = {(r["data"], r["seed"]): r for r in out["termination"] if r["rule"] == "none"}
        for r in out["termination"]:
            b = base[(r["data"], r["seed"])]
            lines.append(
                f"| {r['data']} | {r['rule']} | {r['seed']} | {r['epochs']} "
                f"| {b['epochs'] / r['epochs']:.2f} | {r['best']:.4f} "
                f"| {'yes' if r['best'] <= b['best'] + 1e-12 else 'no'} | {r['stopped']} "
                f"| {r['seconds']:.1f} |"
            )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-mlp", type=int, default=32)
    ap.add_argument("--n-lcbench", type=int, default=40)
    ap.add_argument("--term-configs", type=int, default=40)
    ap.add_argument("--term-seeds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None, help="folder for PNG plots")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--skip-extrapolation", action="store_true")
    ap.add_argument("--only", choices=["mlp-digits", "lcbench-3945"], default=None)
    ap.add_argument("--skip-termination", action="store_true")
    ap.add_argument("--rules", default="none,domhan,baker,median,rung",
                    help="termination rules to compare (comma-separated; 'none' = no rule)")
    ap.add_argument(
        "--from-json",
        type=Path,
        nargs="+",
        default=None,
        help="only print the markdown tables of earlier --json results (merged)",
    )
    a = ap.parse_args()
    a.rules = [None if r == "none" else r for r in a.rules.split(",")]
    unknown = [r for r in a.rules if r not in (None, "domhan", "baker", "median", "rung")]
    if unknown:
        ap.error(f"--rules: unknown {unknown}; allowed are none, domhan, baker, median, rung")
    if a.from_json is not None:
        merged = {"extrapolation": [], "termination": []}
        for f in a.from_json:
            for k, v in json.loads(f.read_text()).items():
                merged[k] += v
        print(markdown(merged))
        return
    if a.out is not None:
        a.out.mkdir(parents=True, exist_ok=True)
    sets = {
        "mlp-digits": (lambda: load("mlp"), a.n_mlp, 10, 10),
        "lcbench-3945": (lambda: load("lcbench"), a.n_lcbench, 5, 5),
    }
    if a.only is not None:
        sets = {a.only: sets[a.only]}
    out = {"extrapolation": [], "termination": []}
    if not a.skip_extrapolation:
        for name, (data, n, _, _) in sets.items():
            out["extrapolation"] += extrapolation(name, data(), n, a.seed, a.out)
    for name, (data, _, n_min, every) in sets.items():
        if a.skip_termination:
            break
        data = data()
        n_cfg = min(a.term_configs, len(data["curves"]))
        for s in range(a.term_seeds):
            for rule in a.rules:
                r = termination(name, data, n_cfg, a.seed + s, rule, n_min, every)
                r["seed"] = a.seed + s
                print(json.dumps({k: v for k, v in r.items() if k != "trace"}), flush=True)
                out["termination"].append(r)
    if a.out is not None and out["termination"]:
        plot_termination(out["termination"], a.out / "curves_termination.png")
    if a.json is not None:
        a.json.write_text(json.dumps(out, indent=1))
    print(markdown(out))


if __name__ == "__main__":
    main()
