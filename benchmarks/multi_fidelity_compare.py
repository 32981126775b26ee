"""Two fidelity dimensions against either one alone, at equal cost.

For each benchmark with two fidelities (``mf2-branin``, ``mlp-digits-2f``) and each optimizer
of :mod:`lowfi.optimizers.multi_fidelity`, three ways to use the fidelities:

- ``both``: the optimizer moves along both dimensions (Hyperband on the diagonal path; the GP
  chooses any grid point);
- ``epochs only``: the training-set fraction is fixed at its maximum;
- ``fraction only``: epochs are fixed at their maximum.

Optimizers: ``multi-hyperband`` (random configurations), ``multi-hyperband+kde`` (the same with
BOHB's KDE proposer, i.e. BOHB along the fidelity path) and ``multi-mfbo`` (augmented EI).

Each run asks and tells sequentially until the nominal cost it spent (``Result.cost``, 1.0 per
target-fidelity evaluation) reaches ``--cost``; the score is the loss of its incumbent
configuration at the target fidelity (for ``mf2-branin`` the noise-free Branin value minus the
optimum, i.e. simple regret; for the MLP the validation error at 27 epochs on all data).

    nice -n 10 .venv/bin/python benchmarks/multi_fidelity_compare.py --bench mf2-branin --seeds 10 --cost 30
    nice -n 10 .venv/bin/python benchmarks/multi_fidelity_compare.py --bench mlp-digits-2f --seeds 3 --cost 10
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from lowfi.benchmarks import get as get_bench
from lowfi.optimizers.bohb import KDEProposer
from lowfi.optimizers.multi_fidelity import MultiFidelityGP, PathHyperband

MODES = ("both", "epochs only", "fraction only")


def build(kind: str, mode: str, bench, seed: int, gp_kwargs: dict):
    fids = dict(bench.fidelities)
    if kind in ("multi-hyperband", "multi-hyperband+kde"):
        path = {"both": "diagonal", "epochs only": "epochs", "fraction only": "fraction"}[mode]
        proposer = KDEProposer() if kind == "multi-hyperband+kde" else None
        return PathHyperband(bench.space, bench.min_budget, bench.max_budget, bench.eta,
                             fidelities=fids, path=path, proposer=proposer, seed=seed)
    if mode == "epochs only":
        fids["fraction"] = (fids["fraction"][1],) * 2
    elif mode == "fraction only":
        fids["epochs"] = (fids["epochs"][1],) * 2
    return MultiFidelityGP(bench.space, bench.min_budget, bench.max_budget, fidelities=fids,
                           seed=seed, **gp_kwargs)


def run(bench, opt, cost_limit: float, max_trials: int) -> dict:
    spent, n, t0 = 0.0, 0, time.perf_counter()
    while spent < cost_limit and n < max_trials:
        trial = opt.ask()
        if trial is None:
            break
        res = bench.evaluate(trial.config, trial.budget, seed=0, fidelity=trial.info["fidelity"])
        opt.tell(trial, res)
        spent += res.cost
        n += 1
    inc = opt.incumbent()
    config = inc[0]
    if bench.optimum is not None:
        score = bench.test_loss(config) - bench.optimum
    else:  # measured loss of the incumbent configuration at the target fidelity
        score = bench.evaluate(config, bench.max_budget, seed=0,
                               fidelity={k: hi for k, (_, hi) in bench.fidelities.items()}).loss
    return {"score": float(score), "spent": spent, "trials": n,
            "seconds": time.perf_counter() - t0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bench", default="mf2-branin", choices=["mf2-branin", "mlp-digits-2f"])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--cost", type=float, default=30.0, help="target-fidelity evaluations' worth")
    ap.add_argument("--max-trials", type=int, default=150,
                    help="most trials of one multi-mfbo run (its GP fits grow with the data)")
    ap.add_argument("--optimizers", default="multi-hyperband,multi-mfbo")
    ap.add_argument("--modes", default=",".join(MODES), help="comma-separated subset of: "
                    + ", ".join(MODES))
    ap.add_argument("--json", default=None, help="also write the raw results here")
    args = ap.parse_args()
    bench = get_bench(args.bench)
    gp_kwargs = dict(n_levels=3, n_candidates=50)
    rows, raw = [], {}
    for kind in args.optimizers.split(","):
        for mode in args.modes.split(","):
            cap = args.max_trials if kind == "multi-mfbo" else 10**9
            out = [run(bench, build(kind, mode, bench, s, gp_kwargs), args.cost, cap)
                   for s in range(args.seeds)]
            raw[f"{kind}/{mode}"] = out
            sc = np.array([o["score"] for o in out])
            rows.append((kind, mode, float(np.mean(sc)), float(np.std(sc) / np.sqrt(len(sc))),
                         float(np.median(sc)), float(np.mean([o["spent"] for o in out])),
                         float(np.mean([o["trials"] for o in out])),
                         float(np.mean([o["seconds"] for o in out]))))
            print(*rows[-1], flush=True)
    label = "simple regret" if bench.optimum is not None else "validation error at target"
    print(f"\n{args.bench}: {args.seeds} seeds, cost {args.cost:g} target evaluations; "
          f"score = {label}\n")
    print(f"| optimizer | fidelities | mean {label} (± s.e.) | median | cost spent | trials | s per run |")
    print("|---|---|---|---|---|---|---|")
    for kind, mode, m, se, med, sp, nt, secs in rows:
        print(f"| {kind} | {mode} | {m:.4g} ± {se:.2g} | {med:.4g} | {sp:.1f} | {nt:.0f} | {secs:.1f} |")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(raw, fh, indent=1)


if __name__ == "__main__":
    main()
