"""Cross-check lowfi's YAHPO rbv2 wrapper against yahpo-gym 1.0.1 itself.

lowfi calls the YAHPO v1 ONNX surrogates without yahpo-gym (``lowfi.benchmarks.yahpo:RBV2``),
so it has to rebuild yahpo-gym's model inputs: the continuous and categorical columns in the
scenario's order, inactive parameters as 0 / ``"#na#"``, categoricals coded with
``encoding.json``. This script samples configurations from lowfi's search space, predicts all
nine targets with lowfi, then has yahpo-gym 1.0.1 (``BenchmarkSet.objective_function``, with
its configuration check on) predict the same configurations from the same model files, and
prints the largest absolute difference per target.

yahpo-gym 1.0.1 needs the ConfigSpace API of its time, so it runs in its own environment (the
one of ``benchmarks/hpbandster_counting_ones.py`` works):

    python3.11 -m venv /tmp/hpb && /tmp/hpb/bin/pip install "numpy<2" "ConfigSpace==0.6.1" \\
        yahpo-gym==1.0.1 onnxruntime pyyaml pandas
    python benchmarks/yahpo_rbv2_crosscheck.py --yahpo-python /tmp/hpb/bin/python \\
        --data ../shared/data/yahpo_data --n 300

The lowfi side runs in lowfi's environment; the yahpo side is this file run by
``--yahpo-python`` with ``--yahpo-side`` (a temporary HOME keeps yahpo-gym's settings file out
of the user's). Exit status 1 when any difference exceeds ``--tol``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

CASES = [("rbv2_xgboost", "1067"), ("rbv2_xgboost", "40981"), ("rbv2_rpart", "1067"),
         ("rbv2_rpart", "3")]


def lowfi_side(data: str, n: int, seed: int) -> list[dict]:
    import numpy as np

    from lowfi.benchmarks.yahpo import RBV2, RBV2_TARGETS
    from lowfi.space import Space

    rng = np.random.default_rng(seed)
    out = []
    for scenario, task in CASES:
        bench = RBV2(scenario, task, data_path=data, repl=int(rng.integers(1, 11)))
        configs = Space(bench.space).sample(rng, n)
        trainsize = rng.uniform(0.03, 1.0, n)
        pred = bench.predict(configs, trainsize)
        rows = []
        for c, t, y in zip(configs, trainsize, pred, strict=True):
            full = {k: v for k, v in c.items() if v is not None}
            full.update(task_id=task, trainsize=float(t), repl=bench.repl)
            rows.append({"config": full, "lowfi": [float(v) for v in y]})
        out.append({"scenario": scenario, "task": task, "targets": RBV2_TARGETS, "rows": rows})
    return out


def yahpo_side(data: str, cases: list[dict]) -> list[dict]:
    from yahpo_gym import BenchmarkSet, local_config

    local_config.init_config()
    local_config.set_data_path(data)
    for case in cases:
        bench = BenchmarkSet(case["scenario"], check=True)
        bench.set_instance(case["task"])
        res = bench.objective_function([r["config"] for r in case["rows"]])
        for r, y in zip(case["rows"], res, strict=True):
            r["yahpo"] = [float(y[k]) for k in case["targets"]]
    return cases


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, help="YAHPO data folder (rbv2_xgboost/ etc.)")
    ap.add_argument("--yahpo-python", help="python of an environment with yahpo-gym 1.0.1")
    ap.add_argument("--n", type=int, default=300, help="configurations per case")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tol", type=float, default=1e-5)
    ap.add_argument("--yahpo-side", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    data = os.path.abspath(args.data)
    if args.yahpo_side:
        json.dump(yahpo_side(data, json.load(sys.stdin)), sys.stdout)
        return 0
    if not args.yahpo_python:
        ap.error("--yahpo-python: required (the python of an environment with yahpo-gym 1.0.1)")
    cases = lowfi_side(data, args.n, args.seed)
    with tempfile.TemporaryDirectory() as home:
        proc = subprocess.run([args.yahpo_python, "-W", "ignore", os.path.abspath(__file__),
                               "--data", data, "--yahpo-side"], input=json.dumps(cases),
                              capture_output=True, text=True, env={**os.environ, "HOME": home},
                              check=False)
    if proc.returncode:
        sys.stderr.write(proc.stderr)
        return proc.returncode
    worst = 0.0
    for case in json.loads(proc.stdout):
        import numpy as np

        a = np.array([r["lowfi"] for r in case["rows"]])
        b = np.array([r["yahpo"] for r in case["rows"]])
        diff = np.abs(a - b).max(axis=0)
        worst = max(worst, float(diff.max()))
        print(f"{case['scenario']} task {case['task']} ({len(a)} configs, repl "
              f"{case['rows'][0]['config']['repl']}): max |lowfi - yahpo-gym| per target")
        print("  " + ", ".join(f"{t} {d:.2g}" for t, d in zip(case["targets"], diff,
                                                               strict=True)))
    print(f"largest difference {worst:.3g} (tolerance {args.tol:g})")
    return int(worst > args.tol)


if __name__ == "__main__":
    sys.exit(main())
