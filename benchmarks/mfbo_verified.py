"""Verified incumbents of the multi-fidelity BO acquisitions (MFBO's ``verify_share`` rule).

Each run is a sequential ask/evaluate/tell loop on a synthetic multi-fidelity problem until the
cumulative cost reaches ``--budget`` full-budget evaluations. Printed per acquisition and seed:
evaluations, how many ran at ``max_budget`` (and how many of those were verifications), the
share of cost spent on verifications, and the regret of ``incumbent()`` (measured at
``max_budget``) and of ``recommend()`` (model-based).

    nice -n 10 python benchmarks/mfbo_verified.py --problem mf-branin --seeds 4242,4243 \
        --budget 15 --verify-share 0.2
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import lowfi.benchmarks as B  # noqa: E402
from lowfi.optimizers.mfbo import ACQUISITIONS, MFBO  # noqa: E402


def run(problem: str, acq: str, seed: int, budget: float, share: float) -> dict:
    b = B.get(problem)
    unit = float(b.cost_at(1.0)[0])
    opt = MFBO(b.space, b.min_budget, b.max_budget, b.eta, acquisition=acq, seed=seed,
               verify_share=share)
    spent = 0.0
    while spent < budget * unit:
        t = opt.ask()
        r = b.evaluate(t.config, t.budget)
        opt.tell(t, r)
        spent += r.cost
    recs = opt.history.records
    full = [r for r in recs if r.budget == b.max_budget]
    ver = [r for r in full if r.info.get("verification")]
    inc = opt.history.incumbent(b.max_budget)
    rec = opt.recommend()
    return dict(n=len(recs), full=len(full), verifications=len(ver),
                share=sum(r.cost for r in ver) / spent,
                inc_budget=inc.budget, inc_regret=b.test_loss(inc.config) - b.optimum,
                rec_regret=b.test_loss(rec[0]) - b.optimum)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problem", default="mf-branin")
    ap.add_argument("--seeds", default="4242,4243")
    ap.add_argument("--budget", type=float, default=15.0)
    ap.add_argument("--verify-share", type=float, default=0.2)
    ap.add_argument("--acquisitions", default=",".join(ACQUISITIONS))
    a = ap.parse_args(argv)
    print(f"{a.problem}, {a.budget:g} full-budget costs, verify_share={a.verify_share:g}")
    print(f"{'acquisition':12s} {'seed':>5s} {'evals':>5s} {'at max':>6s} {'verif.':>6s} "
          f"{'share':>6s} {'inc. budget':>11s} {'inc. regret':>11s} {'rec. regret':>11s}")
    for acq in a.acquisitions.split(","):
        for seed in (int(s) for s in a.seeds.split(",")):
            r = run(a.problem, acq, seed, a.budget, a.verify_share)
            print(f"{acq:12s} {seed:5d} {r['n']:5d} {r['full']:6d} {r['verifications']:6d} "
                  f"{r['share']:6.2f} {r['inc_budget']:11g} {r['inc_regret']:11.4f} "
                  f"{r['rec_regret']:11.4f}", flush=True)


if __name__ == "__main__":
    main()
