"""Record real per-epoch learning curves for the ``lowfi.curves`` evaluation.

Every curve is the validation error (1 - accuracy, to minimize) after each of ``--epochs``
epochs of a real training run, with random hyperparameters (including learning-rate schedules
and learning rates high enough that some runs diverge):

* ``torch-mlp-digits``: PyTorch MLPs (1-3 layers, ReLU/tanh, dropout, SGD+momentum or Adam,
  weight decay, batch size) on scikit-learn's digits;
* ``torch-cnn-digits``: small PyTorch CNNs (two 3x3 conv layers) on the 8x8 digits images;
* ``sklearn-mlp-<data>``: scikit-learn ``MLPClassifier`` trained by ``partial_fit`` one
  epoch at a time on digits, breast_cancer, wine and a noisy synthetic classification set.

Learning-rate schedules (PyTorch: constant, step, cosine, exponential, linear warm-up;
scikit-learn: constant, inverse scaling, step) are set per run. The result is written to
``src/lowfi/data/curves/epoch_curves.npz`` (shipped with the package; load it with
:func:`lowfi.curves.data.load_epoch_curves`).

Run (about 10 CPU-minutes on one core)::

    nice -n 10 python benchmarks/curves_record.py --seed 0
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "src" / "lowfi" / "data" / "curves" / "epoch_curves.npz"
SCHEDULES = ("constant", "step", "cosine", "exponential", "warmup")


def _split(X, y, seed):
    from sklearn.model_selection import train_test_split

    return train_test_split(X, y, test_size=0.4, random_state=seed, stratify=y)


def _lr_factor(schedule: str, epoch: int, epochs: int, gamma: float) -> float:
    """Multiplier of the initial learning rate during ``epoch`` (0-based)."""
    if schedule == "step":
        return 0.3 ** (int(epoch >= epochs // 2) + int(epoch >= 3 * epochs // 4))
    if schedule == "cosine":
        return 0.5 * (1 + np.cos(np.pi * epoch / epochs))
    if schedule == "exponential":
        return gamma**epoch
    if schedule == "warmup":
        return min(1.0, (epoch + 1) / 5)
    return 1.0


def torch_curves(kind: str, n: int, epochs: int, rng: np.random.Generator) -> list[dict]:
    import torch
    from sklearn.datasets import load_digits

    torch.set_num_threads(1)
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    out = []
    for i in range(n):
        split_seed = int(rng.integers(1000))
        Xtr, Xva, ytr, yva = _split(X, y, split_seed)
        h = {
            "optimizer": str(rng.choice(["sgd", "adam"])),
            "batch_size": int(np.exp(rng.uniform(np.log(16), np.log(256)))),
            "weight_decay": float(np.exp(rng.uniform(np.log(1e-6), np.log(1e-2)))),
            "schedule": str(rng.choice(SCHEDULES)),
            "gamma": float(rng.uniform(0.9, 0.99)),
            "split_seed": split_seed,
        }
        if h["optimizer"] == "sgd":
            h["lr"] = float(np.exp(rng.uniform(np.log(1e-3), np.log(3.0))))
            h["momentum"] = float(rng.uniform(0.0, 0.95))
        else:
            h["lr"] = float(np.exp(rng.uniform(np.log(1e-4), np.log(0.1))))
        torch.manual_seed(int(rng.integers(2**31 - 1)))
        if kind == "torch-mlp-digits":
            h.update(
                layers=int(rng.integers(1, 4)),
                width=int(np.exp(rng.uniform(np.log(16), np.log(256)))),
                activation=str(rng.choice(["relu", "tanh"])),
                dropout=float(rng.uniform(0, 0.5)),
            )
            act = torch.nn.ReLU if h["activation"] == "relu" else torch.nn.Tanh
            mods, d = [], 64
            for _ in range(h["layers"]):
                mods += [torch.nn.Linear(d, h["width"]), act(), torch.nn.Dropout(h["dropout"])]
                d = h["width"]
            model = torch.nn.Sequential(*mods, torch.nn.Linear(d, 10))
            shape = (-1, 64)
        else:
            h.update(
                c1=int(rng.integers(4, 17)),
                c2=int(rng.integers(8, 33)),
                dropout=float(rng.uniform(0, 0.5)),
            )
            model = torch.nn.Sequential(
                torch.nn.Conv2d(1, h["c1"], 3, padding=1),
                torch.nn.ReLU(),
                torch.nn.MaxPool2d(2),
                torch.nn.Conv2d(h["c1"], h["c2"], 3, padding=1),
                torch.nn.ReLU(),
                torch.nn.MaxPool2d(2),
                torch.nn.Flatten(),
                torch.nn.Dropout(h["dropout"]),
                torch.nn.Linear(h["c2"] * 4, 10),
            )
            shape = (-1, 1, 8, 8)
        xt = torch.tensor(Xtr, dtype=torch.float32).reshape(shape)
        yt = torch.tensor(ytr)
        xv = torch.tensor(Xva, dtype=torch.float32).reshape(shape)
        yv = torch.tensor(yva)
        if h["optimizer"] == "sgd":
            opt = torch.optim.SGD(
                model.parameters(), lr=h["lr"], momentum=h["momentum"],
                weight_decay=h["weight_decay"],
            )
        else:
            opt = torch.optim.Adam(model.parameters(), lr=h["lr"], weight_decay=h["weight_decay"])
        loss_fn = torch.nn.CrossEntropyLoss()
        errs = []
        t0 = time.process_time()
        for ep in range(epochs):
            for g in opt.param_groups:
                g["lr"] = h["lr"] * _lr_factor(h["schedule"], ep, epochs, h["gamma"])
            model.train()
            perm = torch.randperm(len(xt))
            for b in range(0, len(xt), h["batch_size"]):
                idx = perm[b : b + h["batch_size"]]
                opt.zero_grad()
                loss = loss_fn(model(xt[idx]), yt[idx])
                loss.backward()
                opt.step()
            model.eval()
            with torch.no_grad():
                logits = model(xv)
                pred = logits.argmax(1)
                pred[~torch.isfinite(logits).all(1)] = -1  # a diverged network predicts nothing
                errs.append(float((pred != yv).float().mean()))
        h["cpu_seconds"] = time.process_time() - t0
        out.append({"kind": kind, "curve": errs, "hp": h})
        print(f"{kind} {i + 1}/{n}: {h['optimizer']} lr={h['lr']:.2g} {h['schedule']} "
              f"final {errs[-1]:.3f} ({h['cpu_seconds']:.1f} s)", flush=True)
    return out


def _sklearn_data(name: str):
    from sklearn import datasets
    from sklearn.preprocessing import StandardScaler

    if name == "digits":
        X, y = datasets.load_digits(return_X_y=True)
    elif name == "breast_cancer":
        X, y = datasets.load_breast_cancer(return_X_y=True)
    elif name == "wine":
        X, y = datasets.load_wine(return_X_y=True)
    else:
        X, y = datasets.make_classification(
            n_samples=1500, n_features=20, n_informative=8, n_classes=3, flip_y=0.1,
            class_sep=0.8, random_state=0,
        )
    return StandardScaler().fit_transform(X), y


def sklearn_curves(data: str, n: int, epochs: int, rng: np.random.Generator) -> list[dict]:
    from sklearn.neural_network import MLPClassifier

    X, y = _sklearn_data(data)
    classes = np.unique(y)
    out = []
    for i in range(n):
        split_seed = int(rng.integers(1000))
        Xtr, Xva, ytr, yva = _split(X, y, split_seed)
        h = {
            "solver": str(rng.choice(["sgd", "adam"])),
            "units": int(np.exp(rng.uniform(np.log(4), np.log(128)))),
            "layers": int(rng.integers(1, 3)),
            "alpha": float(np.exp(rng.uniform(np.log(1e-6), np.log(1e-1)))),
            "batch_size": int(np.exp(rng.uniform(np.log(16), np.log(256)))),
            "schedule": str(rng.choice(["constant", "invscaling", "step"])),
            "split_seed": split_seed,
        }
        if h["solver"] == "sgd":
            h["lr"] = float(np.exp(rng.uniform(np.log(1e-4), np.log(1.0))))
            h["momentum"] = float(rng.uniform(0.0, 0.95))
        else:
            h["lr"] = float(np.exp(rng.uniform(np.log(1e-4), np.log(0.1))))
            h["momentum"] = 0.9
            if h["schedule"] == "invscaling":
                h["schedule"] = "constant"  # adam ignores invscaling
        clf = MLPClassifier(
            hidden_layer_sizes=(h["units"],) * h["layers"],
            solver=h["solver"],
            learning_rate_init=h["lr"],
            learning_rate="invscaling" if h["schedule"] == "invscaling" else "constant",
            power_t=0.25,
            alpha=h["alpha"],
            batch_size=min(h["batch_size"], len(Xtr)),
            momentum=h["momentum"],
            random_state=int(rng.integers(2**31 - 1)),
        )
        errs = []
        t0 = time.process_time()
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            for ep in range(epochs):
                if h["schedule"] == "step" and ep > 0:
                    lr = h["lr"] * _lr_factor("step", ep, epochs, 1.0)
                    opt = getattr(clf, "_optimizer", None)
                    if opt is not None:  # scikit-learn's optimizer objects (private attributes)
                        opt.learning_rate_init = lr
                        if hasattr(opt, "learning_rate") and h["solver"] == "sgd":
                            opt.learning_rate = lr
                try:
                    clf.partial_fit(Xtr, ytr, classes=classes)
                    errs.append(1.0 - clf.score(Xva, yva))
                except ValueError:  # weights became non-finite: a diverged run
                    errs.append(errs[-1] if errs else 1.0 - 1.0 / len(classes))
                    errs[-1] = max(errs[-1], 1.0 - np.max(np.bincount(yva)) / len(yva))
        h["cpu_seconds"] = time.process_time() - t0
        out.append({"kind": f"sklearn-mlp-{data}", "curve": errs, "hp": h})
        print(f"sklearn-mlp-{data} {i + 1}/{n}: {h['solver']} lr={h['lr']:.2g} {h['schedule']} "
              f"final {errs[-1]:.3f} ({h['cpu_seconds']:.1f} s)", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--n-torch-mlp", type=int, default=100)
    ap.add_argument("--n-torch-cnn", type=int, default=60)
    ap.add_argument("--n-sklearn", type=int, default=40, help="curves per scikit-learn data set")
    ap.add_argument("--sklearn-data", default="digits,breast_cancer,wine,synthetic")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=OUT)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    runs = []
    t0 = time.process_time()
    runs += torch_curves("torch-mlp-digits", a.n_torch_mlp, a.epochs, rng)
    runs += torch_curves("torch-cnn-digits", a.n_torch_cnn, a.epochs, rng)
    for d in a.sklearn_data.split(","):
        runs += sklearn_curves(d, a.n_sklearn, a.epochs, rng)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        a.out,
        curves=np.array([r["curve"] for r in runs], dtype=np.float32),
        kinds=np.array([r["kind"] for r in runs]),
        hyperparameters=np.array([json.dumps(r["hp"], sort_keys=True) for r in runs]),
        epochs=np.arange(1, a.epochs + 1),
        seed=np.array(a.seed),
    )
    print(f"wrote {len(runs)} curves to {a.out} ({time.process_time() - t0:.0f} CPU s)")


if __name__ == "__main__":
    main()
