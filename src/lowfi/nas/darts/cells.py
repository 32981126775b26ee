"""DARTS cells: the mixed operation, search cells and discrete cells.

Normal and reduction cells follow DARTS (Liu et al., ICLR 2019): two inputs (the outputs of the
two previous cells, brought to ``C`` channels by 1x1 ReLU-Conv-BN, or a factorized reduction when
the previous cell halved the resolution), ``n_nodes`` intermediate nodes, each the sum of
operations on two earlier states, and the concatenation of the intermediate nodes as output.

The upsampling cell follows Auto-DispNet (Saikia, Marrakchi, Zela, Hutter & Brox, ICCV 2019):
three inputs - the two previous decoder states, upsampled to the target resolution, and the
encoder feature map at that resolution (a U-Net-like skip connection) - and otherwise the same
structure as a normal cell.
"""

from __future__ import annotations

from lowfi.nas._torch import require_torch
from lowfi.nas.darts.genotype import PRIMITIVES, CellGenotype, edge_index
from lowfi.nas.darts.ops import FactorizedReduce, Identity, ReLUConvBN, Zero, drop_path, make_op

torch = require_torch()
nn = torch.nn
F = torch.nn.functional


class MixedOp(nn.Module):
    """Continuous relaxation of one edge: ``sum_i softmax(alpha)_i * op_i(x)`` (DARTS eq. 2).

    The caller passes the already normalized weights, so the same module serves softmax
    weights and the one-hot weights of a discrete architecture.
    """

    def __init__(self, c: int, stride: int, primitives: tuple[str, ...] = PRIMITIVES):
        super().__init__()
        self.primitives = tuple(primitives)
        self.ops = nn.ModuleList(make_op(p, c, stride, affine=False, search=True)
                                 for p in self.primitives)

    def forward(self, x, weights, drop_prob: float = 0.0, generator=None):
        if weights.shape[-1] != len(self.ops):
            raise ValueError(f"weights: got {weights.shape[-1]} weights for {len(self.ops)} operations")
        out = 0.0
        for w, op in zip(weights, self.ops):
            y = op(x)
            # RobustDARTS: drop-path on every parametric path, never on identity or zero
            if drop_prob > 0.0 and self.training and not isinstance(op, Identity | Zero):
                y = drop_path(y, drop_prob, generator)
            out = out + w * y
        return out


def _preprocess0(c_pp: int, c: int, reduction_prev: bool, affine: bool):
    return FactorizedReduce(c_pp, c, affine) if reduction_prev else ReLUConvBN(c_pp, c, 1, 1, 0, affine)


class _Upsample(nn.Module):
    """Bilinear resize to the skip connection's resolution, then 1x1 ReLU-Conv-BN."""

    def __init__(self, c_in: int, c: int, affine: bool):
        super().__init__()
        self.proj = ReLUConvBN(c_in, c, 1, 1, 0, affine)

    def forward(self, x, size):
        if tuple(x.shape[-2:]) != tuple(size):
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
        return self.proj(x)


class SearchCell(nn.Module):
    """Normal or reduction cell of the DARTS supernet (every edge a :class:`MixedOp`)."""

    n_inputs = 2

    def __init__(self, n_nodes: int, c_pp: int, c_p: int, c: int, reduction: bool,
                 reduction_prev: bool, primitives: tuple[str, ...] = PRIMITIVES):
        super().__init__()
        self.n_nodes, self.reduction = n_nodes, reduction
        self.pre0 = _preprocess0(c_pp, c, reduction_prev, affine=False)
        self.pre1 = ReLUConvBN(c_p, c, 1, 1, 0, affine=False)
        self.edges = nn.ModuleList(
            MixedOp(c, 2 if reduction and i < 2 else 1, primitives)
            for _, i in edge_index(n_nodes, 2))

    def _inputs(self, s0, s1, skip=None):
        return [self.pre0(s0), self.pre1(s1)]

    def forward(self, s0, s1, weights, drop_prob: float = 0.0, generator=None, skip=None):
        states = self._inputs(s0, s1, skip)
        e = 0
        for j in range(self.n_nodes):
            n_in = self.n_inputs + j
            states.append(sum(self.edges[e + i](states[i], weights[e + i], drop_prob, generator)
                              for i in range(n_in)))
            e += n_in
        return torch.cat(states[self.n_inputs:], dim=1)


class SearchUpCell(SearchCell):
    """Auto-DispNet upsampling cell of the supernet: inputs are the two previous decoder states
    (upsampled) and the encoder skip at the output resolution."""

    n_inputs = 3

    def __init__(self, n_nodes: int, c_pp: int, c_p: int, c_skip: int, c: int,
                 primitives: tuple[str, ...] = PRIMITIVES):
        nn.Module.__init__(self)
        self.n_nodes, self.reduction = n_nodes, False
        self.pre0 = _Upsample(c_pp, c, affine=False)
        self.pre1 = _Upsample(c_p, c, affine=False)
        self.pre_skip = ReLUConvBN(c_skip, c, 1, 1, 0, affine=False)
        self.edges = nn.ModuleList(MixedOp(c, 1, primitives) for _ in edge_index(n_nodes, 3))

    def _inputs(self, s0, s1, skip=None):
        if skip is None:
            raise ValueError("skip: an upsampling cell needs the encoder feature map (skip=...)")
        size = skip.shape[-2:]
        return [self.pre0(s0, size), self.pre1(s1, size), self.pre_skip(skip)]


class Cell(nn.Module):
    """Discrete normal or reduction cell built from a :data:`CellGenotype`."""

    n_inputs = 2

    def __init__(self, genotype: CellGenotype, n_nodes: int, c_pp: int, c_p: int, c: int,
                 reduction: bool, reduction_prev: bool):
        super().__init__()
        self._check(genotype, n_nodes)
        self.n_nodes, self.reduction = n_nodes, reduction
        self.pre0 = _preprocess0(c_pp, c, reduction_prev, affine=True)
        self.pre1 = ReLUConvBN(c_p, c, 1, 1, 0, affine=True)
        self._build(genotype, c, reduction)

    def _check(self, genotype: CellGenotype, n_nodes: int) -> None:
        if len(genotype) != 2 * n_nodes:
            raise ValueError(f"genotype: got {len(genotype)} edges; a cell with n_nodes={n_nodes} "
                             f"has {2 * n_nodes} (two per node)")
        for k, (op, i) in enumerate(genotype):
            if not 0 <= i < self.n_inputs + k // 2:
                raise ValueError(f"genotype: edge {k} reads state {i}; node {k // 2} can read "
                                 f"states 0..{self.n_inputs + k // 2 - 1}")
            if op == "none":
                raise ValueError(f"genotype: edge {k} is 'none'; discrete cells use non-zero ops")

    def _build(self, genotype: CellGenotype, c: int, reduction: bool) -> None:
        self.inputs = [i for _, i in genotype]
        self.ops = nn.ModuleList(
            make_op(op, c, 2 if reduction and i < 2 else 1, affine=True) for op, i in genotype)

    def _inputs(self, s0, s1, skip=None):
        return [self.pre0(s0), self.pre1(s1)]

    def forward(self, s0, s1, drop_prob: float = 0.0, generator=None, skip=None):
        states = self._inputs(s0, s1, skip)
        for j in range(self.n_nodes):
            h = []
            for k in (2 * j, 2 * j + 1):
                y = self.ops[k](states[self.inputs[k]])
                if drop_prob > 0.0 and self.training and not isinstance(self.ops[k], Identity):
                    y = drop_path(y, drop_prob, generator)
                h.append(y)
            states.append(h[0] + h[1])
        return torch.cat(states[self.n_inputs:], dim=1)


class UpCell(Cell):
    """Discrete Auto-DispNet upsampling cell (three inputs: two decoder states, encoder skip)."""

    n_inputs = 3

    def __init__(self, genotype: CellGenotype, n_nodes: int, c_pp: int, c_p: int, c_skip: int,
                 c: int):
        nn.Module.__init__(self)
        self._check(genotype, n_nodes)
        self.n_nodes, self.reduction = n_nodes, False
        self.pre0 = _Upsample(c_pp, c, affine=True)
        self.pre1 = _Upsample(c_p, c, affine=True)
        self.pre_skip = ReLUConvBN(c_skip, c, 1, 1, 0, affine=True)
        self._build(genotype, c, False)

    def _inputs(self, s0, s1, skip=None):
        if skip is None:
            raise ValueError("skip: an upsampling cell needs the encoder feature map (skip=...)")
        size = skip.shape[-2:]
        return [self.pre0(s0, size), self.pre1(s1, size), self.pre_skip(skip)]


__all__ = ["Cell", "MixedOp", "SearchCell", "SearchUpCell", "UpCell"]
