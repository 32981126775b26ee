"""The reference: HpBandSter 0.7.4's BOHB on Counting Ones 8+8, under lowfi's protocol.

Runs the BOHB reference implementation itself (not lowfi) on the problem and the accounting of
``benchmarks/bohb_counting_ones.py`` (shared/ANCHORS.md): every evaluation charged its budget,
the regret at K x max_budget counts only evaluations that fit into it, incumbent = lowest
observed loss at max_budget (before any, at the highest budget seen), normalized regret with
the noise-free test loss. One in-process worker per run, sequential, on a local Pyro4 name
server (127.0.0.1; no network). ``n_iterations`` counts brackets: 16 brackets are 68 x
max_budget, past the 50x mark.

HpBandSter 0.7.4 needs the ConfigSpace API of its time and does not import lowfi, so it runs in
its own environment (ConfigSpace 1.x, lowfi's, hangs in HpBandSter's sampler):

    python3.11 -m venv /tmp/hpb && /tmp/hpb/bin/pip install "numpy<2" "scipy<1.14" \\
        "statsmodels<0.15" "ConfigSpace==0.6.1" hpbandster==0.7.4
    /tmp/hpb/bin/python -W ignore benchmarks/hpbandster_counting_ones.py --seeds 100

Prints one line per seed, then mean ± standard error and median at 10x, 25x and 50x. Runs are
not bit-reproducible even with the seeds set (HpBandSter's dispatcher and worker threads).
"""

from __future__ import annotations

import argparse
import logging

import numpy as np

N_CAT, N_CONT = 8, 8
D = N_CAT + N_CONT
MIN_B, MAX_B, ETA = 9, 729, 3
MARKS = (10, 25, 50)


def space(seed: int):
    import ConfigSpace as CS

    cs = CS.ConfigurationSpace(seed=seed)
    for i in range(N_CAT):
        cs.add_hyperparameter(CS.CategoricalHyperparameter(f"cat_{i}", ["0", "1"]))
    for i in range(N_CONT):
        cs.add_hyperparameter(CS.UniformFloatHyperparameter(f"float_{i}", lower=0, upper=1))
    return cs


def make_worker_class():
    from hpbandster.core.worker import Worker

    class CountingOnes(Worker):
        """Training loss: -(sum of categoricals + means of `budget` Bernoulli draws per float)."""

        def __init__(self, *args, rng=None, log=None, **kwargs):
            super().__init__(*args, **kwargs)
            self.rng, self.log = rng, log

        def compute(self, config, budget, **kwargs):
            cats = sum(int(config[f"cat_{i}"]) for i in range(N_CAT))
            conts = sum(self.rng.binomial(1, config[f"float_{i}"], int(budget)).mean()
                        for i in range(N_CONT))
            test = -(cats + sum(float(config[f"float_{i}"]) for i in range(N_CONT)))
            self.log.append((float(budget), float(-(cats + conts)), float(test)))
            return {"loss": float(-(cats + conts)), "info": {}}

    return CountingOnes


def score(log: list[tuple[float, float, float]]) -> dict[int, float]:
    """Normalized regret at each mark, from the evaluations in the order they ran."""
    marks: dict[int, float] = {}
    spent, best_at = 0.0, {}
    for budget, loss, test in log:
        for m in MARKS:
            if m not in marks and spent + budget > m * MAX_B + 1e-9:
                marks[m] = (best_at[max(best_at)][1] + D) / (D / 2) if best_at else 1.0
        spent += budget
        if budget not in best_at or loss < best_at[budget][0]:
            best_at[budget] = (loss, test)
    return marks


def run(seed: int, port: int, n_brackets: int = 16) -> dict[int, float]:
    import hpbandster.core.nameserver as hpns
    from hpbandster.optimizers import BOHB

    np.random.seed(seed)  # noqa: NPY002 - HpBandSter samples through the global generator
    log: list = []
    run_id = f"co{seed}"
    ns = hpns.NameServer(run_id=run_id, host="127.0.0.1", port=port)
    ns.start()
    worker = make_worker_class()(run_id=run_id, nameserver="127.0.0.1", nameserver_port=port,
                                 rng=np.random.default_rng(seed), log=log)
    worker.run(background=True)
    opt = BOHB(configspace=space(seed), run_id=run_id, nameserver="127.0.0.1",
               nameserver_port=port, min_budget=MIN_B, max_budget=MAX_B, eta=ETA)
    opt.run(n_iterations=n_brackets)
    opt.shutdown(shutdown_workers=True)
    ns.shutdown()
    return score(log)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--seed-start", type=int, default=0)
    ap.add_argument("--port", type=int, default=9100)
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    rows = []
    for s in range(args.seed_start, args.seed_start + args.seeds):
        marks = run(s, args.port + s)
        rows.append([marks[m] for m in MARKS])
        print(s, {m: round(marks[m], 4) for m in MARKS}, flush=True)
    a = np.array(rows)
    for i, m in enumerate(MARKS):
        se = a[:, i].std(ddof=1) / np.sqrt(len(a)) if len(a) > 1 else float("nan")
        print(f"@{m}x: {a[:, i].mean():.3f} ± {se:.3f} (median {np.median(a[:, i]):.3f}); "
              f"paper units {a[:, i].mean() / 2:.3f}")


if __name__ == "__main__":
    main()
