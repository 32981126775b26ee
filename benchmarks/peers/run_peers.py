"""Side-by-side benchmark: peers (HpBandSter, Optuna, SMAC3, DEHB, Syne Tune) and lowfi's
optimizers on lowfi's benchmark problems, in one run, under the protocol of ANCHORS.md.

Protocol: every evaluation is charged its budget and nothing is reused between budgets (a
promoted configuration is evaluated again from scratch); a run stops once ``--budget`` x
max_budget has been charged; the incumbent is the lowest observed loss at max_budget (before
any, at the highest budget seen); normalized regret of its noise-free loss at 10x, 25x and
50x max_budget; overhead per evaluation = time between the end of one evaluation and the start
of the next (inside the optimizer; for peers it includes a pipe round trip of about 0.05 ms).
Sequential, one worker, one single-threaded process per run.

Peers are not lowfi dependencies: each runs in its own virtual environment (``--setup``
creates them under ``--venvs``; HpBandSter 0.7.4 needs ConfigSpace 0.6.x), through its public
API with its documented defaults (``driver.py``); the problem is evaluated here, in lowfi's
process, so every optimizer sees the same objective and the same accounting. Conditional
spaces reach every peer with their conditions, through the peer's own API (``describe`` and
``driver.py``). lowfi's optimizers run through ``lowfi.analysis.bench.run_one`` (the
``lowfi bench`` harness).

Usage::

    .venv/bin/python benchmarks/peers/run_peers.py --setup optuna,dehb          # make venvs
    nice -n 10 .venv/bin/python benchmarks/peers/run_peers.py \\
        --problems counting-ones-8-8,mf-branin,mf-hartmann6,nb201-cifar10 \\
        --optimizers auto,bohb,optuna-tpe-sh,optuna-tpe-hb,dehb --seeds 10 --out peers-out
    .venv/bin/python benchmarks/peers/run_peers.py --summarize peers-out
    .venv/bin/python benchmarks/peers/run_peers.py --summarize new-out \\
        --merge benchmarks/peers/summary.json          # add earlier runs' optimizers

A lowfi optimizer takes keyword arguments after a colon: ``auto:model=kde`` is the default
with BOHB's KDE as its model.

Results: ``OUT/<problem>__<optimizer>__<seed>.json`` (regret at 10x/25x/50x, overhead
median/mean, evaluations) and ``OUT/summary.json`` plus a Markdown table on stdout.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
MARKS = (10, 25, 50)

#: venv name -> pip requirements (pinned)
VENVS = {
    "optuna": ["optuna==5.0.0"],
    "dehb": ["dehb==0.1.2"],
    "hpbandster": ["numpy<2", "scipy<1.14", "statsmodels<0.15", "ConfigSpace==0.6.1", "hpbandster==0.7.4"],
    "smac": ["smac==2.4.1"],
    # 0.16 has ASHA, BOHB, ASHA-BORE and ASHA-CQR (no MOBSTER, Hyper-Tune or DyHPO); its
    # CQR searcher imports the blackbox repository, which needs huggingface_hub
    "synetune": ["syne-tune==0.16.0", "huggingface_hub==2.4.0"],
}
#: peer optimizer -> venv
PEER_VENV = {
    "optuna-tpe-sh": "optuna", "optuna-tpe-hb": "optuna", "dehb": "dehb",
    "hpbandster-bohb": "hpbandster", "hpbandster-hyperband": "hpbandster",
    "smac-mf-hyperband": "smac", "smac-hpo": "smac",
    "synetune-asha": "synetune", "synetune-bohb": "synetune", "synetune-asha-bore": "synetune",
    "synetune-asha-cqr": "synetune",
}


def setup(names: list[str], root: Path, python: str) -> None:
    for name in names:
        venv = root / name
        if (venv / ".ok").exists():
            continue
        subprocess.run([python, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", *VENVS[name]], check=True)
        (venv / ".ok").write_text("ok")
        print(f"venv {name}: ready", flush=True)


def describe(space) -> tuple[list[dict], list[dict]]:
    """The problem's space as plain JSON for the drivers: the hyperparameters (in ConfigSpace's
    order, parents before children) and the conditions, each ``{"child", "parent", "values"}``
    (the child is active when the parent is active and takes one of ``values``). Every peer
    gets the conditions through its own API (driver.py). Forbidden clauses and other kinds of
    conditions are not passed on."""
    from ConfigSpace.conditions import EqualsCondition, InCondition
    from ConfigSpace.hyperparameters import (
        CategoricalHyperparameter,
        Constant,
        FloatHyperparameter,
        IntegerHyperparameter,
        OrdinalHyperparameter,
    )

    from lowfi.space import Space

    sp = Space.from_any(space)
    if sp.cs.forbidden_clauses:
        raise ValueError("space: forbidden clauses are not passed to peers")
    out = []
    for hp in sp.hps:
        if isinstance(hp, Constant):
            out.append({"name": hp.name, "type": "cat", "choices": [hp.value]})
        elif isinstance(hp, CategoricalHyperparameter):
            out.append({"name": hp.name, "type": "cat", "choices": list(hp.choices)})
        elif isinstance(hp, OrdinalHyperparameter):
            out.append({"name": hp.name, "type": "ord", "choices": list(hp.sequence)})
        elif isinstance(hp, IntegerHyperparameter):
            out.append({"name": hp.name, "type": "int", "lower": int(hp.lower), "upper": int(hp.upper),
                        "log": bool(hp.log)})
        elif isinstance(hp, FloatHyperparameter):
            out.append({"name": hp.name, "type": "float", "lower": float(hp.lower),
                        "upper": float(hp.upper), "log": bool(hp.log)})
    conds = []
    for c in sp.cs.conditions:
        if isinstance(c, InCondition):
            values = list(c.values)
        elif isinstance(c, EqualsCondition):
            values = [c.value]
        else:
            raise ValueError(f"space: condition {c} ({type(c).__name__}) is not passed to peers; "
                             "allowed are EqualsCondition and InCondition")
        conds.append({"child": c.child.name, "parent": c.parent.name,
                      "values": [v if isinstance(v, (int, float)) else str(v) for v in values]})
    parents: dict[str, set] = {}
    for c in conds:
        parents.setdefault(c["child"], set()).add(c["parent"])
    ordered, placed = [], set()
    while len(ordered) < len(out):  # parents before children (define-by-run needs that order)
        ready = [h for h in out if h["name"] not in placed and parents.get(h["name"], set()) <= placed]
        if not ready:
            raise ValueError("space: cyclic conditions")
        ordered += ready
        placed |= {h["name"] for h in ready}
    return ordered, conds


def summarize_rows(rows: list[dict], max_budget: float, optimum, f_rand) -> dict:
    import pandas as pd

    from lowfi.analysis.trajectory import incumbent_trajectory

    df = pd.DataFrame(rows)
    tr = incumbent_trajectory(df, max_budget, optimum, f_rand)
    out = {}
    for k in MARKS:
        sel = tr[tr["cum_budget"] <= k * max_budget * (1 + 1e-9)]
        out[f"regret@{k}x"] = None if sel.empty or not np.isfinite(sel["regret"].iloc[-1]) \
            else float(sel["regret"].iloc[-1])
    oh = np.asarray([r.get("overhead", 0.0) for r in rows], dtype=float) * 1e3
    out.update({"overhead_median_ms": float(np.median(oh)) if len(oh) else None,
                "overhead_mean_ms": float(oh.mean()) if len(oh) else None,
                "evaluations": len(rows)})
    return out


def run_peer(peer: str, problem: str, seed: int, budget: float, root: Path) -> dict:
    from lowfi import benchmarks
    from lowfi.core.seeding import as_generator
    from lowfi.core.trial import Result

    b = benchmarks.get(problem)
    eta = float(getattr(b, "eta", 3) or 3)
    hps, conds = describe(b.space)
    p = {"space": hps, "conditions": conds, "min_budget": float(b.min_budget),
         "max_budget": float(b.max_budget), "eta": eta}
    py = root / PEER_VENV[peer] / "bin" / "python"
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PYTHONWARNINGS="ignore")
    proc = subprocess.Popen([str(py), str(HERE / "driver.py"), peer, str(seed)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
                            bufsize=1)
    proc.stdin.write(json.dumps(p) + "\n")
    proc.stdin.flush()
    eval_rng = as_generator(np.random.SeedSequence([int(seed), 7919]))
    total = budget * p["max_budget"]
    charged, rows, last = 0.0, [], time.perf_counter()
    while True:
        line = proc.stdout.readline()
        t_req = time.perf_counter()
        if not line:
            break
        msg = json.loads(line)
        if msg.get("done"):
            break
        if charged >= total * (1 - 1e-12):
            proc.stdin.write('{"stop": true}\n')
            proc.stdin.flush()
            break
        config, bud = msg["config"], float(msg["budget"])
        charged += bud
        res = Result.coerce(b.evaluate(config, bud, seed=int(eval_rng.integers(2**31 - 1))))
        loss = None if res.status == "failed" else float(res.loss if not isinstance(res.loss, tuple)
                                                         else res.loss[0])
        tl = b.test_loss(config)
        rows.append({"trial_id": len(rows), "budget": bud, "loss": loss, "status": res.status,
                     "test_loss": None if tl is None else float(tl), "overhead": t_req - last})
        proc.stdin.write(json.dumps({"loss": loss if loss is not None else 1e10}) + "\n")
        proc.stdin.flush()
        last = time.perf_counter()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
    if not rows:
        raise RuntimeError(f"{peer} on {problem}: no evaluations (is its venv set up?)")
    rows[0]["overhead"] = 0.0  # before the first evaluation: interpreter start and imports
    return summarize_rows(rows, p["max_budget"], b.optimum, getattr(b, "f_rand", None))


def lowfi_kwargs(name: str) -> tuple[str, dict]:
    """``"auto:model=kde,random_fraction=0.2"`` -> ``("auto", {"model": "kde", ...})``: a lowfi
    optimizer with keyword arguments (values read as int, float or bool where they parse, else
    kept as strings)."""
    base, _, rest = name.partition(":")
    kw: dict = {}
    for item in filter(None, rest.split(",")):
        key, eq, val = item.partition("=")
        if not eq or not key:
            raise ValueError(f"optimizer {name!r}: expected NAME:key=value[,key=value...]")
        try:
            kw[key] = json.loads(val)
        except json.JSONDecodeError:
            kw[key] = val
    return base, kw


def run_lowfi(name: str, problem: str, seed: int, budget: float) -> dict:
    from lowfi import benchmarks, optimizers
    from lowfi.analysis import bench

    b = benchmarks.get(problem)
    base, kw = lowfi_kwargs(name)
    orig = bench._make_optimizer

    def make(n, bm, s):  # the harness' own construction, plus the keyword arguments
        return optimizers.get(base, bm.space, min_budget=float(bm.min_budget),
                              max_budget=float(bm.max_budget), eta=float(getattr(bm, "eta", 3) or 3),
                              seed=s, **kw)

    bench._make_optimizer = make if kw else orig
    try:
        rows = bench.run_one(base, problem, seed, budget=budget, engine="own")
    finally:
        bench._make_optimizer = orig
    return summarize_rows(rows, float(b.max_budget), b.optimum, getattr(b, "f_rand", None))


def summarize(out: Path) -> dict:
    """Means and standard errors per problem, optimizer and checkpoint of the runs in ``out``
    (written to ``out/summary.json``), and their tables."""
    res: dict = {}
    for f in sorted(out.glob("*__*__*.json")):
        prob, opt, _ = f.stem.split("__")
        res.setdefault(prob, {}).setdefault(opt, []).append(json.loads(f.read_text()))
    summary: dict = {}
    for prob, opts in res.items():
        for opt, runs in opts.items():
            stats: dict = {}
            for k in MARKS:
                v = np.array([r[f"regret@{k}x"] for r in runs if r[f"regret@{k}x"] is not None], dtype=float)
                m = float(v.mean()) if len(v) else math.nan
                se = float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else math.nan
                stats[f"{k}x"] = (m, se)
            stats["overhead_ms"] = (float(np.median([r["overhead_median_ms"] for r in runs])),
                                    float(np.mean([r["overhead_mean_ms"] for r in runs])))
            stats["seeds"] = len(runs)
            summary.setdefault(prob, {})[opt] = stats
    print_summary(summary)
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    return summary


def merge(earlier: dict, now: dict) -> dict:
    """``earlier``'s summary with ``now``'s problems and optimizers added (``now`` wins where
    both have a problem's optimizer)."""
    out = {p: dict(o) for p, o in earlier.items()}
    for prob, opts in now.items():
        out.setdefault(prob, {}).update(opts)
    return out


def print_summary(summary: dict) -> None:
    """The per-problem tables of a summary (means ± standard errors), sorted by the 50x mean."""
    for prob, opts in summary.items():
        print(f"\n### {prob}\n\n| optimizer | seeds | @10x | @25x | @50x | "
              "overhead median / mean (ms) |\n|---|---|---|---|---|---|")
        for opt, st in sorted(opts.items(), key=lambda kv: kv[1]["50x"][0]):
            cells = " | ".join(f"{st[f'{k}x'][0]:.3g} ± {st[f'{k}x'][1]:.2g}" for k in MARKS)
            med, mean = st["overhead_ms"]
            print(f"| {opt} | {st['seeds']} | {cells} | {med:.3g} / {mean:.3g} |")


LOWFI_DEFAULT = "auto"


def targets(summary: dict, anchors_path: Path = HERE / "anchors.json") -> list[dict]:
    """The target check: lowfi's default against the best peer (this run's peers and the
    ANCHORS.md figures of peers not rerun) at 10x, 25x (target: at most the best peer) and 50x
    (target: at most 0.8 x the best peer)."""
    anchors = json.loads(anchors_path.read_text()) if anchors_path.exists() else {}
    rows = []
    for prob, opts in summary.items():
        if LOWFI_DEFAULT not in opts:
            continue
        for i, k in enumerate(MARKS):
            cands = [(opts[o][f"{k}x"][0], f"{o} (this run)") for o in opts if o in PEER_VENV
                     and math.isfinite(opts[o][f"{k}x"][0])]
            cands += [(v[i], f"{o} (ANCHORS.md)") for o, v in anchors.get(prob, {}).items()
                      if not o.startswith("_") and v[i] is not None]
            mine = opts[LOWFI_DEFAULT][f"{k}x"][0]
            factor = 0.8 if k == 50 else 1.0
            if not cands:
                rows.append({"problem": prob, "mark": f"{k}x", "default": mine, "best_peer": None,
                             "peer": None, "ratio": None, "met": None})
                continue
            best, who = min(cands)
            # a ratio only means something against a positive regret (the reference optimum
            # of a surrogate can be beaten: negative regret); ``gap`` is the distance to the
            # target in normalized regret (> 0: missed by that much)
            ratio = mine / best if best > 0 else None
            rows.append({"problem": prob, "mark": f"{k}x", "default": mine, "best_peer": best,
                         "peer": who, "ratio": ratio, "gap": mine - factor * best,
                         "met": mine <= factor * best + 1e-12})
    print("\n| problem | checkpoint | default | best peer | which | default / best peer | target | met |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        tgt = "<= 0.8x" if r["mark"] == "50x" else "<= 1x"
        if r["best_peer"] is None:
            print(f"| {r['problem']} | {r['mark']} | {r['default']:.3g} | no peer measured | | | {tgt} | - |")
            continue
        ratio = f"{r['ratio']:.2f}" if r["ratio"] is not None else f"n/a (target missed by {r['gap']:.3g})" \
            if not r["met"] else "n/a"
        print(f"| {r['problem']} | {r['mark']} | {r['default']:.3g} | {r['best_peer']:.3g} | {r['peer']} "
              f"| {ratio} | {tgt} | {'yes' if r['met'] else '**no**'} |")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--setup", default=None, help=f"comma list of venvs to create: {', '.join(VENVS)}")
    ap.add_argument("--venvs", default="/tmp/lowfi-peers", help="folder of the peers' venvs")
    ap.add_argument("--python", default="python3.11", help="interpreter for the peers' venvs")
    ap.add_argument("--problems", default="counting-ones-8-8,mf-branin,mf-hartmann6,nb201-cifar10")
    ap.add_argument("--optimizers", default="auto,bohb,optuna-tpe-sh,optuna-tpe-hb,dehb")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--budget", type=float, default=50)
    ap.add_argument("--out", default="peers-out")
    ap.add_argument("--summarize", default=None, help="only print the table of this folder")
    ap.add_argument("--merge", default=None,
                    help="with --summarize: a summary.json of earlier runs (e.g. "
                         "benchmarks/peers/summary.json) whose optimizers the folder lacks are "
                         "added; tables, target check and FOLDER/merged.json from both")
    args = ap.parse_args()
    root = Path(args.venvs)
    if args.setup:
        setup(args.setup.split(","), root, args.python)
        return
    if args.summarize:
        summary = summarize(Path(args.summarize))
        if args.merge:
            summary = merge(json.loads(Path(args.merge).read_text()), summary)
            print_summary(summary)
            (Path(args.summarize) / "merged.json").write_text(json.dumps(summary, indent=1))
        targets(summary)
        return
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for problem in args.problems.split(","):
        for opt in args.optimizers.split(","):
            for seed in range(args.seeds):
                f = out / f"{problem}__{opt}__{seed}.json"
                if f.exists():
                    continue
                t = time.time()
                try:
                    r = run_peer(opt, problem, seed, args.budget, root) if opt in PEER_VENV \
                        else run_lowfi(opt, problem, seed, args.budget)
                except Exception as exc:  # report and go on with the other runs
                    print(f"{problem} {opt} seed {seed}: FAILED {type(exc).__name__}: {exc}", flush=True)
                    continue
                r["seconds"] = time.time() - t
                f.write_text(json.dumps(r))
                print(f"{problem} {opt} seed {seed}: " + " ".join(
                    f"{k}={r[f'regret@{k}x']:.4g}" for k in MARKS if r[f"regret@{k}x"] is not None)
                    + f" ({r['evaluations']} evals, {r['seconds']:.0f}s)", flush=True)
    targets(summarize(out))


if __name__ == "__main__":
    main()
