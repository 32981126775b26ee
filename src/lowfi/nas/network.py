"""A small PyTorch network (MLP or CNN with skip connections) that network morphisms act on.

The structure is a JSON-able description (see :mod:`lowfi.nas.morphisms` for the format), so a
network can be rebuilt, stored in a trial's config and counted (parameters, FLOPs) without
torch. This module imports torch: install it with ``pip install lowfi[nas]``.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np

from lowfi.core.seeding import SeedLike, as_generator
from lowfi.nas import morphisms as _m

try:
    import torch
    from torch import nn
    from torch.nn import functional as F
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError(_m._TORCH_HINT) from exc


class _Layer(nn.Module):
    def __init__(self, spec: dict, in_width: int, main_width: int, src_widths: list[int],
                 image: bool):
        super().__init__()
        self.kind = spec["op"]
        self.relu = spec["act"] == "relu"
        self.op: nn.Module | None = None
        self.bn: nn.Module | None = None
        self.proj = nn.ModuleDict()
        if self.kind == "linear":
            self.op = nn.Linear(in_width, spec["out"])
        elif self.kind == "conv":
            k = spec.get("kernel", 3)
            self.op = nn.Conv2d(in_width, spec["out"], k, padding=k // 2)
        if spec["bn"]:
            self.bn = (nn.BatchNorm2d if image else nn.BatchNorm1d)(spec["out"], eps=_m.BN_EPS)
        for s, (sk, w) in enumerate(zip(spec["skips"], src_widths, strict=True)):
            if sk["mode"] == "add":
                self.proj[str(s)] = (nn.Conv2d(w, main_width, 1) if image
                                     else nn.Linear(w, main_width))
        self.skips = [(s, sk["src"], sk["mode"]) for s, sk in enumerate(spec["skips"])]

    def forward(self, nodes: list) -> Any:
        x = nodes[-1]
        cats = []
        for s, src, mode in self.skips:
            if mode == "add":
                x = x + self.proj[str(s)](nodes[src])
            else:
                cats.append(nodes[src])
        if cats:
            x = torch.cat([x, *cats], dim=1)
        if self.kind == "pool":
            return F.max_pool2d(x, 2)
        if self.kind == "gap":
            return x.mean(dim=(2, 3))
        x = self.op(x)
        if self.bn is not None:
            x = self.bn(x)
        return F.relu(x) if self.relu else x


class Network(nn.Module):
    """A feed-forward network (MLP or small CNN, with skip connections) built from a description.

    Parameters
    ----------
    description
        JSON-able architecture (format in :mod:`lowfi.nas.morphisms`).
    seed
        Seed of the weight initialization (uniform in ``+-1/sqrt(fan_in)``, as torch's default).

    Examples
    --------
    >>> net = Network.random(kind="mlp", seed=0, input_shape=(64,), n_classes=10)
    >>> child = net.morph("wider", rng=1)      # same function, more units, inherited weights
    """

    def __init__(self, description: dict, seed: SeedLike = None):
        super().__init__()
        self._desc = _m.validate_description(description)
        shapes = _m.node_shapes(self._desc)
        self.layers = nn.ModuleList()
        for k, spec in enumerate(self._desc["layers"], start=1):
            self.layers.append(_Layer(spec, _m.input_width(self._desc, k, shapes), shapes[k - 1][0],
                                      [shapes[s["src"]][0] for s in spec["skips"]],
                                      shapes[k - 1][1] is not None))
        self.morph_info: dict[str, Any] | None = None
        self.reset_parameters(seed)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_description(cls, description: dict, seed: SeedLike = None) -> Network:
        """Build a network from a description (same as the constructor)."""
        return cls(description, seed=seed)

    @classmethod
    def random(cls, kind: str = "mlp", seed: SeedLike = None, input_shape: Any = None,
               n_classes: int = 10, depth: tuple[int, int] = (1, 3),
               widths: tuple[int, ...] = (8, 16, 32, 64), bn: bool | None = None,
               skip_prob: float = 0.0) -> Network:
        """A random MLP or CNN.

        Parameters
        ----------
        kind
            ``"mlp"`` (Linear+ReLU hidden layers) or ``"cnn"`` (3x3 Conv+ReLU layers, one 2x2
            max-pool after the first, global average pooling, then Linear layers).
        seed
            Seed of the architecture and of the weights.
        input_shape
            Shape of one input; default ``(64,)`` for an MLP and ``(1, 8, 8)`` for a CNN.
        n_classes
            Output units of the classifier.
        depth
            Inclusive range of the number of hidden Linear (MLP) or Conv (CNN) layers.
        widths
            Widths drawn for hidden layers.
        bn
            BatchNorm after every hidden Linear/Conv (random if None).
        skip_prob
            Probability of a skip connection (add or cat) into each eligible layer.
        """
        rng = as_generator(seed)
        desc = _m.random_description(kind, rng, input_shape=input_shape, n_classes=n_classes,
                                     depth=depth, widths=widths, bn=bn, skip_prob=skip_prob)
        return cls(desc, seed=rng)

    def reset_parameters(self, seed: SeedLike = None) -> None:
        """Re-initialize all weights from ``seed`` (BatchNorm to scale 1, shift 0)."""
        rng = as_generator(seed)
        gen = torch.Generator().manual_seed(int(rng.integers(2**62)))
        with torch.no_grad():
            for module in self.modules():
                if isinstance(module, nn.Linear | nn.Conv2d):
                    fan_in = module.weight[0].numel()
                    bound = 1.0 / math.sqrt(fan_in)
                    module.weight.uniform_(-bound, bound, generator=gen)
                    module.bias.uniform_(-bound, bound, generator=gen)
                elif isinstance(module, nn.BatchNorm1d | nn.BatchNorm2d):
                    module.reset_parameters()

    # ------------------------------------------------------------------ properties
    @property
    def description(self) -> dict[str, Any]:
        """The architecture (a deep copy; JSON-able)."""
        return copy.deepcopy(self._desc)

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one input, without the batch dimension."""
        return tuple(self._desc["input_shape"])

    @property
    def n_classes(self) -> int:
        """Number of classes (outputs of the last layer)."""
        return int(self._desc["n_classes"])

    @property
    def n_params(self) -> int:
        """Number of trainable parameters."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def flops(self, batch: int = 1) -> int:
        """Multiply-accumulates of a forward pass of ``batch`` inputs (Linear, Conv2d and skip
        projections)."""
        return int(batch) * _m.count_flops(self._desc)

    def forward(self, x: Any) -> Any:
        nodes = [x]
        for layer in self.layers:
            nodes.append(layer(nodes))
        return nodes[-1]

    # ------------------------------------------------------------------ morphisms
    def morph(self, kind: str, rng: SeedLike = None, **kwargs: Any) -> Network:
        """A new network made by morphism ``kind`` with the parent's weights inherited.

        ``kind`` is one of ``"wider"``, ``"deeper"``, ``"skip"`` (exact: same function) or
        ``"remove"``, ``"shrink"`` (approximate). ``kwargs`` go to
        :func:`lowfi.nas.morphisms.plan` (``factor``, ``fraction``, ``noise``, ``mode``, ``bn``).
        The child's ``morph_info`` reports the operation and its ``distortion``.
        """
        op = _m.plan(self._desc, kind, rng, **kwargs)
        return _m.apply(self, op)

    def copy(self) -> Network:
        """An independent copy (same description, weights and train/eval mode)."""
        net = Network(self._desc)
        net.load_state_dict(self.state_dict())
        net.train(self.training)
        return net

    # ------------------------------------------------------------------ training helpers
    def fit(self, X: Any, y: Any, epochs: float = 1.0, lr: float = 1e-2, batch_size: int = 64,
            weight_decay: float = 0.0, schedule: str = "constant",
            seed: SeedLike = None) -> Network:
        """Train in place with Adam and cross-entropy for ``epochs`` passes (may be fractional),
        continuing from the current weights. ``schedule="cosine"`` anneals the learning rate
        from ``lr`` to 0 over the run (SGDR-style, as LEMONADE trains). Returns self."""
        if not epochs >= 0:
            raise ValueError(f"epochs: got {epochs!r}; it must be >= 0")
        if schedule not in ("constant", "cosine"):
            raise ValueError(f"schedule: got {schedule!r}; allowed are 'constant', 'cosine'")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size: got {batch_size!r}; allowed is an int >= 1")
        X, y = self._data(X, y)
        rng = as_generator(seed)
        gen = torch.Generator().manual_seed(int(rng.integers(2**62)))
        opt = torch.optim.Adam(self.parameters(), lr=lr, weight_decay=weight_decay)
        n = len(X)
        steps = int(math.ceil(epochs * n / batch_size))
        self.train()
        perm = torch.randperm(n, generator=gen)
        pos = 0
        for step in range(steps):
            if schedule == "cosine":
                for group in opt.param_groups:
                    group["lr"] = 0.5 * lr * (1 + math.cos(math.pi * step / steps))
            if pos + batch_size > n:
                perm, pos = torch.randperm(n, generator=gen), 0
            idx = perm[pos:pos + batch_size]
            pos += batch_size
            if len(idx) < 2 and any(layer.bn is not None for layer in self.layers):
                continue
            opt.zero_grad()
            F.cross_entropy(self(X[idx]), y[idx]).backward()
            opt.step()
        self.eval()
        return self

    def _data(self, X: Any, y: Any) -> tuple[Any, Any]:
        """``X`` as a float tensor of samples of ``input_shape``, ``y`` as class indices;
        clear errors for shapes and labels that do not fit the network."""
        Xa, ya = np.asarray(X, dtype=np.float32), np.asarray(y)
        per = int(np.prod(self.input_shape))
        if Xa.ndim == 0 or Xa.size % per or (Xa.ndim > 1 and int(np.prod(Xa.shape[1:])) != per):
            raise ValueError(f"X: got shape {Xa.shape}; this network takes samples of shape "
                             f"{tuple(self.input_shape)} ({per} values each)")
        n = Xa.size // per
        if ya.ndim != 1 or len(ya) != n:
            raise ValueError(f"y: got shape {ya.shape}; need one class index per sample of X "
                             f"({n})")
        whole = np.issubdtype(ya.dtype, np.integer) or (
            np.issubdtype(ya.dtype, np.floating) and bool(np.all(np.mod(ya, 1) == 0)))
        if n and (not whole or ya.min() < 0 or ya.max() >= self.n_classes):
            raise ValueError(f"y: got labels from {ya.min().item()!r} to {ya.max().item()!r}"
                             f"{'' if whole else ' (not whole numbers)'}; allowed are class "
                             f"indices 0..{self.n_classes - 1}")
        return (torch.as_tensor(Xa).reshape(-1, *self.input_shape),
                torch.as_tensor(ya, dtype=torch.long))

    def error(self, X: Any, y: Any) -> float:
        """Classification error in eval mode."""
        X, y = self._data(X, y)
        mode = self.training
        self.eval()
        with torch.no_grad():
            err = (self(X).argmax(dim=1) != y).float().mean().item()
        self.train(mode)
        return float(err)

    # ------------------------------------------------------------------ weights as plain tensors
    def _get_params(self) -> list[dict[str, Any]]:
        out = []
        for layer in self.layers:
            entry: dict[str, Any] = {"w": None, "b": None, "bn": None, "proj": {}}
            if layer.op is not None:
                entry["w"] = layer.op.weight.detach().clone()
                entry["b"] = layer.op.bias.detach().clone()
            if layer.bn is not None:
                entry["bn"] = {k: v.detach().clone() for k, v in layer.bn.state_dict().items()}
            for s, proj in layer.proj.items():
                entry["proj"][int(s)] = {"w": proj.weight.detach().clone(),
                                         "b": proj.bias.detach().clone()}
            out.append(entry)
        return out

    def _set_params(self, params: list[dict[str, Any]]) -> None:
        if len(params) != len(self.layers):
            raise ValueError(f"params: got {len(params)} layers, the network has {len(self.layers)}")
        with torch.no_grad():
            for k, (layer, entry) in enumerate(zip(self.layers, params, strict=True), start=1):
                if layer.op is not None:
                    _copy(layer.op.weight, entry["w"], f"layer {k} weight")
                    _copy(layer.op.bias, entry["b"], f"layer {k} bias")
                if layer.bn is not None:
                    layer.bn.load_state_dict(entry["bn"])
                for s, proj in layer.proj.items():
                    _copy(proj.weight, entry["proj"][int(s)]["w"], f"layer {k} skip {s} weight")
                    _copy(proj.bias, entry["proj"][int(s)]["b"], f"layer {k} skip {s} bias")


def _copy(dst: Any, src: Any, what: str) -> None:
    if tuple(dst.shape) != tuple(src.shape):
        raise ValueError(f"{what}: shape {tuple(src.shape)} does not match {tuple(dst.shape)}")
    dst.copy_(src)
