"""Discrete networks built from a :class:`~lowfi.nas.darts.genotype.Genotype`.

:class:`Network` stacks normal and reduction cells for classification (DARTS macro
architecture: a convolutional stem, cells whose channels double at each reduction, global
average pooling and a linear classifier). :class:`EncoderDecoder` is the Auto-DispNet layout
for dense prediction: a stem, an encoder of one normal cell followed by ``n_levels`` reduction
cells, a decoder of ``n_levels`` upsampling cells each fed the encoder output at its resolution,
and a 1x1 convolution head.
"""

from __future__ import annotations

from typing import Any

from lowfi.nas._torch import require_torch
from lowfi.nas.darts.cells import Cell, UpCell
from lowfi.nas.darts.genotype import Genotype

torch = require_torch()
nn = torch.nn


def reduction_layers(layers: int) -> tuple[int, ...]:
    """DARTS places reductions at 1/3 and 2/3 of the depth."""
    return tuple(sorted({layers // 3, 2 * layers // 3} - {layers} if layers >= 3 else {layers - 1}))


def _check_int(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name}: got {value!r}; allowed is an int >= {low}")
    return value


def classification_plan(C: int, layers: int, n_nodes: int, stem_multiplier: int,
                        reductions: tuple[int, ...] | None = None) -> list[tuple[int, int, int, bool, bool]]:
    """``(c_pp, c_p, c, reduction, reduction_prev)`` per cell of the classification network."""
    _check_int("C", C, 2)
    _check_int("layers", layers, 1)
    _check_int("n_nodes", n_nodes, 1)
    reductions = reduction_layers(layers) if reductions is None else tuple(reductions)
    if any(not 0 <= r < layers for r in reductions):
        raise ValueError(f"reductions: got {reductions}; allowed are cell indices 0..{layers - 1}")
    c_stem = stem_multiplier * C
    c_pp, c_p, c = c_stem, c_stem, C
    plan, red_prev = [], False
    for i in range(layers):
        red = i in reductions
        if red:
            c *= 2
        plan.append((c_pp, c_p, c, red, red_prev))
        c_pp, c_p, red_prev = c_p, n_nodes * c, red
    return plan


def dense_plan(C: int, n_levels: int, n_nodes: int, stem_multiplier: int):
    """Encoder plan as in :func:`classification_plan`, then ``(c_pp, c_p, c_skip, c)`` per up cell."""
    _check_int("n_levels", n_levels, 1)
    enc = classification_plan(C, n_levels + 1, n_nodes, stem_multiplier,
                              reductions=tuple(range(1, n_levels + 1)))
    enc_out = [n_nodes * c for _, _, c, _, _ in enc]
    dec, c_pp, c_p = [], enc_out[-2], enc_out[-1]
    for level in range(n_levels - 1, -1, -1):
        c = C * 2**level
        dec.append((c_pp, c_p, enc_out[level], c))
        c_pp, c_p = c_p, n_nodes * c
    return enc, dec


class Network(nn.Module):
    """Classification network from a genotype (DARTS evaluation network, no auxiliary head).

    Parameters
    ----------
    genotype : Genotype
    C : int
        Channels of the first cells (doubled at every reduction).
    num_classes : int
    layers : int
        Number of cells; reductions at ``layers // 3`` and ``2 * layers // 3``.
    in_channels : int
    stem_multiplier : int
    reductions : tuple of int, optional
        Indices of the reduction cells instead of the DARTS default.
    """

    def __init__(self, genotype: Genotype, C: int = 8, num_classes: int = 10, layers: int = 3,
                 in_channels: int = 1, stem_multiplier: int = 2,
                 reductions: tuple[int, ...] | None = None):
        super().__init__()
        if not isinstance(genotype, Genotype):
            raise TypeError(f"genotype: got {type(genotype).__name__}; pass a lowfi.nas.darts.Genotype")
        n = genotype.n_nodes
        plan = classification_plan(C, layers, n, stem_multiplier, reductions)
        self.stem = nn.Sequential(nn.Conv2d(in_channels, stem_multiplier * C, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(stem_multiplier * C))
        self.cells = nn.ModuleList(
            Cell(genotype.reduce if red else genotype.normal, n, c_pp, c_p, c, red, red_prev)
            for c_pp, c_p, c, red, red_prev in plan)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(n * plan[-1][2], num_classes)
        self.drop_prob = 0.0
        self.generator = None

    def forward(self, x):
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1, self.drop_prob, self.generator)
        return self.classifier(self.pool(s1).flatten(1))

    def task(self) -> str:
        return "classification"


class EncoderDecoder(nn.Module):
    """Encoder-decoder network for dense prediction from a genotype with an ``up`` cell.

    Parameters
    ----------
    genotype : Genotype
        Must have ``genotype.up``.
    C : int
        Channels at full resolution (doubled per level).
    n_levels : int
        Number of reductions (and of upsampling cells).
    in_channels, out_channels : int
    residual : bool
        Add the input to the output (predict a correction). Off by default: on the digits
        denoising task residual networks often stalled at the identity mapping.
    """

    def __init__(self, genotype: Genotype, C: int = 8, n_levels: int = 2, in_channels: int = 1,
                 out_channels: int = 1, stem_multiplier: int = 2, residual: bool = False):
        super().__init__()
        if not isinstance(genotype, Genotype) or genotype.up is None:
            raise ValueError("genotype: an EncoderDecoder needs a Genotype with an 'up' cell")
        n = genotype.n_nodes
        enc, dec = dense_plan(C, n_levels, n, stem_multiplier)
        self.stem = nn.Sequential(nn.Conv2d(in_channels, stem_multiplier * C, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(stem_multiplier * C))
        self.encoder = nn.ModuleList(
            Cell(genotype.reduce if red else genotype.normal, n, c_pp, c_p, c, red, red_prev)
            for c_pp, c_p, c, red, red_prev in enc)
        self.decoder = nn.ModuleList(UpCell(genotype.up, n, c_pp, c_p, c_skip, c)
                                     for c_pp, c_p, c_skip, c in dec)
        self.head = nn.Conv2d(n * C, out_channels, 1)
        self.residual = residual and in_channels == out_channels
        self.drop_prob = 0.0
        self.generator = None

    def forward(self, x):
        s0 = s1 = self.stem(x)
        skips = []
        for cell in self.encoder:
            s0, s1 = s1, cell(s0, s1, self.drop_prob, self.generator)
            skips.append(s1)
        for k, cell in enumerate(self.decoder):
            skip = skips[len(skips) - 2 - k]
            s0, s1 = s1, cell(s0, s1, self.drop_prob, self.generator, skip=skip)
        out = self.head(s1)
        return out + x if self.residual else out

    def task(self) -> str:
        return "dense"


def build_network(genotype: Genotype, task: str = "classification", **kwargs: Any):
    """Build the discrete network of ``genotype`` for ``task`` ("classification" or "dense")."""
    if task == "classification":
        return Network(genotype, **kwargs)
    if task == "dense":
        return EncoderDecoder(genotype, **kwargs)
    raise ValueError(f"task: got {task!r}; allowed are 'classification' and 'dense'")


__all__ = ["EncoderDecoder", "Network", "build_network", "classification_plan", "dense_plan",
           "reduction_layers"]
