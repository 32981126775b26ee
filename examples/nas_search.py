"""NAS: regularized evolution on the NAS-Bench-101 table shipped with lowfi.

    python examples/nas_search.py

Every evaluation is a table look-up (a cell trained on digits at 4, 12 or 36 epochs), so the
search is exactly reproducible and takes seconds. Swap the table for the official
`nasbench_full.tfrecord` (data=PATH), or use data="train" to train the cells for real.
The same search from the shell: `lowfi nas search --optimizer re --max-evaluations 100`.
"""

import os

from lowfi.nas.nasbench101.search import search

if __name__ == "__main__":
    out = search("mini", "re", max_evaluations=int(os.environ.get("LOWFI_EXAMPLE_EVALS", 100)),
                 seed=0)
    b = out["best"]
    print(f"{out['evaluations']} evaluations, {out['cost']:.0f} s of recorded training time")
    print(f"best cell: ops {b['ops']}, matrix {b['matrix']}")
    print(f"mean test error {b['mean_test_error']:.4f}, test regret {b['test_regret']:.4f}")
