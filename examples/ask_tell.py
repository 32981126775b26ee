"""Ask/tell: drive BOHB from your own loop (here on the multi-fidelity Branin function).

    python examples/ask_tell.py

`ask()` returns a trial (config + budget) or None when the optimizer must wait for results;
`tell()` takes a float, a `lowfi.Result` or `lowfi.Result.failed(...)`. Optimizers are pure,
seeded state machines: the same seed and results always give the same trials.
"""

import os

import lowfi
from lowfi.benchmarks import get

bench = get("mf-branin")  # a space, a budget range and evaluate(config, budget)

if __name__ == "__main__":
    opt = lowfi.optimizers.get("bohb", bench.space, min_budget=bench.min_budget,
                               max_budget=bench.max_budget, eta=3, seed=1)
    for _ in range(int(os.environ.get("LOWFI_EXAMPLE_EVALS", 200))):
        trial = opt.ask()
        if trial is None:  # all brackets done (or waiting for results in a parallel loop)
            break
        result = bench.evaluate(trial.config, trial.budget)
        opt.tell(trial, result)
    config, loss = opt.incumbent()
    print(f"incumbent {config} with loss {loss:.4f} (optimum {bench.optimum:.4f})")
