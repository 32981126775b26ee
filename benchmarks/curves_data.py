"""Record real learning curves for the lowfi.curves evaluation (cached under benchmarks/data/).

Two sources:

* ``mlp``: scikit-learn ``MLPClassifier`` with random hyperparameters on the digits data set,
  trained by ``partial_fit`` one epoch at a time for 100 epochs; the curve is the validation
  error after every epoch (to minimize).
* ``lcbench``: the YAHPO Gym LCBench surrogate (ONNX, plain onnxruntime, see
  shared/reference/data-guide.md section 2.3), random configurations, validation error
  ``1 - val_accuracy/100`` at epochs 2..51 (the clean range).

Run::

    nice -n 10 python benchmarks/curves_data.py --n-mlp 36 --n-lcbench 200 --seed 0
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
MLP_FILE = DATA / "curves_mlp_digits.npz"
LCB_FILE = DATA / "curves_lcbench.npz"
YAHPO = Path(os.environ.get("LOWFI_YAHPO_DATA", str(HERE.parent.parent / "shared" / "data" / "yahpo_data")))

MLP_NAMES = ["log_lr", "log_alpha", "log_units", "log_batch", "momentum", "adam"]
LCB_CONT = [
    "epoch",
    "batch_size",
    "learning_rate",
    "momentum",
    "weight_decay",
    "num_layers",
    "max_units",
    "max_dropout",
]


def mlp_curves(n: int, epochs: int, seed: int) -> dict[str, np.ndarray]:
    """Validation-error curves of ``n`` random MLPs on digits (``epochs`` points each)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(seed)
    X, y = load_digits(return_X_y=True)
    Xtr, Xva, ytr, yva = train_test_split(X, y, test_size=0.33, random_state=0, stratify=y)
    sc = StandardScaler().fit(Xtr)
    Xtr, Xva = sc.transform(Xtr), sc.transform(Xva)
    hps, curves, secs = [], [], []
    for i in range(n):
        h = dict(
            log_lr=rng.uniform(np.log(1e-4), np.log(3e-1)),
            log_alpha=rng.uniform(np.log(1e-6), np.log(1e-1)),
            log_units=rng.uniform(np.log(8), np.log(96)),
            log_batch=rng.uniform(np.log(32), np.log(512)),
            momentum=rng.uniform(0.0, 0.99),
            adam=float(rng.random() < 0.5),
        )
        clf = MLPClassifier(
            hidden_layer_sizes=(int(np.exp(h["log_units"])),),
            learning_rate_init=float(np.exp(h["log_lr"])),
            alpha=float(np.exp(h["log_alpha"])),
            batch_size=int(np.exp(h["log_batch"])),
            solver="adam" if h["adam"] else "sgd",
            momentum=h["momentum"],
            random_state=int(rng.integers(2**31 - 1)),
        )
        errs = []
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for _ in range(epochs):
                clf.partial_fit(Xtr, ytr, classes=np.arange(10))
                errs.append(1.0 - clf.score(Xva, yva))
        secs.append(time.perf_counter() - t0)
        hps.append([h[k] for k in MLP_NAMES])
        curves.append(errs)
        print(f"mlp {i + 1}/{n}: final error {errs[-1]:.4f} ({secs[-1]:.1f} s)", flush=True)
    return dict(
        X=np.array(hps), curves=np.array(curves), seconds=np.array(secs), names=np.array(MLP_NAMES)
    )


def lcbench_curves(n: int, seed: int, task: str = "3945") -> dict[str, np.ndarray]:
    """Validation-error curves (epochs 2..51) of ``n`` random configs from the LCBench surrogate."""
    try:
        import onnxruntime as ort
    except ImportError as exc:  # pragma: no cover
        raise ImportError(
            "the LCBench surrogate needs onnxruntime: pip install lowfi[yahpo]"
        ) from exc
    d = YAHPO / "lcbench"
    if not (d / "model.onnx").exists():
        raise FileNotFoundError(f"LCBench surrogate not found under {d}; set LOWFI_YAHPO_DATA")
    enc = json.loads((d / "encoding.json").read_text())
    rng = np.random.default_rng(seed)
    cfg = np.column_stack(
        [
            np.exp(rng.uniform(np.log(16), np.log(512), n)),  # batch_size
            np.exp(rng.uniform(np.log(1e-4), np.log(1e-1), n)),  # learning_rate
            rng.uniform(0.1, 0.99, n),  # momentum
            rng.uniform(1e-5, 1e-1, n),  # weight_decay
            rng.integers(1, 6, n).astype(float),  # num_layers
            np.exp(rng.uniform(np.log(64), np.log(1024), n)),  # max_units
            rng.uniform(0.0, 1.0, n),  # max_dropout
        ]
    )
    cfg[:, 0] = np.round(cfg[:, 0])
    cfg[:, 5] = np.round(cfg[:, 5])
    epochs = np.arange(2, 52)
    rows = np.column_stack(
        [np.repeat(epochs[None], n, 0).reshape(-1, 1), np.repeat(cfg, len(epochs), axis=0)]
    ).astype(np.float32)
    sess = ort.InferenceSession(str(d / "model.onnx"), providers=["CPUExecutionProvider"])
    x_cat = np.full((len(rows), 1), enc["OpenML_task_id"][task], np.int32)
    out = sess.run(None, {"x_cont": rows, "x_cat": x_cat})[0]
    acc = out[:, 1].reshape(n, len(epochs))
    log_cfg = cfg.copy()
    for j in (0, 1, 5):
        log_cfg[:, j] = np.log(cfg[:, j])
    return dict(
        X=log_cfg, curves=1.0 - acc / 100.0, names=np.array(LCB_CONT[1:]), task=np.array(task)
    )


def load(which: str) -> dict[str, np.ndarray]:
    """Load cached curves (``"mlp"`` or ``"lcbench"``); raises if not yet recorded."""
    f = MLP_FILE if which == "mlp" else LCB_FILE
    if not f.exists():
        raise FileNotFoundError(f"{f} missing: run python benchmarks/curves_data.py first")
    with np.load(f) as z:
        return {k: z[k] for k in z.files}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-mlp", type=int, default=36)
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--n-lcbench", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", choices=["mlp", "lcbench"], default=None)
    a = ap.parse_args()
    DATA.mkdir(exist_ok=True)
    if a.only in (None, "lcbench"):
        np.savez_compressed(LCB_FILE, **lcbench_curves(a.n_lcbench, a.seed))
        print("wrote", LCB_FILE)
    if a.only in (None, "mlp"):
        np.savez_compressed(MLP_FILE, **mlp_curves(a.n_mlp, a.epochs, a.seed))
        print("wrote", MLP_FILE)


if __name__ == "__main__":
    main()
