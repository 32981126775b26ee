"""Bilevel DARTS search with warm-starting and the RobustDARTS regularizations.

DARTS (Liu, Simonyan & Yang, ICLR 2019) alternates a step on the architecture weights alpha
(validation loss) and a step on the network weights w (training loss). The architecture
gradient is first order (``grad_alpha L_val(w, alpha)``) or second order, DARTS eq. 7-8::

    w' = w - xi * grad_w L_train(w, alpha)
    g  = grad_alpha L_val(w', alpha)
         - xi * [grad_alpha L_train(w+, alpha) - grad_alpha L_train(w-, alpha)] / (2 eps)
    w+- = w +- eps * grad_w' L_val(w', alpha),   eps = 0.01 / ||grad_w' L_val(w', alpha)||

Warm-starting (Auto-DispNet, Saikia et al., ICCV 2019): for the first ``warmstart_epochs`` the
architecture weights stay at the uniform distribution (alpha = 0) and only w is trained.

RobustDARTS (Zela et al., ICLR 2020): a larger L2 factor on the inner (training) objective,
scheduled drop-path on the parametric operations of the supernet, and early stopping (DARTS-ES)
when the dominant eigenvalue of the Hessian of the validation loss with respect to alpha grows:
with ``lam_bar(i)`` the eigenvalue averaged over the last ``es_window`` search epochs, the search
stops at epoch ``i`` when ``lam_bar(i - es_k) / lam_bar(i) < es_threshold`` and returns the
architecture of epoch ``i - es_k``. Both averages must be positive (a sign change of a
near-zero eigenvalue is not a growth of curvature).

RobustDARTS' data-augmentation regularization (Zela et al. 2020, section 5.1, "DA"): the inner
objective is trained on augmented images, Cutout (DeVries & Taylor 2017: a square of side
``cutout_length`` pixels, centred uniformly at random and clipped at the border, set to zero) on
each training image with a probability raised linearly over the search epochs to
``cutout_prob`` (``cutout_schedule="linear"``, scheduled like drop-path; ``"constant"``: always
``cutout_prob``). The same augmented batch enters the architecture step's unrolled inner
objective (second order); validation batches are not augmented. A stronger inner regularization
keeps the search away from the sharp architecture minima that end in parameterless cells.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from lowfi.core.seeding import SeedLike, as_generator
from lowfi.nas._torch import require_torch
from lowfi.nas.darts.genotype import Genotype
from lowfi.nas.darts.hessian import dominant_eigenvalue
from lowfi.nas.darts.supernet import torch_seed

torch = require_torch()
F = torch.nn.functional


def _grads(loss, params: list) -> list:
    """Gradients of ``loss`` for ``params``; zero for a parameter the loss does not use (the
    weights of a cell type the supernet does not have, e.g. no reduction cell)."""
    out = torch.autograd.grad(loss, params, allow_unused=True)
    return [torch.zeros_like(p) if g is None else g for g, p in zip(out, params)]


@dataclass
class SearchConfig:
    """Settings of :func:`darts_search` (defaults: DARTS, first order, no regularization).

    Attributes
    ----------
    epochs : int
        Total epochs, warm-start included.
    warmstart_epochs : int
        Leading epochs with alpha frozen at uniform (only w is trained).
    order : {"first", "second"}
        Architecture gradient.
    batch_size : int
    lr, lr_min, momentum : float
        SGD on w, cosine-annealed from ``lr`` to ``lr_min``.
    weight_decay : float
        L2 factor of the inner objective: ``L_train + weight_decay / 2 * ||w||^2`` (RobustDARTS
        raises it to regularize).
    arch_lr, arch_weight_decay : float
        Adam on alpha (betas 0.5, 0.999 as in DARTS).
    xi : float or None
        Virtual step size of the second-order gradient (None: ``lr``).
    drop_path : float
        Largest drop-path probability, scheduled linearly over the search epochs (RobustDARTS).
    grad_clip : float
    eigenvalue_every : int
        Compute the dominant Hessian eigenvalue every this many epochs (0: never).
    eigen_iters, eigen_batch : int
        Power iterations and number of validation samples for the eigenvalue.
    eigen_which : {"magnitude", "largest"}
        Track the eigenvalue largest in magnitude (with sign) or the largest one.
    early_stop : bool
        DARTS-ES early stopping on the eigenvalue (needs ``eigenvalue_every == 1``).
    es_window, es_k : int
    es_threshold : float
    cutout_prob : float
        Largest probability of Cutout on a training image of the inner objective (0: none).
    cutout_length : int
        Side of the Cutout square in pixels.
    cutout_schedule : {"linear", "constant"}
        Probability raised linearly over the search epochs (RobustDARTS) or constant.
    """

    epochs: int = 10
    warmstart_epochs: int = 0
    order: str = "first"
    batch_size: int = 64
    lr: float = 0.05
    lr_min: float = 1e-3
    momentum: float = 0.9
    weight_decay: float = 3e-4
    arch_lr: float = 3e-3
    arch_weight_decay: float = 1e-3
    xi: float | None = None
    drop_path: float = 0.0
    grad_clip: float = 5.0
    eigenvalue_every: int = 1
    eigen_iters: int = 20
    eigen_batch: int = 256
    eigen_which: str = "magnitude"
    early_stop: bool = False
    es_window: int = 2
    es_k: int = 2
    es_threshold: float = 0.75
    cutout_prob: float = 0.0
    cutout_length: int = 4
    cutout_schedule: str = "linear"

    def validate(self) -> SearchConfig:
        ints = {"epochs": 1, "warmstart_epochs": 0, "batch_size": 1, "eigenvalue_every": 0,
                "eigen_iters": 1, "eigen_batch": 1, "es_window": 1, "es_k": 1, "cutout_length": 1}
        for name, low in ints.items():
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < low:
                raise ValueError(f"{name}: got {v!r}; allowed is an int >= {low}")
        if self.warmstart_epochs > self.epochs:
            raise ValueError(f"warmstart_epochs: got {self.warmstart_epochs}; allowed are "
                             f"0..epochs={self.epochs}")
        if self.eigen_which not in ("magnitude", "largest"):
            raise ValueError(f"eigen_which: got {self.eigen_which!r}; allowed are 'magnitude' "
                             "and 'largest'")
        if self.order not in ("first", "second"):
            raise ValueError(f"order: got {self.order!r}; allowed are 'first' and 'second'")
        if isinstance(self.cutout_prob, bool) or not 0.0 <= self.cutout_prob <= 1.0:
            raise ValueError(f"cutout_prob: got {self.cutout_prob!r}; allowed is 0 <= cutout_prob <= 1")
        if self.cutout_schedule not in ("linear", "constant"):
            raise ValueError(f"cutout_schedule: got {self.cutout_schedule!r}; allowed are 'linear' "
                             "and 'constant'")
        if not 0.0 <= self.drop_path < 1.0:
            raise ValueError(f"drop_path: got {self.drop_path!r}; allowed is 0 <= drop_path < 1")
        for name in ("lr", "arch_lr"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name}: got {getattr(self, name)!r}; allowed is a float > 0")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay: got {self.weight_decay!r}; allowed is >= 0")
        if not 0 <= self.lr_min <= self.lr:
            raise ValueError(f"lr_min: got {self.lr_min!r}; allowed is 0 <= lr_min <= lr="
                             f"{self.lr!r} (the cosine schedule goes down to it)")
        if not 0 <= self.momentum < 1:
            raise ValueError(f"momentum: got {self.momentum!r}; allowed is 0 <= momentum < 1")
        if not self.grad_clip > 0:
            raise ValueError(f"grad_clip: got {self.grad_clip!r}; allowed is a float > 0")
        if self.xi is not None and not self.xi >= 0:
            raise ValueError(f"xi: got {self.xi!r}; allowed are None (lr) or a float >= 0")
        if not self.arch_weight_decay >= 0:
            raise ValueError(f"arch_weight_decay: got {self.arch_weight_decay!r}; allowed is "
                             ">= 0")
        if not self.es_threshold > 0:
            raise ValueError(f"es_threshold: got {self.es_threshold!r}; allowed is a float > 0 "
                             "(the ratio of eigenvalues that stops the search)")
        if self.early_stop and self.eigenvalue_every != 1:
            raise ValueError("early_stop: needs eigenvalue_every=1 (one eigenvalue per epoch); "
                             f"got eigenvalue_every={self.eigenvalue_every}")
        return self


def task_loss(model, out, y):
    """Cross-entropy for classification, mean absolute error per pixel for dense prediction."""
    if model.task() == "classification":
        return F.cross_entropy(out, y)
    return (out - y).abs().mean()


def _l2(params) -> torch.Tensor:
    return 0.5 * sum((p * p).sum() for p in params)


class Architect:
    """Architecture step of DARTS: first-order or second-order (finite-difference) gradient.

    Parameters
    ----------
    model : SearchNetwork or SearchEncoderDecoder
        Anything with ``arch_parameters()``, ``weights()``, ``forward(x, alphas=None, ...)``
        and ``task()``.
    order : {"first", "second"}
    xi : float
        Virtual step size of the unrolled weights.
    weight_decay : float
        L2 factor of the inner objective (part of ``L_train``).
    eps_scale : float
        Finite-difference radius ``eps = eps_scale / ||grad_w' L_val||`` (DARTS: 0.01).
    """

    def __init__(self, model, order: str = "first", xi: float = 0.05, weight_decay: float = 0.0,
                 eps_scale: float = 0.01):
        if order not in ("first", "second"):
            raise ValueError(f"order: got {order!r}; allowed are 'first' and 'second'")
        if not eps_scale > 0:
            raise ValueError(f"eps_scale: got {eps_scale!r}; allowed is a float > 0")
        self.model, self.order, self.xi, self.weight_decay = model, order, float(xi), float(weight_decay)
        self.eps_scale = float(eps_scale)

    def train_loss(self, batch, alphas=None):
        x, y = batch
        loss = task_loss(self.model, self.model(x, alphas), y)
        if self.weight_decay > 0:
            loss = loss + self.weight_decay * _l2(self.model.weights())
        return loss

    def val_loss(self, batch, alphas=None):
        x, y = batch
        return task_loss(self.model, self.model(x, alphas), y)

    def gradient(self, train_batch, val_batch) -> list:
        """The architecture gradient, one tensor per alpha (not written to ``.grad``)."""
        alphas = self.model.arch_parameters()
        if self.order == "first":
            return _grads(self.val_loss(val_batch), alphas)
        weights = self.model.weights()
        saved = [w.detach().clone() for w in weights]
        try:
            g_w = torch.autograd.grad(self.train_loss(train_batch), weights, allow_unused=True)
            with torch.no_grad():  # w' = w - xi * grad_w L_train(w, alpha)
                for w, g in zip(weights, g_w):
                    if g is not None:
                        w.sub_(self.xi * g)
            val = self.val_loss(val_batch)
            grads = torch.autograd.grad(val, alphas + weights, allow_unused=True)
            d_alpha = [torch.zeros_like(a) if g is None else g
                       for g, a in zip(grads[: len(alphas)], alphas)]
            d_w = [torch.zeros_like(w) if g is None else g for g, w in zip(grads[len(alphas):], weights)]
            norm = torch.sqrt(sum((g * g).sum() for g in d_w))
            eps = self.eps_scale / float(norm) if float(norm) > 0 else 0.0
            if eps == 0.0:
                return d_alpha
            grads_pm = []
            for sign in (1.0, -1.0):  # w+- = w +- eps * grad_w' L_val(w', alpha)
                with torch.no_grad():
                    for w, s, g in zip(weights, saved, d_w):
                        w.copy_(s + sign * eps * g)
                grads_pm.append(_grads(self.train_loss(train_batch), alphas))
            return [da - self.xi * (gp - gm) / (2 * eps)
                    for da, gp, gm in zip(d_alpha, grads_pm[0], grads_pm[1])]
        finally:
            with torch.no_grad():
                for w, s in zip(weights, saved):
                    w.copy_(s)

    def step(self, optimizer, train_batch, val_batch) -> None:
        """Write the architecture gradient into ``alpha.grad`` and step ``optimizer``."""
        optimizer.zero_grad(set_to_none=True)
        for a, g in zip(self.model.arch_parameters(), self.gradient(train_batch, val_batch)):
            a.grad = g.detach()
        optimizer.step()


def alpha_hessian_eigenvalue(model, batch, n_iter: int = 20, seed: SeedLike = 0,
                             which: str = "magnitude") -> float:
    """Dominant eigenvalue of the Hessian of the validation loss w.r.t. all alphas on ``batch``."""
    x, y = batch
    alphas = model.arch_parameters()

    def loss():
        return task_loss(model, model(x), y)

    return float(dominant_eigenvalue(loss, alphas, n_iter=n_iter, seed=seed, which=which))


@dataclass
class SearchResult:
    """Outcome of :func:`darts_search`.

    Attributes
    ----------
    genotype : Genotype
        The returned architecture (of epoch ``stop_epoch - es_k`` after early stopping).
    final_genotype : Genotype
        The architecture at the last epoch run.
    history : list of dict
        One record per epoch: ``epoch, phase, train_loss, val_loss, val_metric, eigenvalue,
        skip_fraction, parameterless_fraction, genotype, alphas, seconds``.
    stopped_early : bool
    stop_epoch : int
    model : the supernet after the search
    config : SearchConfig
    """

    genotype: Genotype
    final_genotype: Genotype
    history: list[dict[str, Any]]
    stopped_early: bool
    stop_epoch: int
    model: Any = None
    config: SearchConfig = field(default_factory=SearchConfig)

    def report(self) -> str:
        """Per-epoch table: phase, losses, eigenvalue, skip and parameterless fractions."""
        lines = ["epoch  phase      train   val     metric  eigen     skip  paramless"]
        for h in self.history:
            ev = "   -    " if h["eigenvalue"] is None else f"{h['eigenvalue']:8.4f}"
            lines.append(f"{h['epoch']:5d}  {h['phase']:9s}  {h['train_loss']:.3f}  {h['val_loss']:.3f}"
                         f"  {h['val_metric']:.3f}  {ev}  {h['skip_fraction']:.2f}  "
                         f"{h['parameterless_fraction']:.2f}")
        if self.stopped_early:
            lines.append(f"early stop at epoch {self.stop_epoch}; returned genotype of epoch "
                         f"{self.genotype.meta.get('epoch')}")
        return "\n".join(lines)


def cutout(x, prob: float, length: int, rng: np.random.Generator):
    """Cutout (DeVries & Taylor 2017) of images ``x`` (n, c, h, w): each image, with probability
    ``prob``, gets a ``length`` x ``length`` square (centre uniform over the image, clipped at the
    border) set to zero in every channel. Returns a new tensor (``x`` itself when nothing is cut)."""
    if prob <= 0 or len(x) == 0:
        return x
    n, _, h, w = x.shape
    hit = rng.random(n) < prob
    if not hit.any():
        return x
    cy, cx = rng.integers(0, h, n), rng.integers(0, w, n)
    top, left = cy - length // 2, cx - length // 2  # the square [top, top + length) x [left, ...)
    rows, cols = np.arange(h)[None, :, None], np.arange(w)[None, None, :]
    inside = ((rows >= top[:, None, None]) & (rows < top[:, None, None] + length)
              & (cols >= left[:, None, None]) & (cols < left[:, None, None] + length))
    mask = ~(inside & hit[:, None, None])
    return x * torch.as_tensor(mask[:, None], dtype=x.dtype)


def _batches(n: int, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    perm = rng.permutation(n)
    return [perm[i:i + batch_size] for i in range(0, n, batch_size)]


def _evaluate(model, X, Y, batch_size: int = 512) -> tuple[float, float]:
    """(loss, metric): metric is error rate for classification, mean abs error otherwise."""
    model.eval()
    total, metric = 0.0, 0.0
    with torch.no_grad():
        for i in range(0, len(X), batch_size):
            out = model(X[i:i + batch_size])
            y = Y[i:i + batch_size]
            total += float(task_loss(model, out, y)) * len(y)
            if model.task() == "classification":
                metric += float((out.argmax(1) != y).sum())
            else:
                metric += float((out - y).abs().mean()) * len(y)
    model.train()
    return total / len(X), metric / len(X)


def darts_search(model, train: tuple, val: tuple, config: SearchConfig | None = None,
                 seed: SeedLike = 0, callback: Callable[[dict], None] | None = None,
                 **overrides: Any) -> SearchResult:
    """Run DARTS on ``model`` (a supernet) with weights on ``train`` and alpha on ``val``.

    Parameters
    ----------
    model : SearchNetwork or SearchEncoderDecoder
    train, val : (X, Y) tensors
        ``X`` of shape (n, c, h, w); ``Y`` class indices or target images.
    config : SearchConfig, optional
        Settings; keyword ``overrides`` replace single fields.
    seed : int or Generator
        Batch order, drop-path masks and power-iteration start vectors.
    callback : callable, optional
        Called with each epoch record.

    Returns
    -------
    SearchResult
    """
    cfg = SearchConfig(**{**asdict(config or SearchConfig()), **overrides}).validate()
    rng = as_generator(seed)
    gen = torch.Generator().manual_seed(torch_seed(rng))
    Xt, Yt = train
    Xv, Yv = val
    if len(Xt) == 0 or len(Xv) == 0:
        raise ValueError("train, val: need at least one sample each")
    alphas = model.arch_parameters()
    weights = model.weights()
    if cfg.warmstart_epochs > 0:  # alpha frozen at the uniform distribution
        with torch.no_grad():
            for a in alphas:
                a.zero_()
    w_opt = torch.optim.SGD(weights, lr=cfg.lr, momentum=cfg.momentum)
    a_opt = torch.optim.Adam(alphas, lr=cfg.arch_lr, betas=(0.5, 0.999),
                             weight_decay=cfg.arch_weight_decay)
    architect = Architect(model, cfg.order, cfg.lr if cfg.xi is None else cfg.xi, cfg.weight_decay)
    n_search = cfg.epochs - cfg.warmstart_epochs
    ev_batch = (Xv[: cfg.eigen_batch], Yv[: cfg.eigen_batch])
    history: list[dict[str, Any]] = []
    genotypes: list[Genotype] = []
    stopped, result_genotype = False, None
    model.train()
    for epoch in range(cfg.epochs):
        t0 = time.perf_counter()
        lr = cfg.lr_min + 0.5 * (cfg.lr - cfg.lr_min) * (1 + math.cos(math.pi * epoch / cfg.epochs))
        for group in w_opt.param_groups:
            group["lr"] = lr
        architect.xi = lr if cfg.xi is None else cfg.xi
        searching = epoch >= cfg.warmstart_epochs
        s_epoch = epoch - cfg.warmstart_epochs
        drop = cfg.drop_path * (s_epoch + 1) / n_search if searching and n_search else 0.0
        if cfg.cutout_schedule == "constant":
            p_cut = cfg.cutout_prob
        else:
            p_cut = cfg.cutout_prob * (s_epoch + 1) / n_search if searching and n_search else 0.0
        tr_batches = _batches(len(Xt), cfg.batch_size, rng)
        va_batches = _batches(len(Xv), cfg.batch_size, rng)
        losses = []
        for k, idx in enumerate(tr_batches):
            batch = (cutout(Xt[idx], p_cut, cfg.cutout_length, rng), Yt[idx])
            if searching:
                vidx = va_batches[k % len(va_batches)]
                architect.step(a_opt, batch, (Xv[vidx], Yv[vidx]))
            w_opt.zero_grad(set_to_none=True)
            loss = task_loss(model, model(batch[0], drop_prob=drop, generator=gen), batch[1])
            total = loss + cfg.weight_decay * _l2(weights) if cfg.weight_decay > 0 else loss
            total.backward()
            torch.nn.utils.clip_grad_norm_(weights, cfg.grad_clip)
            w_opt.step()
            losses.append(float(loss.detach()))
        val_loss, val_metric = _evaluate(model, Xv, Yv)
        eig = None
        if cfg.eigenvalue_every and (epoch + 1) % cfg.eigenvalue_every == 0:
            eig = alpha_hessian_eigenvalue(model, ev_batch, cfg.eigen_iters, rng, cfg.eigen_which)
            for a in alphas:
                a.grad = None
        g = model.genotype()
        g = Genotype(g.normal, g.reduce, g.up, g.n_nodes, meta={"epoch": epoch})
        genotypes.append(g)
        rec = {
            "epoch": epoch, "phase": "search" if searching else "warmstart",
            "train_loss": float(np.mean(losses)), "val_loss": val_loss, "val_metric": val_metric,
            "eigenvalue": eig, "skip_fraction": g.skip_fraction(),
            "parameterless_fraction": g.parameterless_fraction(), "genotype": g.to_dict(),
            "alphas": {k: v.tolist() for k, v in model.arch_weights().items()},
            "drop_path": drop, "cutout_prob": p_cut, "lr": lr, "seconds": time.perf_counter() - t0,
        }
        history.append(rec)
        if callback is not None:
            callback(rec)
        if cfg.early_stop and searching:
            evs = [h["eigenvalue"] for h in history if h["phase"] == "search"]
            i = len(evs) - 1
            if i - cfg.es_k >= cfg.es_window - 1:
                now = float(np.mean(evs[i - cfg.es_window + 1: i + 1]))
                before = float(np.mean(evs[i - cfg.es_k - cfg.es_window + 1: i - cfg.es_k + 1]))
                # the ratio test is only meaningful for positive curvature on both windows
                if before > 0 and now > 0 and before / now < cfg.es_threshold:
                    stopped = True
                    result_genotype = genotypes[epoch - cfg.es_k]
                    break
    final = genotypes[-1]
    return SearchResult(result_genotype or final, final, history, stopped, len(history) - 1,
                        model, cfg)


__all__ = ["Architect", "SearchConfig", "SearchResult", "alpha_hessian_eigenvalue",
           "cutout", "darts_search", "task_loss"]
