"""Candidate operations of the DARTS search space (Liu, Simonyan & Yang, ICLR 2019).

Each operation maps ``C`` channels to ``C`` channels with a given stride. Separable and dilated
convolutions are ReLU-Conv-BN blocks as in the paper (a separable convolution is applied twice).
``none`` is the zero operation; ``skip_connect`` is the identity (a factorized reduction when the
stride is 2).
"""

from __future__ import annotations

from collections.abc import Callable

from lowfi.nas._torch import require_torch
from lowfi.nas.darts.genotype import PARAMETERLESS, PRIMITIVES

torch = require_torch()
nn = torch.nn

class ReLUConvBN(nn.Module):
    """ReLU, convolution, batch normalization."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int,
                 affine: bool = True):
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, bias=False),
            nn.BatchNorm2d(c_out, affine=affine),
        )

    def forward(self, x):
        return self.op(x)


class DilConv(nn.Module):
    """ReLU, dilated depthwise convolution, pointwise convolution, batch normalization."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int,
                 dilation: int, affine: bool = True):
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_in, kernel, stride=stride, padding=padding, dilation=dilation,
                      groups=c_in, bias=False),
            nn.Conv2d(c_in, c_out, 1, bias=False),
            nn.BatchNorm2d(c_out, affine=affine),
        )

    def forward(self, x):
        return self.op(x)


class SepConv(nn.Module):
    """Two stacked dilation-1 :class:`DilConv` blocks (the DARTS separable convolution)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int,
                 affine: bool = True):
        super().__init__()
        self.op = nn.Sequential(
            DilConv(c_in, c_in, kernel, stride, padding, 1, affine),
            DilConv(c_in, c_out, kernel, 1, padding, 1, affine),
        )

    def forward(self, x):
        return self.op(x)


class Identity(nn.Module):
    """The skip connection."""

    def forward(self, x):
        return x


class Zero(nn.Module):
    """The zero operation (``none``); with stride 2 it halves the resolution."""

    def __init__(self, stride: int):
        super().__init__()
        self.stride = stride

    def forward(self, x):
        if self.stride == 1:
            return x.mul(0.0)
        return x[:, :, :: self.stride, :: self.stride].mul(0.0)


class FactorizedReduce(nn.Module):
    """Halve the resolution with two offset stride-2 1x1 convolutions, concatenated."""

    def __init__(self, c_in: int, c_out: int, affine: bool = True):
        super().__init__()
        if c_out % 2:
            raise ValueError(f"c_out: got {c_out}; FactorizedReduce needs an even channel count")
        self.relu = nn.ReLU(inplace=False)
        self.conv1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv2 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out, affine=affine)

    def forward(self, x):
        x = self.relu(x)
        # pad the odd side so the shifted branch keeps the same output size
        y = nn.functional.pad(x[:, :, 1:, 1:], (0, 1, 0, 1))
        return self.bn(torch.cat([self.conv1(x), self.conv2(y)], dim=1))


class Pool(nn.Module):
    """3x3 max or average pooling (average without counting padding), optional BN."""

    def __init__(self, kind: str, c: int, stride: int, bn: bool):
        super().__init__()
        if kind == "max":
            self.pool = nn.MaxPool2d(3, stride=stride, padding=1)
        else:
            self.pool = nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False)
        # DARTS adds a non-affine BN after pooling inside the mixed operation
        self.bn = nn.BatchNorm2d(c, affine=False) if bn else None

    def forward(self, x):
        x = self.pool(x)
        return x if self.bn is None else self.bn(x)


OpFactory = Callable[[int, int, bool, bool], "nn.Module"]

#: name -> factory(c, stride, affine, search)
OPS: dict[str, OpFactory] = {
    "none": lambda c, stride, affine, search: Zero(stride),
    "max_pool_3x3": lambda c, stride, affine, search: Pool("max", c, stride, search),
    "avg_pool_3x3": lambda c, stride, affine, search: Pool("avg", c, stride, search),
    "skip_connect": lambda c, stride, affine, search: (
        Identity() if stride == 1 else FactorizedReduce(c, c, affine)),
    "sep_conv_3x3": lambda c, stride, affine, search: SepConv(c, c, 3, stride, 1, affine),
    "sep_conv_5x5": lambda c, stride, affine, search: SepConv(c, c, 5, stride, 2, affine),
    "dil_conv_3x3": lambda c, stride, affine, search: DilConv(c, c, 3, stride, 2, 2, affine),
    "dil_conv_5x5": lambda c, stride, affine, search: DilConv(c, c, 5, stride, 4, 2, affine),
}


def make_op(name: str, c: int, stride: int, affine: bool = True, search: bool = False):
    """Build candidate operation ``name`` on ``c`` channels with ``stride`` (1 or 2).

    ``search=True`` gives the variant used inside a mixed operation (non-affine BN, BN after
    pooling), as in DARTS.
    """
    if name not in OPS:
        raise ValueError(f"name: got {name!r}; allowed operations are {', '.join(OPS)}")
    if stride not in (1, 2):
        raise ValueError(f"stride: got {stride!r}; allowed are 1 and 2")
    return OPS[name](c, stride, affine, search)


def drop_path(x, drop_prob: float, generator=None):
    """Zero whole samples of ``x`` with probability ``drop_prob``, rescale the rest (drop-path).

    Used by DARTS for evaluation and by RobustDARTS as a regularizer during the search.
    """
    if drop_prob <= 0.0:
        return x
    keep = 1.0 - drop_prob
    mask = torch.empty((x.shape[0], 1, 1, 1), dtype=x.dtype, device=x.device)
    mask.bernoulli_(keep, generator=generator)
    return x * mask / keep


__all__ = ["OPS", "PARAMETERLESS", "PRIMITIVES", "DilConv", "FactorizedReduce", "Identity", "Pool",
           "ReLUConvBN", "SepConv", "Zero", "drop_path", "make_op"]
