"""Early termination that saves compute: stopping rules on replays of real curves and live.

Replays: for every kind of per-epoch curve shipped in ``lowfi/data/curves`` (its held-out
half, as split by ``benchmarks/curves_bench.py``), random search trains ``--configs``
configurations one after another (order drawn by the seed) to 60 epochs, with no rule or with
a stopping rule consulted after every epoch:

* ``domhan``: ``DomhanStopping(n_min=6, every=3, delta=0.05, bounds=(0, 1))`` with the default
  fast extrapolator;
* ``predictive-rung``: ``PredictiveRungStopping(min_step=6, eta=3, bounds=(0, 1))``;
* ``median``: ``MedianStopping(grace=6)``; ``rung``: ``RungStopping(min_step=6, eta=3)``;
* ``domhan:DELTA``: ``DomhanStopping`` with another threshold, ``domhan:DELTA:EVERY`` also with
  another check interval (``domhan:0.05:1`` checks after every epoch); ``domhan-mcmc`` with the
  MCMC extrapolator (checks every 6 epochs).

Reported per kind and rule, over ``--seeds`` seeds: epochs trained, how many times fewer than
without a rule, the best final validation error found and its difference to running every
configuration fully, against the noise of a validation error (binomial standard deviation
``sqrt(e (1 - e) / n_val)`` at the best error ``e``, at least ``1 / n_val``). "Within noise":
the mean difference is at most one such standard deviation; the target is at least 2x fewer
epochs (mean over seeds of the per-seed ratio) and within noise.

``--live`` also runs lowfi.minimize on a PyTorch MLP on digits (random search, 60 epochs),
without a rule and with each rule, and reports epochs trained and the best final error.

Run::

    nice -n 10 python benchmarks/curves_termination.py --seeds 10 --live \\
        --json benchmarks/data/curves_termination.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from curves_bench import kinds_of  # noqa: E402

import lowfi  # noqa: E402
from lowfi.core.history import History  # noqa: E402
from lowfi.curves import (  # noqa: E402
    DomhanStopping,
    MedianStopping,
    PredictiveRungStopping,
    RungStopping,
)
from lowfi.space import Space  # noqa: E402

RULES = ("none", "domhan", "predictive-rung", "median", "rung")
N_VAL = {"digits": 719, "breast_cancer": 228, "wine": 72, "synthetic": 600}


def make_rule(name: str, seed: int):
    if name.startswith("domhan:"):  # another delta (and check interval): domhan:0.2, domhan:0.05:1
        parts = name.split(":")
        every = float(parts[2]) if len(parts) > 2 else 3
        return DomhanStopping(n_min=6, every=every, delta=float(parts[1]),
                              bounds=(0.0, 1.0), seed=seed)
    if name == "domhan":
        return DomhanStopping(n_min=6, every=3, delta=0.05, bounds=(0.0, 1.0), seed=seed)
    if name == "domhan-mcmc":
        return DomhanStopping(n_min=6, every=6, delta=0.05, bounds=(0.0, 1.0), seed=seed,
                              method="mcmc")
    if name == "predictive-rung":
        return PredictiveRungStopping(min_step=6, eta=3, bounds=(0.0, 1.0))
    if name == "median":
        return MedianStopping(grace=6)
    if name == "rung":
        return RungStopping(min_step=6, eta=3)
    return None


def replay(curves: np.ndarray, n_configs: int, seed: int, rule_name: str) -> dict:
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(curves))[:n_configs]
    T = curves.shape[1]
    hist = History(Space({"i": (0.0, float(len(curves)))}))
    rule = make_rule(rule_name, seed)
    epochs, best, stopped = 0, np.inf, 0
    t0 = time.process_time()
    for j, idx in enumerate(order):
        trial = lowfi.Trial(j, {"i": float(idx)}, float(T), j)
        if rule is not None:
            trial._rule = rule.for_trial(trial, hist)
        hist.add_pending(trial)
        status = "ok"
        for s in range(1, T + 1):
            trial.report(s, float(curves[idx, s - 1]))
            epochs += 1
            if trial.should_stop():
                status = "stopped"
                break
        if status == "ok":
            best = min(best, float(curves[idx, -1]))
            res = lowfi.Result(float(curves[idx, -1]), curve=list(trial.curve))
        else:
            stopped += 1
            res = lowfi.Result(float(trial.curve[-1][1]), status="stopped",
                               info=trial._rule.describe(trial), curve=list(trial.curve))
        hist.finish(trial, res)
    return {"rule": rule_name, "seed": seed, "epochs": epochs, "best": best,
            "stopped": stopped, "cpu_s": time.process_time() - t0}


def summarize(kind: str, runs: list[dict]) -> list[dict]:
    base = {r["seed"]: r for r in runs if r["rule"] == "none"}
    n_val = N_VAL.get(kind.rsplit("-", 1)[-1], 719)
    out = []
    for rule in dict.fromkeys(r["rule"] for r in runs):
        rs = [r for r in runs if r["rule"] == rule]
        diff = np.array([r["best"] - base[r["seed"]]["best"] for r in rs])
        e = max(np.mean([base[r["seed"]]["best"] for r in rs]), 1.0 / n_val)
        out.append({
            "kind": kind, "rule": rule, "seeds": len(rs),
            "epochs": float(np.mean([r["epochs"] for r in rs])),
            "saving": float(np.mean([base[r["seed"]]["epochs"] / r["epochs"] for r in rs])),
            "best": float(np.mean([r["best"] for r in rs])),
            "diff_mean": float(diff.mean()), "diff_max": float(diff.max()),
            "same_best": int(np.sum(diff <= 1e-12)),
            "noise_sd": float(np.sqrt(max(e * (1 - e), 1e-12) / n_val)),
            "within_noise": bool(diff.mean() <= np.sqrt(max(e * (1 - e), 1e-12) / n_val)),
            "target": bool(np.mean([base[r["seed"]]["epochs"] / r["epochs"] for r in rs]) >= 2.0
                           and diff.mean() <= np.sqrt(max(e * (1 - e), 1e-12) / n_val)),
            "stopped": float(np.mean([r["stopped"] for r in rs])),
            "cpu_s": float(np.mean([r["cpu_s"] for r in rs])),
        })
    return out


def live(rules: list[str], n_configs: int, seed: int) -> list[dict]:
    """lowfi.minimize on a live PyTorch MLP (digits), each rule on the same configurations."""
    import torch
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    torch.set_num_threads(1)
    X, y = load_digits(return_X_y=True)
    Xtr, Xva, ytr, yva = train_test_split(X / 16.0, y, test_size=0.4, random_state=0,
                                          stratify=y)
    xt, yt = torch.tensor(Xtr, dtype=torch.float32), torch.tensor(ytr)
    xv, yv = torch.tensor(Xva, dtype=torch.float32), torch.tensor(yva)

    def objective(trial):
        c = trial.config
        torch.manual_seed(int(c["init_seed"]))
        model = torch.nn.Sequential(torch.nn.Linear(64, int(c["width"])), torch.nn.ReLU(),
                                    torch.nn.Linear(int(c["width"]), 10))
        opt = torch.optim.SGD(model.parameters(), lr=c["lr"], momentum=c["momentum"])
        bs = int(c["batch_size"])
        err = 1.0
        for epoch in range(1, int(trial.budget) + 1):
            perm = torch.randperm(len(xt))
            for b in range(0, len(xt), bs):
                idx = perm[b : b + bs]
                opt.zero_grad()
                torch.nn.functional.cross_entropy(model(xt[idx]), yt[idx]).backward()
                opt.step()
            with torch.no_grad():
                logits = model(xv)
                ok = torch.isfinite(logits).all(1)
                err = float(((logits.argmax(1) != yv) | ~ok).float().mean())
            trial.report(epoch, err)
            if trial.should_stop():
                break
        return err

    from ConfigSpace import ConfigurationSpace, Float, Integer

    space = ConfigurationSpace(seed=seed)
    space.add([Float("lr", (1e-3, 3.0), log=True), Float("momentum", (0.0, 0.95)),
               Integer("width", (8, 128), log=True), Integer("batch_size", (16, 256), log=True),
               Integer("init_seed", (0, 10_000))])
    out = []
    for rule in rules:
        opt = lowfi.optimizers.RandomSearch(space, max_budget=60, seed=seed)
        t0 = time.perf_counter()
        res = lowfi.minimize(objective, optimizer=opt, max_evaluations=n_configs,
                             progress=False, stopping=make_rule(rule, seed))
        df = res.trials
        ok = df[df["status"] == "ok"]
        out.append({"rule": rule, "configs": len(df),
                    "epochs": int(sum(len(c) for c in df["curve"])),
                    "stopped": int((df["status"] == "stopped").sum()),
                    "best": float(ok["loss"].min()), "wall_s": time.perf_counter() - t0})
        print(json.dumps(out[-1]), flush=True)
    return out


def markdown(rows: list[dict], live_rows: list[dict]) -> str:
    out = ["| kind | rule | seeds | epochs (mean) | x fewer epochs | best final (mean) "
           "| best - best without rule (mean; max) | same best | noise sd | within noise "
           "| >= 2x and within noise | stopped | rule CPU s/run |", "|---" * 13 + "|"]
    for r in rows:
        out.append(
            f"| {r['kind']} | {r['rule']} | {r['seeds']} | {r['epochs']:.0f} "
            f"| {r['saving']:.2f} | {r['best']:.4f} | {r['diff_mean']:+.4f}; {r['diff_max']:+.4f} "
            f"| {r['same_best']}/{r['seeds']} | {r['noise_sd']:.4f} "
            f"| {'yes' if r['within_noise'] else 'no'} | {'yes' if r['target'] else 'no'} "
            f"| {r['stopped']:.1f} "
            f"| {r['cpu_s']:.1f} |"
        )
    if live_rows:
        base = next(r for r in live_rows if r["rule"] == "none")
        out += ["", "| live PyTorch MLP, rule | configurations | epochs | x fewer epochs "
                "| stopped | best final error | wall s |", "|---" * 7 + "|"]
        for r in live_rows:
            out.append(f"| {r['rule']} | {r['configs']} | {r['epochs']} "
                       f"| {base['epochs'] / r['epochs']:.2f} | {r['stopped']} "
                       f"| {r['best']:.4f} | {r['wall_s']:.0f} |")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--configs", type=int, default=40)
    ap.add_argument("--rules", default=",".join(RULES))
    ap.add_argument("--kinds", default=None, help="comma-separated kinds (default: all epoch)")
    ap.add_argument("--split-seed", type=int, default=0)
    ap.add_argument("--live", action="store_true")
    ap.add_argument("--live-configs", type=int, default=30)
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args()
    rules = a.rules.split(",")
    bad = [r for r in rules if r not in RULES + ("domhan-mcmc",) and not r.startswith("domhan:")]
    if bad:
        ap.error(f"--rules: unknown {bad}; allowed are {', '.join(RULES)}, domhan-mcmc, "
                 "domhan:DELTA[:EVERY]")
    data = kinds_of(None, a.split_seed)
    kinds = a.kinds.split(",") if a.kinds else list(data)
    rows = []
    for kind in kinds:
        curves = np.array([v for _, v in data[kind]["test"]])
        runs = []
        for s in range(a.seeds):
            for rule in rules:
                runs.append(replay(curves, min(a.configs, len(curves)), s, rule))
        rows += summarize(kind, runs)
        for r in rows[-len(rules):]:
            print(json.dumps(r), flush=True)
    live_rows = live(rules, a.live_configs, 0) if a.live else []
    if a.json is not None:
        a.json.write_text(json.dumps({"replays": rows, "live": live_rows}, indent=1))
    print(markdown(rows, live_rows))


if __name__ == "__main__":
    main()
