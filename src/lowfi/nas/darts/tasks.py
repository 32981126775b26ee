"""Small image tasks that ship with scikit-learn (8x8 digits) and training from scratch.

``digits_task("classification")``: the 1797 8x8 digit images, 10 classes.
``digits_task("dense")``: denoising - input the image plus Gaussian noise (fixed per image),
target the clean image, both in [0, 1]; scored by the mean absolute error per pixel.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lowfi.core.seeding import SeedLike, as_generator
from lowfi.nas._torch import require_torch
from lowfi.nas.darts.search import _evaluate, task_loss
from lowfi.nas.darts.supernet import torch_seed

torch = require_torch()


def digits_task(task: str = "classification", seed: SeedLike = 0, noise: float = 0.3,
                n_test: int = 400, n_val: int = 300) -> dict[str, tuple]:
    """Splits of scikit-learn's digits as float32 tensors ``(X, Y)``.

    Returns a dict with ``train``, ``val``, ``test`` and the DARTS search halves of ``train``:
    ``search_train`` (weights) and ``search_val`` (architecture).
    """
    if task not in ("classification", "dense"):
        raise ValueError(f"task: got {task!r}; allowed are 'classification' and 'dense'")
    for name, v in (("n_test", n_test), ("n_val", n_val)):
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 0:
            raise ValueError(f"{name}: got {v!r}; allowed is an int >= 0")
    if n_test + n_val > 1797 - 4:  # digits has 1,797 images; the search halves need some
        raise ValueError(f"n_test + n_val: got {n_test} + {n_val}; at most 1793 of the 1,797 "
                         "images can be held out (the rest is the training set)")
    from sklearn.datasets import load_digits

    rng = as_generator(seed)
    d = load_digits()
    X = (d.images / 16.0).astype(np.float32)[:, None]
    if task == "classification":
        Y = torch.tensor(d.target, dtype=torch.long)
        Xin = torch.tensor(X)
    else:
        noisy = X + noise * rng.standard_normal(X.shape).astype(np.float32)
        Xin, Y = torch.tensor(noisy), torch.tensor(X)
    perm = rng.permutation(len(X))
    te, va, tr = perm[:n_test], perm[n_test:n_test + n_val], perm[n_test + n_val:]
    half = len(tr) // 2
    return {
        "train": (Xin[tr], Y[tr]), "val": (Xin[va], Y[va]), "test": (Xin[te], Y[te]),
        "search_train": (Xin[tr[:half]], Y[tr[:half]]), "search_val": (Xin[tr[half:]], Y[tr[half:]]),
    }


def train_network(net, train: tuple, epochs: int, lr: float = 0.05, weight_decay: float = 3e-4,
                  batch_size: int = 64, seed: SeedLike = 0, drop_path: float = 0.0,
                  grad_clip: float = 5.0, eval_sets: dict[str, tuple] | None = None
                  ) -> dict[str, Any]:
    """Train a discrete network from scratch (SGD, momentum 0.9, cosine schedule).

    Returns ``{"<name>_loss", "<name>_metric"}`` for every set in ``eval_sets`` (metric: error
    rate for classification, mean absolute error per pixel for dense tasks), ``n_params`` and
    the training loss of the last epoch.
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs: got {epochs!r}; allowed is an int >= 1")
    if not lr > 0:
        raise ValueError(f"lr: got {lr!r}; allowed is a float > 0")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size: got {batch_size!r}; allowed is an int >= 1")
    rng = as_generator(seed)
    net.generator = torch.Generator().manual_seed(torch_seed(rng))
    opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9, weight_decay=weight_decay)
    X, Y = train
    net.train()
    last = float("nan")
    for epoch in range(epochs):
        for g in opt.param_groups:
            g["lr"] = 0.5 * lr * (1 + math.cos(math.pi * epoch / epochs))
        net.drop_prob = drop_path * epoch / epochs
        perm = rng.permutation(len(X))
        losses = []
        for i in range(0, len(X), batch_size):
            idx = perm[i:i + batch_size]
            opt.zero_grad(set_to_none=True)
            loss = task_loss(net, net(X[idx]), Y[idx])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), grad_clip)
            opt.step()
            losses.append(float(loss.detach()))
        last = float(np.mean(losses))
    net.drop_prob = 0.0
    out: dict[str, Any] = {"train_loss": last,
                           "n_params": int(sum(p.numel() for p in net.parameters()))}
    for name, (Xe, Ye) in (eval_sets or {}).items():
        loss, metric = _evaluate(net, Xe, Ye)
        out[f"{name}_loss"], out[f"{name}_metric"] = loss, metric
    return out


def build_seeded(genotype, task: str, seed: SeedLike, **kwargs: Any):
    """Build the discrete network of ``genotype`` with weights initialized from ``seed``."""
    from lowfi.nas.darts.network import build_network

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(torch_seed(seed))
        return build_network(genotype, task, **kwargs)


__all__ = ["build_seeded", "digits_task", "train_network"]
