"""Warm starts are not lossy: a resumed BOHB run keeps every budget's observations and model."""

import lowfi
from lowfi.benchmarks import get


class Seeded:
    """Counting Ones with evaluation noise seeded by the configuration (deterministic runs)."""

    def __init__(self):
        self.bench = get("counting-ones-8-8")
        self.space, self.min_budget, self.max_budget = self.bench.space, 9, 729

    def __call__(self, config, budget):
        seed = int(1e9 * sum(float(v) for v in config.values())) % 2**32
        return self.bench.evaluate(config, budget, seed=seed)


def test_resumed_bohb_equals_uninterrupted(tmp_path):
    bench = Seeded()
    db = str(tmp_path / "bohb.db")
    kw = dict(optimizer="bohb", executor="simulated", n_workers=3, seed=4, progress=False,
              min_budget=9, max_budget=729)
    lowfi.minimize(bench, bench.space, storage=db, max_evaluations=60, **kw)
    resumed = lowfi.resume(db, bench, max_evaluations=120, progress=False, executor="simulated",
                           n_workers=3)
    full = lowfi.minimize(bench, bench.space, max_evaluations=120, **kw)
    cols = ["trial_id", "budget", "loss"]
    assert resumed.trials[cols].equals(full.trials[cols])
    opt = resumed.optimizer
    assert opt.proposer.n_model > 0  # the model kept learning from all budgets after resume
    assert len(opt.history.budgets) >= 2
