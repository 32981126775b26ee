"""Dask: run trials on a Dask cluster (a local one by default, any cluster by address).

    python examples/dask_cluster.py                       # LocalCluster with 2 workers
    python examples/dask_cluster.py tcp://scheduler:8786  # an existing cluster

The objective is shipped to the workers; curves and results come back to this process, which
writes the journal. A worker that dies loses only its running trial, which is re-run.
"""

import os
import sys
import time

import lowfi


def objective(config: dict, budget: float) -> float:
    time.sleep(0.01 * budget)  # stands in for training
    return (config["x"] - 0.3) ** 2 + (config["y"] + 0.1) ** 2 + 1.0 / budget


if __name__ == "__main__":
    executor = sys.argv[1] if len(sys.argv) > 1 else "dask"
    res = lowfi.minimize(objective, {"x": (-1.0, 1.0), "y": (-1.0, 1.0)}, "bohb",
                         min_budget=1, max_budget=27, n_workers=2, executor=executor,
                         max_evaluations=int(os.environ.get("LOWFI_EXAMPLE_EVALS", 60)),
                         seed=0, progress=False)
    workers = res.trials["worker"].nunique() if "worker" in res.trials else "?"
    print(f"best {res.best_config} loss {res.best_loss:.4f} ({len(res.trials)} trials on "
          f"{workers} workers)")
