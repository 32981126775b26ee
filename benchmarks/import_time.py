"""Start-up time of ``import lowfi``, ``lowfi --help``, ``lowfi --version`` and ``lowfi show RUN.db``.

Each command runs in a fresh interpreter ``--repeats`` times (after one untimed warm-up run
that fills the OS file cache); the script prints the median and the fastest wall time, and
which heavy modules the plain ``import lowfi`` loaded (none of scipy, pandas, matplotlib,
ConfigSpace, rich, scikit-learn or torch should be among them).

    nice -n 10 .venv/bin/python benchmarks/import_time.py [--repeats 7]

``python -X importtime -c "import lowfi"`` shows where the remaining time goes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

HEAVY = ("scipy", "pandas", "matplotlib", "ConfigSpace", "rich", "sklearn", "torch", "dask")


def wall(cmd: list[str], repeats: int) -> list[float]:
    subprocess.run(cmd, check=True, capture_output=True)  # warm the file cache
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        run = os.path.join(tmp, "run.db")
        subprocess.run([py, "-c", (
            "import lowfi\n"
            "lowfi.minimize(lambda c, b: c['x'] ** 2, {'x': (-1.0, 1.0)}, 'hyperband',\n"
            f"               min_budget=1, max_budget=9, max_evaluations=20, storage={run!r},\n"
            "               progress=False)\n")], check=True, capture_output=True)
        cli = [py, "-m", "lowfi.cli"]
        cases = [
            ("python -c 'pass' (interpreter alone)", [py, "-c", "pass"]),
            ("import numpy", [py, "-c", "import numpy"]),
            ("import lowfi", [py, "-c", "import lowfi"]),
            ("lowfi --version", cli + ["--version"]),
            ("lowfi --help", cli + ["--help"]),
            ("lowfi show RUN.db", cli + ["show", run]),
        ]
        print(f"{'command':<40} {'median s':>9} {'min s':>7}   ({args.repeats} runs each)")
        for label, cmd in cases:
            t = wall(cmd, args.repeats)
            print(f"{label:<40} {statistics.median(t):9.3f} {min(t):7.3f}")
    probe = f"import sys, lowfi; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    loaded = subprocess.run([py, "-c", probe], check=True, capture_output=True, text=True)
    print(f"heavy modules loaded by `import lowfi`: {loaded.stdout.strip() or 'none'}")


if __name__ == "__main__":
    main()
