"""DARTS supernets: every edge a mixed operation weighted by softmax(alpha).

:class:`SearchNetwork` is the classification supernet, :class:`SearchEncoderDecoder` the dense
(Auto-DispNet) one with normal, reduction and upsampling cells. Both keep the architecture
weights (``alpha_normal``, ``alpha_reduce`` and ``alpha_up``) apart from the network weights:
``arch_parameters()`` and ``weights()``. ``forward(x, alphas=...)`` accepts architecture weights
from outside, which the Hessian and second-order code use.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lowfi.core.seeding import SeedLike, as_generator
from lowfi.nas._torch import require_torch
from lowfi.nas.darts.cells import SearchCell, SearchUpCell
from lowfi.nas.darts.genotype import PRIMITIVES, Genotype, discretize, n_edges
from lowfi.nas.darts.network import classification_plan, dense_plan

torch = require_torch()
nn = torch.nn


def torch_seed(seed: SeedLike) -> int:
    """A torch seed drawn from lowfi's numpy generator for ``seed``."""
    return int(as_generator(seed).integers(2**62))


class _Supernet(nn.Module):
    cell_types: tuple[str, ...] = ("normal", "reduce")

    def _init_alphas(self, n_nodes: int, primitives: tuple[str, ...], seed: SeedLike,
                     init_scale: float) -> None:
        rng = as_generator(seed)
        for kind in self.cell_types:
            n_in = 3 if kind == "up" else 2
            a = init_scale * rng.standard_normal((n_edges(n_nodes, n_in), len(primitives)))
            self.register_parameter(f"alpha_{kind}", nn.Parameter(torch.tensor(a, dtype=torch.float32)))

    def arch_parameters(self) -> list:
        """The architecture weights, one tensor ``(n_edges, n_ops)`` per cell type."""
        return [getattr(self, f"alpha_{k}") for k in self.cell_types]

    def weights(self) -> list:
        """The network weights (every parameter that is not an architecture weight)."""
        return [p for name, p in self.named_parameters() if not name.startswith("alpha_")]

    def _softmax(self, alphas):
        alphas = self.arch_parameters() if alphas is None else list(alphas)
        if len(alphas) != len(self.cell_types):
            raise ValueError(f"alphas: got {len(alphas)} tensors; expected {len(self.cell_types)} "
                             f"({', '.join(self.cell_types)})")
        return {k: torch.softmax(a, dim=-1) for k, a in zip(self.cell_types, alphas)}

    def arch_weights(self) -> dict[str, np.ndarray]:
        """softmax(alpha) per cell type as numpy arrays."""
        with torch.no_grad():
            return {k: w.detach().cpu().double().numpy() for k, w in self._softmax(None).items()}

    def genotype(self) -> Genotype:
        """Discretize: top-2 incoming edges per node, strongest non-zero operation on each."""
        w = self.arch_weights()
        cells = {k: discretize(w[k], self.n_nodes, 3 if k == "up" else 2, self.primitives)
                 for k in self.cell_types}
        return Genotype(cells["normal"], cells["reduce"], cells.get("up"), self.n_nodes)


class SearchNetwork(_Supernet):
    """Classification supernet of DARTS (Liu, Simonyan & Yang, ICLR 2019).

    Parameters
    ----------
    C : int
        Channels of the first cells (doubled at each reduction).
    num_classes, layers, n_nodes, in_channels, stem_multiplier : int
    primitives : tuple of str
        Candidate operations (default: the eight DARTS operations).
    seed : int or Generator
        Seeds the weight initialization and the small random initial alphas.
    alpha_init_scale : float
        alpha starts at ``alpha_init_scale * N(0, 1)`` (DARTS: 1e-3).
    """

    def __init__(self, C: int = 8, num_classes: int = 10, layers: int = 3, n_nodes: int = 3,
                 in_channels: int = 1, stem_multiplier: int = 2,
                 primitives: tuple[str, ...] = PRIMITIVES, seed: SeedLike = 0,
                 alpha_init_scale: float = 1e-3, reductions: tuple[int, ...] | None = None):
        super().__init__()
        rng = as_generator(seed)
        self.n_nodes, self.primitives = n_nodes, tuple(primitives)
        self.hparams = dict(C=C, num_classes=num_classes, layers=layers, in_channels=in_channels,
                            stem_multiplier=stem_multiplier, reductions=reductions)
        plan = classification_plan(C, layers, n_nodes, stem_multiplier, reductions)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(torch_seed(rng))
            self.stem = nn.Sequential(
                nn.Conv2d(in_channels, stem_multiplier * C, 3, padding=1, bias=False),
                nn.BatchNorm2d(stem_multiplier * C))
            self.cells = nn.ModuleList(
                SearchCell(n_nodes, c_pp, c_p, c, red, red_prev, self.primitives)
                for c_pp, c_p, c, red, red_prev in plan)
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.classifier = nn.Linear(n_nodes * plan[-1][2], num_classes)
        self._init_alphas(n_nodes, self.primitives, rng, alpha_init_scale)

    def forward(self, x, alphas=None, drop_prob: float = 0.0, generator=None):
        w = self._softmax(alphas)
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1, w["reduce" if cell.reduction else "normal"], drop_prob, generator)
        return self.classifier(self.pool(s1).flatten(1))

    def task(self) -> str:
        return "classification"

    def network_kwargs(self) -> dict[str, Any]:
        """Keyword arguments that build the same macro architecture with :class:`Network`."""
        return dict(self.hparams)


class SearchEncoderDecoder(_Supernet):
    """Dense-prediction supernet with Auto-DispNet upsampling cells (Saikia et al., ICCV 2019).

    Encoder: stem, one normal cell, ``n_levels`` reduction cells; decoder: ``n_levels``
    upsampling cells, each fed the two previous decoder states and the encoder output at its
    resolution; a 1x1 convolution head (plus the input when ``residual``).
    """

    cell_types = ("normal", "reduce", "up")

    def __init__(self, C: int = 8, n_levels: int = 2, n_nodes: int = 3, in_channels: int = 1,
                 out_channels: int = 1, stem_multiplier: int = 2, residual: bool = False,
                 primitives: tuple[str, ...] = PRIMITIVES, seed: SeedLike = 0,
                 alpha_init_scale: float = 1e-3):
        super().__init__()
        rng = as_generator(seed)
        self.n_nodes, self.primitives = n_nodes, tuple(primitives)
        self.hparams = dict(C=C, n_levels=n_levels, in_channels=in_channels,
                            out_channels=out_channels, stem_multiplier=stem_multiplier,
                            residual=residual)
        enc, dec = dense_plan(C, n_levels, n_nodes, stem_multiplier)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(torch_seed(rng))
            self.stem = nn.Sequential(
                nn.Conv2d(in_channels, stem_multiplier * C, 3, padding=1, bias=False),
                nn.BatchNorm2d(stem_multiplier * C))
            self.encoder = nn.ModuleList(
                SearchCell(n_nodes, c_pp, c_p, c, red, red_prev, self.primitives)
                for c_pp, c_p, c, red, red_prev in enc)
            self.decoder = nn.ModuleList(SearchUpCell(n_nodes, c_pp, c_p, c_skip, c, self.primitives)
                                         for c_pp, c_p, c_skip, c in dec)
            self.head = nn.Conv2d(n_nodes * C, out_channels, 1)
        self.residual = residual and in_channels == out_channels
        self._init_alphas(n_nodes, self.primitives, rng, alpha_init_scale)

    def forward(self, x, alphas=None, drop_prob: float = 0.0, generator=None):
        w = self._softmax(alphas)
        s0 = s1 = self.stem(x)
        skips = []
        for cell in self.encoder:
            s0, s1 = s1, cell(s0, s1, w["reduce" if cell.reduction else "normal"], drop_prob, generator)
            skips.append(s1)
        for k, cell in enumerate(self.decoder):
            s0, s1 = s1, cell(s0, s1, w["up"], drop_prob, generator, skip=skips[len(skips) - 2 - k])
        out = self.head(s1)
        return out + x if self.residual else out

    def task(self) -> str:
        return "dense"

    def network_kwargs(self) -> dict[str, Any]:
        return dict(self.hparams)


__all__ = ["SearchEncoderDecoder", "SearchNetwork", "torch_seed"]
