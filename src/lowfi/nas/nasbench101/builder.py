"""PyTorch network for a NAS-Bench-101 cell (Ying et al., ICML 2019, section 2.1).

The paper's network: a 3x3 conv-bn-relu stem, ``num_stacks`` stacks of ``cells_per_stack``
cells, a 2x2 max-pool with stride 2 between stacks (the first cell after it doubles the
channels), global average pooling and a dense layer. Inside a cell the output is the
concatenation of the interior vertices that feed the output vertex, their channels splitting
the cell's output channels; a direct input-to-output edge adds a 1x1 projection of the input;
every edge out of the input goes through a 1x1 conv-bn-relu projection to the receiving
vertex's channels, and inputs from interior vertices are truncated to those channels and summed.

torch is imported when this module is imported; :mod:`lowfi.nas` imports it only on use.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lowfi.nas.nasbench101.spec import CONV1X1, CONV3X3, MAXPOOL3X3, ModelSpec

try:
    import torch
    from torch import nn
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError(
        "lowfi.nas.nasbench101.builder needs PyTorch: pip install lowfi[nas]"
    ) from exc


def compute_vertex_channels(c_in: int, c_out: int, matrix: np.ndarray) -> list[int]:
    """Channels of every vertex, as in the paper.

    The vertices feeding the output share ``c_out`` (the first ones take the remainder); a
    vertex that does not feed the output gets the largest channel count of its successors.
    """
    m = np.asarray(matrix)
    n = m.shape[0]
    ch = [0] * n
    ch[0] = c_in
    ch[n - 1] = c_out
    if n == 2:
        return ch
    feeders = [v for v in range(1, n - 1) if m[v, n - 1]]
    k = len(feeders)
    base, extra = divmod(c_out, k)
    for i, v in enumerate(feeders):
        ch[v] = base + (1 if i < extra else 0)
    for v in range(n - 3, 0, -1):
        if not m[v, n - 1]:
            for w in range(v + 1, n - 1):
                if m[v, w]:
                    ch[v] = max(ch[v], ch[w])
    return ch


class ConvBnRelu(nn.Sequential):
    """Convolution (no bias), batch norm, ReLU."""

    def __init__(self, c_in: int, c_out: int, kernel: int) -> None:
        super().__init__(
            nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=False),
        )


def _op(name: str, channels: int) -> nn.Module:
    if name == CONV3X3:
        return ConvBnRelu(channels, channels, 3)
    if name == CONV1X1:
        return ConvBnRelu(channels, channels, 1)
    if name == MAXPOOL3X3:
        return nn.MaxPool2d(3, stride=1, padding=1)
    raise ValueError(f"ops: got {name!r}; allowed are {CONV3X3}, {CONV1X1}, {MAXPOOL3X3}")


class Cell(nn.Module):
    """One NAS-Bench-101 cell for a valid, pruned spec."""

    def __init__(self, spec: ModelSpec, c_in: int, c_out: int) -> None:
        super().__init__()
        if not spec.is_valid:
            raise ValueError(f"spec: got an invalid cell ({spec.invalid_reason})")
        m = np.asarray(spec.matrix)
        self.n = n = m.shape[0]
        self.matrix = m
        self.channels = ch = compute_vertex_channels(c_in, c_out, m)
        self.proj = nn.ModuleDict(
            {str(v): ConvBnRelu(c_in, ch[v], 1) for v in range(1, n) if m[0, v]}
        )
        self.vertex_ops = nn.ModuleDict(
            {str(v): _op(spec.ops[v], ch[v]) for v in range(1, n - 1)}
        )
        self.preds = [[u for u in range(1, v) if m[u, v]] for v in range(n)]
        self.feeders = [v for v in range(1, n - 1) if m[v, n - 1]]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = self.n
        out: list[torch.Tensor | None] = [x] + [None] * (n - 1)
        for v in range(1, n - 1):
            terms = [out[u][:, : self.channels[v]] for u in self.preds[v]]
            if self.matrix[0, v]:
                terms.append(self.proj[str(v)](x))
            total = terms[0]
            for t in terms[1:]:
                total = total + t
            out[v] = self.vertex_ops[str(v)](total)
        if self.feeders:
            y = torch.cat([out[v] for v in self.feeders], dim=1)
            if self.matrix[0, n - 1]:
                y = y + self.proj[str(n - 1)](x)
            return y
        return self.proj[str(n - 1)](x)


class Network(nn.Module):
    """The NAS-Bench-101 network for ``spec``.

    Parameters
    ----------
    spec
        A valid cell.
    num_classes
        Output classes.
    in_channels
        Channels of the input images.
    stem_channels
        Channels after the stem (128 in the paper).
    num_stacks, cells_per_stack
        3 and 3 in the paper.
    """

    def __init__(
        self,
        spec: ModelSpec,
        num_classes: int = 10,
        in_channels: int = 3,
        stem_channels: int = 128,
        num_stacks: int = 3,
        cells_per_stack: int = 3,
    ) -> None:
        super().__init__()
        for name, value in (("num_classes", num_classes), ("in_channels", in_channels),
                            ("stem_channels", stem_channels), ("num_stacks", num_stacks),
                            ("cells_per_stack", cells_per_stack)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: got {value!r}; a positive integer is required")
        if not isinstance(spec, ModelSpec):
            raise TypeError(f"spec: got {type(spec).__name__}; a ModelSpec is required")
        spec = spec.pruned() if spec.is_valid else spec
        layers: list[nn.Module] = [ConvBnRelu(in_channels, stem_channels, 3)]
        c = stem_channels
        for s in range(num_stacks):
            c_out = c
            if s > 0:
                layers.append(nn.MaxPool2d(2, stride=2))
                c_out = 2 * c
            for _ in range(cells_per_stack):
                layers.append(Cell(spec, c, c_out))
                c = c_out
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(c, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.features(x)
        return self.classifier(h.mean(dim=(2, 3)))


def build_network(spec: ModelSpec, **kwargs: Any) -> Network:
    """Build :class:`Network` for ``spec`` (keyword arguments as in :class:`Network`)."""
    return Network(spec, **kwargs)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad))
