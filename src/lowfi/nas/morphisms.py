"""Network morphisms: change a network's structure while keeping (or nearly keeping) its function.

Exact morphisms (the child computes the same function as the parent, up to floating point
error, so it can resume training from the parent's weights):

* **wider** -- Net2WiderNet (Chen, Goodfellow & Shlens, ICLR 2016): a Linear or Conv2d layer
  gets extra units that replicate randomly chosen existing units (weights, bias and BatchNorm
  parameters and running statistics); every consumer of the widened layer splits the outgoing
  weight of a replicated unit between its copies. Net2Net divides the weight by the number of
  copies; with ``noise > 0`` the split ratios are perturbed per consumer row by zero-sum noise
  (the copies' weights still sum to the original one), which breaks the symmetry between the
  copies without changing the function.
* **deeper** -- Net2DeeperNet: an identity-initialized Linear layer (or a Conv2d layer with a
  centred delta kernel), optionally followed by BatchNorm initialized to the identity in eval
  mode (running mean 0, running variance 1, scale ``sqrt(1 + eps)``, shift 0) and by ReLU when
  its input is non-negative (the output of a ReLU), so ``relu(x) = x``.
* **skip** -- a skip connection from an earlier node (Elsken, Metzen & Hutter 2017, 2019):
  either *added* through a zero-initialized projection (Linear or 1x1 Conv2d), or
  *concatenated* to the consumer's input with zero consumer weights for the new columns.

Approximate morphisms used by LEMONADE (Elsken, Metzen & Hutter, ICLR 2019), which keep the
function only approximately; the relative output change on random inputs is reported as
``distortion`` in ``child.morph_info``:

* **remove** -- drop a hidden Linear/Conv2d layer; its linear part (BatchNorm folded in, the
  nonlinearity ignored, a convolution reduced to its spatial kernel sum) is composed into every
  consumer so that the consumers see roughly what they saw before.
* **shrink** -- drop the least important units of a layer; a unit's importance is the product
  of the norms of its incoming and outgoing weights (times its BatchNorm scale).

A morphism is planned on the JSON description of a network (:func:`plan`, pure Python, no
torch: this is what :class:`lowfi.optimizers.lemonade.LEMONADE` uses to compute the cheap
objectives of children) and then applied to a :class:`lowfi.nas.Network` (:func:`apply`),
which builds the child and maps the parent's weights onto it.

Architecture description (JSON-able)::

    {"input_shape": [64] or [C, H, W], "n_classes": 10,
     "layers": [{"op": "linear" | "conv" | "pool" | "gap", "out": int, "kernel": 3,
                 "bn": bool, "act": "relu" | "none",
                 "skips": [{"src": node, "mode": "add" | "cat"}, ...]}, ...]}

Node 0 is the input, node ``k`` the output of layer ``k`` (1-based). Layer ``k`` reads node
``k-1`` plus its skips: ``add`` skips are projected to the width of node ``k-1`` and added,
``cat`` skips are concatenated after it (channels / features), in list order. ``pool`` is a
2x2 max-pool and ``gap`` a global average pool (image -> vector); they take no skips. The last
layer is the classifier: ``linear`` with ``out = n_classes`` and ``act = "none"``.
"""

from __future__ import annotations

import copy
import math
import numbers
from typing import Any

import numpy as np

from lowfi.core.seeding import SeedLike, as_generator

KINDS = ("wider", "deeper", "skip", "remove", "shrink")
EXACT = ("wider", "deeper", "skip")
PARAMETRIC = ("linear", "conv")
OPS = ("linear", "conv", "pool", "gap")
BN_EPS = 1e-5

_TORCH_HINT = "lowfi.nas needs PyTorch: pip install lowfi[nas]"


def _torch():
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ImportError(_TORCH_HINT) from exc
    return torch


# ====================================================================== descriptions (pure Python)
def validate_description(description: Any) -> dict[str, Any]:
    """Check an architecture description and return a normalized deep copy (defaults filled in).

    Raises
    ------
    ValueError, TypeError
        Naming the offending field, the value and what is allowed.
    """
    if not isinstance(description, dict):
        raise TypeError(f"description: got {type(description).__name__}; pass a dict with "
                        "'input_shape', 'n_classes' and 'layers'")
    d = copy.deepcopy(description)
    missing = [k for k in ("input_shape", "n_classes", "layers") if k not in d]
    if missing:
        raise ValueError(f"description: missing keys {missing}")
    shape = d["input_shape"]
    if (not isinstance(shape, list | tuple) or len(shape) not in (1, 3)
            or not all(isinstance(s, numbers.Integral) and s > 0 for s in shape)):
        raise ValueError(f"description['input_shape']: got {shape!r}; allowed are [features] or "
                         "[channels, height, width] with positive integers")
    d["input_shape"] = [int(s) for s in shape]
    nc = d["n_classes"]
    if not isinstance(nc, numbers.Integral) or isinstance(nc, bool) or nc < 1:
        raise ValueError(f"description['n_classes']: got {nc!r}; it must be an integer >= 1")
    d["n_classes"] = int(nc)
    layers = d["layers"]
    if not isinstance(layers, list) or not layers:
        raise ValueError(f"description['layers']: got {layers!r}; a non-empty list is required")
    shapes = [_input_node(d["input_shape"])]
    for k, layer in enumerate(layers, start=1):
        where = f"description['layers'][{k - 1}]"
        if not isinstance(layer, dict):
            raise TypeError(f"{where}: got {type(layer).__name__}; each layer is a dict")
        op = layer.get("op")
        if op not in OPS:
            raise ValueError(f"{where}['op']: got {op!r}; allowed are {', '.join(OPS)}")
        layer.setdefault("skips", [])
        layer.setdefault("bn", False)
        layer.setdefault("act", "relu" if op in PARAMETRIC else "none")
        if op == "conv":
            layer.setdefault("kernel", 3)
            if layer["kernel"] not in (1, 3, 5):
                raise ValueError(f"{where}['kernel']: got {layer['kernel']!r}; allowed are 1, 3, 5")
        if layer["act"] not in ("relu", "none"):
            raise ValueError(f"{where}['act']: got {layer['act']!r}; allowed are 'relu', 'none'")
        if not isinstance(layer["bn"], bool):
            raise TypeError(f"{where}['bn']: got {layer['bn']!r}; a bool is required")
        if op in PARAMETRIC:
            out = layer.get("out")
            if not isinstance(out, numbers.Integral) or isinstance(out, bool) or out < 1:
                raise ValueError(f"{where}['out']: got {out!r}; an integer >= 1 is required")
            layer["out"] = int(out)
        else:
            layer.pop("out", None)
            if layer["skips"]:
                raise ValueError(f"{where}['skips']: a {op!r} layer takes no skips")
            if layer["bn"] or layer["act"] != "none":
                raise ValueError(f"{where}: a {op!r} layer has no bn and act 'none'")
        main_w, main_hw = shapes[k - 1]
        if not isinstance(layer["skips"], list):
            raise TypeError(f"{where}['skips']: got {layer['skips']!r}; a list is required")
        for j, s in enumerate(layer["skips"]):
            if not isinstance(s, dict) or s.get("mode") not in ("add", "cat"):
                raise ValueError(f"{where}['skips'][{j}]: got {s!r}; a skip is "
                                 "{'src': node, 'mode': 'add' | 'cat'}")
            src = s.get("src")
            if not isinstance(src, numbers.Integral) or not 0 <= src <= k - 1:
                raise ValueError(f"{where}['skips'][{j}]['src']: got {src!r}; allowed are the "
                                 f"nodes 0..{k - 1} before this layer")
            if shapes[src][1] != main_hw:
                raise ValueError(f"{where}['skips'][{j}]: node {src} has spatial shape "
                                 f"{shapes[src][1]}, the layer's input has {main_hw}")
        if op == "linear" and main_hw is not None:
            raise ValueError(f"{where}: 'linear' needs a vector input; node {k - 1} is an image "
                             "(insert a 'gap' layer first)")
        if op in ("conv", "pool", "gap") and main_hw is None:
            raise ValueError(f"{where}: {op!r} needs an image input; node {k - 1} is a vector")
        if op == "pool" and min(main_hw) < 2:
            raise ValueError(f"{where}: 'pool' needs at least 2x2 pixels, got {main_hw}")
        shapes.append(_out_node(layer, main_w, main_hw))
    last = layers[-1]
    if last["op"] != "linear" or last["out"] != d["n_classes"] or last["act"] != "none":
        raise ValueError("description['layers'][-1]: the last layer must be the classifier "
                         f"{{'op': 'linear', 'out': {d['n_classes']}, 'act': 'none'}}; got {last!r}")
    return d


def _input_node(shape: list[int]) -> tuple[int, tuple[int, int] | None]:
    return (shape[0], None) if len(shape) == 1 else (shape[0], (shape[1], shape[2]))


def _out_node(layer: dict, main_w: int, main_hw: Any) -> tuple[int, Any]:
    op = layer["op"]
    if op in PARAMETRIC:
        return layer["out"], main_hw
    if op == "pool":
        return main_w, (main_hw[0] // 2, main_hw[1] // 2)
    return main_w, None  # gap


def node_shapes(description: dict) -> list[tuple[int, tuple[int, int] | None]]:
    """``(width, (H, W) or None)`` of every node (0 = input, k = output of layer k)."""
    shapes = [_input_node(description["input_shape"])]
    for k, layer in enumerate(description["layers"], start=1):
        shapes.append(_out_node(layer, *shapes[k - 1]))
    return shapes


def input_width(description: dict, k: int, shapes: list | None = None) -> int:
    """Number of input features/channels of layer ``k`` (main node plus concatenated skips)."""
    shapes = node_shapes(description) if shapes is None else shapes
    layer = description["layers"][k - 1]
    return shapes[k - 1][0] + sum(shapes[s["src"]][0] for s in layer["skips"] if s["mode"] == "cat")


def count_params(description: dict) -> int:
    """Number of trainable parameters of the network a description builds."""
    description = validate_description(description)
    shapes = node_shapes(description)
    total = 0
    for k, layer in enumerate(description["layers"], start=1):
        if layer["op"] not in PARAMETRIC:
            continue
        kk = layer.get("kernel", 3) ** 2 if layer["op"] == "conv" else 1
        total += input_width(description, k, shapes) * layer["out"] * kk + layer["out"]
        if layer["bn"]:
            total += 2 * layer["out"]
        main_w = shapes[k - 1][0]
        total += sum(shapes[s["src"]][0] * main_w + main_w
                     for s in layer["skips"] if s["mode"] == "add")
    return int(total)


def count_flops(description: dict) -> int:
    """Multiply-accumulate operations of one forward pass of one input (Linear, Conv2d and skip
    projections; BatchNorm, activations and pooling are not counted)."""
    description = validate_description(description)
    shapes = node_shapes(description)
    total = 0
    for k, layer in enumerate(description["layers"], start=1):
        if layer["op"] not in PARAMETRIC:
            continue
        hw = shapes[k - 1][1]
        pixels = 1 if hw is None else hw[0] * hw[1]
        kk = layer.get("kernel", 3) ** 2 if layer["op"] == "conv" else 1
        total += input_width(description, k, shapes) * layer["out"] * kk * pixels
        main_w = shapes[k - 1][0]
        total += sum(shapes[s["src"]][0] * main_w * pixels
                     for s in layer["skips"] if s["mode"] == "add")
    return int(total)


def nonnegative_nodes(description: dict) -> list[bool]:
    """Whether each node's values are guaranteed >= 0 (a ReLU output, or pooled from one)."""
    description = validate_description(description)
    out = [False]
    for k, layer in enumerate(description["layers"], start=1):
        out.append(layer["act"] == "relu" if layer["op"] in PARAMETRIC else out[k - 1])
    return out


def _group(description: dict, i: int) -> list[int]:
    """Node ``i`` and the following nodes that are channel-wise copies of it (pool / gap)."""
    layers = description["layers"]
    group = [i]
    k = i + 1
    while k <= len(layers) and layers[k - 1]["op"] in ("pool", "gap"):
        group.append(k)
        k += 1
    return group


def _consumers(description: dict, i: int, shapes: list) -> list[tuple]:
    """Who reads the units of node ``i`` (through its pool / gap copies).

    ``("main", k, offset)``: input columns ``offset:offset+width`` of layer ``k``'s weight;
    ``("proj", k, s)``: input columns of the projection of add-skip ``s`` of layer ``k``;
    ``("projrows", k, s)``: output rows of that projection (it is added to node ``i``).
    Within a layer, ``main`` entries come in descending offset order (safe to edit in turn).
    """
    group = set(_group(description, i))
    out = []
    for k, layer in enumerate(description["layers"], start=1):
        if layer["op"] not in PARAMETRIC:
            continue
        mains, rest = [], []
        if k - 1 in group:
            mains.append(("main", k, 0))
            rest += [("projrows", k, s) for s, sk in enumerate(layer["skips"]) if sk["mode"] == "add"]
        off = shapes[k - 1][0]
        for s, sk in enumerate(layer["skips"]):
            if sk["mode"] == "cat":
                if sk["src"] in group:
                    mains.append(("main", k, off))
                off += shapes[sk["src"]][0]
            elif sk["src"] in group:
                rest.append(("proj", k, s))
        out += sorted(mains, key=lambda c: -c[2]) + rest
    return out


def random_description(kind: str = "mlp", rng: SeedLike = None, input_shape: Any = None,
                       n_classes: int = 10, depth: tuple[int, int] = (1, 3),
                       widths: tuple[int, ...] = (8, 16, 32, 64), bn: bool | None = None,
                       skip_prob: float = 0.0) -> dict[str, Any]:
    """A random MLP or CNN description (arguments as in :meth:`lowfi.nas.Network.random`)."""
    rng = as_generator(rng)
    if kind not in ("mlp", "cnn"):
        raise ValueError(f"kind: got {kind!r}; allowed are 'mlp', 'cnn'")
    if not (len(depth) == 2 and 1 <= depth[0] <= depth[1]):
        raise ValueError(f"depth: got {depth!r}; pass (min, max) with 1 <= min <= max")
    if not widths or not all(isinstance(w, numbers.Integral) and w >= 1 for w in widths):
        raise ValueError(f"widths: got {widths!r}; pass positive integers")
    if not 0 <= skip_prob <= 1:
        raise ValueError(f"skip_prob: got {skip_prob!r}; it must be in [0, 1]")
    if input_shape is None:
        input_shape = (64,) if kind == "mlp" else (1, 8, 8)
    input_shape = [int(v) for v in input_shape]
    if kind == "cnn" and len(input_shape) != 3:
        raise ValueError(f"input_shape: got {input_shape!r}; a CNN needs (C, H, W)")
    if kind == "mlp" and len(input_shape) != 1:
        input_shape = [int(np.prod(input_shape))]
    use_bn = bool(rng.random() < 0.5) if bn is None else bool(bn)
    n = int(rng.integers(depth[0], depth[1] + 1))

    def hidden(op: str) -> dict:
        spec = {"op": op, "out": int(rng.choice(widths)), "bn": use_bn, "act": "relu", "skips": []}
        if op == "conv":
            spec["kernel"] = 3
        return spec

    if kind == "mlp":
        layers = [hidden("linear") for _ in range(n)]
    else:
        layers = [hidden("conv")]
        if min(input_shape[1:]) >= 4:
            layers.append({"op": "pool", "bn": False, "act": "none", "skips": []})
        layers += [hidden("conv") for _ in range(n - 1)]
        layers.append({"op": "gap", "bn": False, "act": "none", "skips": []})
        if rng.random() < 0.5:
            layers.append(hidden("linear"))
    layers.append({"op": "linear", "out": int(n_classes), "bn": False, "act": "none", "skips": []})
    desc = validate_description({"input_shape": input_shape, "n_classes": int(n_classes),
                                 "layers": layers})
    if skip_prob > 0:
        shapes = node_shapes(desc)
        for k, spec in enumerate(desc["layers"], start=1):
            if spec["op"] not in PARAMETRIC or rng.random() >= skip_prob:
                continue
            srcs = [j for j in range(k - 1) if shapes[j][1] == shapes[k - 1][1]]
            if srcs:
                spec["skips"].append({"src": int(rng.choice(srcs)),
                                      "mode": "add" if rng.random() < 0.5 else "cat"})
    return validate_description(desc)


# ====================================================================== planning (pure Python)
def applicable(description: dict, kind: str) -> bool:
    """Whether morphism ``kind`` can be applied to the described network."""
    return bool(_candidates(validate_description(description), kind))


def _candidates(d: dict, kind: str) -> list:
    layers = d["layers"]
    L = len(layers)
    shapes = node_shapes(d)
    if kind in ("wider", "shrink"):
        hidden = [k for k in range(1, L) if layers[k - 1]["op"] in PARAMETRIC]
        if kind == "shrink":
            hidden = [k for k in hidden if layers[k - 1]["out"] >= 2]
        return hidden
    if kind == "deeper":
        return list(range(0, L))
    if kind == "remove":
        return [k for k in range(1, L) if layers[k - 1]["op"] in PARAMETRIC]
    if kind == "skip":
        cands = []
        for k in range(1, L + 1):
            layer = layers[k - 1]
            if layer["op"] not in PARAMETRIC:
                continue
            have = {(s["src"], s["mode"]) for s in layer["skips"]}
            for j in range(0, k - 1):
                if shapes[j][1] != shapes[k - 1][1]:
                    continue
                for mode in ("add", "cat"):
                    if (j, mode) not in have:
                        cands.append((k, j, mode))
        return cands
    raise ValueError(f"kind: got {kind!r}; allowed are {', '.join(KINDS)}")


def plan(description: dict, kind: str, rng: SeedLike = None, *, factor: float = 2.0,
         fraction: float = 0.5, noise: float = 0.0, mode: str | None = None,
         bn: bool | None = None) -> dict[str, Any]:
    """Choose where and how to apply morphism ``kind``; returns a JSON-able operation dict.

    Parameters
    ----------
    description
        The parent's architecture description.
    kind
        ``"wider"``, ``"deeper"``, ``"skip"``, ``"remove"`` or ``"shrink"``.
    rng
        Seed or ``numpy.random.Generator`` choosing the layer, the replicated units etc.
    factor
        ``wider``: the new width is ``ceil(width * factor)`` (at least width + 1).
    fraction
        ``shrink``: fraction of units kept (at least one unit, at least one dropped).
    noise
        ``wider``: scale of the zero-sum symmetry-breaking noise on the split outgoing weights.
    mode
        ``skip``: ``"add"`` or ``"cat"`` (random if None).
    bn
        ``deeper``: whether the new layer has BatchNorm (default: if any layer of the parent has).

    Raises
    ------
    ValueError
        If ``kind`` is unknown or not applicable to this network.
    """
    rng = as_generator(rng)
    d = validate_description(description)
    if mode is not None and mode not in ("add", "cat"):
        raise ValueError(f"mode: got {mode!r}; allowed are 'add', 'cat' or None")
    cands = _candidates(d, kind)
    if kind == "skip" and mode is not None:
        cands = [c for c in cands if c[2] == mode]
    if not cands:
        raise ValueError(f"kind: morphism {kind!r} is not applicable to this network "
                         f"({len(d['layers'])} layers)")
    choice = cands[int(rng.integers(len(cands)))]
    shapes = node_shapes(d)
    seed = int(rng.integers(2**31 - 1))
    if kind == "wider":
        if not factor > 1:
            raise ValueError(f"factor: got {factor!r}; it must be > 1")
        if not 0 <= noise < float("inf"):
            raise ValueError(f"noise: got {noise!r}; it must be a number >= 0")
        n = shapes[choice][0]
        new = max(n + 1, int(math.ceil(n * factor)))
        idx = list(range(n)) + [int(v) for v in rng.integers(0, n, new - n)]
        return {"kind": kind, "layer": choice, "idx": idx, "noise": float(noise), "seed": seed}
    if kind == "shrink":
        if not 0 < fraction < 1:
            raise ValueError(f"fraction: got {fraction!r}; it must be in (0, 1)")
        n = shapes[choice][0]
        keep = min(n - 1, max(1, int(round(n * fraction))))
        return {"kind": kind, "layer": choice, "keep": keep, "seed": seed}
    if kind == "deeper":
        use_bn = any(layer["bn"] for layer in d["layers"]) if bn is None else bool(bn)
        return {"kind": kind, "after": choice, "bn": use_bn, "seed": seed}
    if kind == "remove":
        return {"kind": kind, "layer": choice, "seed": seed}
    k, j, m = choice
    return {"kind": kind, "target": k, "src": j, "mode": m, "seed": seed}


def apply_to_description(description: dict, op: dict) -> dict[str, Any]:
    """The child's description after operation ``op`` (from :func:`plan`); pure Python."""
    d = validate_description(description)
    layers = d["layers"]
    kind = op.get("kind")
    shapes = node_shapes(d)
    if kind == "wider":
        layers[op["layer"] - 1]["out"] = len(op["idx"])
    elif kind == "shrink":
        layers[op["layer"] - 1]["out"] = int(op["keep"])
    elif kind == "deeper":
        i = op["after"]
        w, hw = shapes[i]
        act = "relu" if nonnegative_nodes(d)[i] else "none"
        new = {"op": "linear" if hw is None else "conv", "out": w, "bn": bool(op["bn"]),
               "act": act, "skips": []}
        if hw is not None:
            new["kernel"] = 3
        for layer in layers[i:]:
            for s in layer["skips"]:
                if s["src"] > i:
                    s["src"] += 1
        layers.insert(i, new)
    elif kind == "remove":
        k = op["layer"]
        del layers[k - 1]
        for layer in layers[k - 1:]:
            for s in layer["skips"]:
                if s["src"] >= k:
                    s["src"] -= 1
    elif kind == "skip":
        layers[op["target"] - 1]["skips"].append({"src": op["src"], "mode": op["mode"]})
    else:
        raise ValueError(f"op['kind']: got {kind!r}; allowed are {', '.join(KINDS)}")
    return validate_description(d)


# ====================================================================== applying (torch)
def apply(network: Any, op: dict, *, measure: bool = True, n_probe: int = 64):
    """Apply operation ``op`` (from :func:`plan`) to ``network``; returns a new
    :class:`lowfi.nas.Network` with inherited weights (the parent is not modified).

    ``child.morph_info`` holds the operation, whether it is exact, and (if ``measure``) the
    relative output change ``distortion = ||f_child(x) - f_parent(x)|| / ||f_parent(x)||`` on
    ``n_probe`` standard normal inputs in eval mode.
    """
    torch = _torch()
    from lowfi.nas.network import Network

    if not isinstance(network, Network):
        raise TypeError(f"network: got {type(network).__name__}; pass a lowfi.nas.Network")
    d = network.description
    params = network._get_params()
    gen = torch.Generator().manual_seed(int(op.get("seed", 0)))
    kind = op.get("kind")
    with torch.no_grad():
        if kind in ("wider", "shrink"):
            _apply_remap(d, params, op, gen)
        elif kind == "deeper":
            _apply_deeper(d, params, op)
        elif kind == "skip":
            _apply_skip(d, params, op)
        elif kind == "remove":
            _apply_remove(d, params, op)
        else:
            raise ValueError(f"op['kind']: got {kind!r}; allowed are {', '.join(KINDS)}")
    child = Network(apply_to_description(d, op))
    child._set_params(params)
    child.train(network.training)
    info = {"op": dict(op), "exact": kind in EXACT}
    if kind in ("wider", "shrink"):
        info["op"].pop("idx", None)
    if measure:
        info["distortion"] = distortion(network, child, n=n_probe, seed=int(op.get("seed", 0)))
    child.morph_info = info
    return child


def distortion(parent: Any, child: Any, n: int = 64, seed: int = 0) -> float:
    """Relative output change ``||f_c(x) - f_p(x)|| / ||f_p(x)||`` on ``n`` standard normal
    inputs, both networks in eval mode (their modes are restored afterwards)."""
    torch = _torch()
    gen = torch.Generator().manual_seed(int(seed))
    x = torch.randn((n, *parent.input_shape), generator=gen)
    modes = parent.training, child.training
    parent.eval()
    child.eval()
    with torch.no_grad():
        a, b = parent(x), child(x)
    parent.train(modes[0])
    child.train(modes[1])
    return float((b - a).norm() / a.norm().clamp_min(1e-12))


def _cols(w, off: int, n: int):
    return w[:, off:off + n]


def _replace_cols(w, off: int, n: int, new):
    torch = _torch()
    return torch.cat([w[:, :off], new, w[:, off + n:]], dim=1)


def _bcast(s, w):
    """Reshape a (rows, cols) or (cols,) scale to broadcast over a weight's kernel dims."""
    extra = (1,) * (w.dim() - 2)
    if s.dim() == 1:
        return s.view(1, -1, *extra)
    return s.view(s.shape[0], s.shape[1], *extra)


def _apply_remap(d: dict, params: list, op: dict, gen) -> None:
    torch = _torch()
    i = op["layer"]
    shapes = node_shapes(d)
    n = shapes[i][0]
    p = params[i - 1]
    consumers = _consumers(d, i, shapes)
    if op["kind"] == "wider":
        idx = torch.as_tensor(op["idx"], dtype=torch.long)
        if idx.numel() <= n or idx.min() < 0 or idx.max() >= n or not torch.equal(idx[:n], torch.arange(n)):
            raise ValueError(f"op['idx']: got {op['idx']!r}; must start with 0..{n - 1} and "
                             f"replicate units in 0..{n - 1}")
        counts = torch.bincount(idx, minlength=n).to(p["w"].dtype)
        noise = float(op.get("noise", 0.0))
    else:
        keep = int(op["keep"])
        if not 1 <= keep < n:
            raise ValueError(f"op['keep']: got {keep}; allowed are 1..{n - 1}")
        imp = _importance(d, params, i, consumers, shapes)
        order = torch.argsort(imp, descending=True, stable=True)
        idx = torch.sort(order[:keep]).values
        counts, noise = None, 0.0

    def split(rows: int):
        """Scale of each consumer column (per row when noise > 0); columns of one unit sum to 1."""
        if counts is None:
            return torch.ones(idx.numel(), dtype=p["w"].dtype)
        base = (1.0 / counts)[idx]
        if noise <= 0:
            return base
        z = torch.randn((rows, idx.numel()), generator=gen, dtype=p["w"].dtype) * noise
        sums = torch.zeros((rows, n), dtype=z.dtype).index_add_(1, idx, z)
        z = z - (sums / counts)[:, idx]
        return base.unsqueeze(0) + z

    # producer: layer i
    p["w"], p["b"] = p["w"][idx].clone(), p["b"][idx].clone()
    if p["bn"] is not None:
        for key in ("weight", "bias", "running_mean", "running_var"):
            p["bn"][key] = p["bn"][key][idx].clone()
    for what, k, arg in consumers:
        q = params[k - 1]
        if what == "main":
            cols = _cols(q["w"], arg, n)[:, idx]
            q["w"] = _replace_cols(q["w"], arg, n, cols * _bcast(split(cols.shape[0]), cols))
        elif what == "proj":
            pr = q["proj"][arg]
            cols = pr["w"][:, idx]
            pr["w"] = cols * _bcast(split(cols.shape[0]), cols)
        else:  # projrows
            pr = q["proj"][arg]
            pr["w"], pr["b"] = pr["w"][idx].clone(), pr["b"][idx].clone()


def _importance(d: dict, params: list, i: int, consumers: list, shapes: list):
    """Importance of each unit of node ``i``: ||incoming|| * ||outgoing|| (* |BN scale|)."""
    torch = _torch()
    p = params[i - 1]
    n = shapes[i][0]
    w_in = p["w"].reshape(n, -1).norm(dim=1)
    if p["bn"] is not None:
        bn = p["bn"]
        w_in = w_in * (bn["weight"] / torch.sqrt(bn["running_var"] + BN_EPS)).abs()
    out = torch.zeros(n, dtype=w_in.dtype)
    for what, k, arg in consumers:
        q = params[k - 1]
        if what == "main":
            c = _cols(q["w"], arg, n)
        elif what == "proj":
            c = q["proj"][arg]["w"]
        else:
            continue
        out += c.transpose(0, 1).reshape(n, -1).pow(2).sum(dim=1)
    return w_in * out.sqrt()


def _bn_identity(width: int):
    torch = _torch()
    return {"weight": torch.full((width,), math.sqrt(1.0 + BN_EPS)), "bias": torch.zeros(width),
            "running_mean": torch.zeros(width), "running_var": torch.ones(width),
            "num_batches_tracked": torch.tensor(0, dtype=torch.long)}


def _apply_deeper(d: dict, params: list, op: dict) -> None:
    torch = _torch()
    i = op["after"]
    w, hw = node_shapes(d)[i]
    if hw is None:
        weight = torch.eye(w)
    else:
        weight = torch.zeros((w, w, 3, 3))
        weight[torch.arange(w), torch.arange(w), 1, 1] = 1.0
    params.insert(i, {"w": weight, "b": torch.zeros(w),
                      "bn": _bn_identity(w) if op["bn"] else None, "proj": {}})


def _apply_skip(d: dict, params: list, op: dict) -> None:
    torch = _torch()
    k, j = op["target"], op["src"]
    shapes = node_shapes(d)
    layer = d["layers"][k - 1]
    q = params[k - 1]
    wj, hw = shapes[j]
    if op["mode"] == "add":
        main_w = shapes[k - 1][0]
        shape = (main_w, wj) if hw is None else (main_w, wj, 1, 1)
        q["proj"][len(layer["skips"])] = {"w": torch.zeros(shape), "b": torch.zeros(main_w)}
    else:
        zeros = torch.zeros((q["w"].shape[0], wj, *q["w"].shape[2:]), dtype=q["w"].dtype)
        q["w"] = torch.cat([q["w"], zeros], dim=1)


def _apply_remove(d: dict, params: list, op: dict) -> None:
    torch = _torch()
    k = op["layer"]
    shapes = node_shapes(d)
    w_prev, w_k = shapes[k - 1][0], shapes[k][0]
    p = params[k - 1]
    m = p["w"][:, :w_prev]
    m = m.sum(dim=(2, 3)) if m.dim() == 4 else m
    c = p["b"].clone()
    if p["bn"] is not None:
        bn = p["bn"]
        s = bn["weight"] / torch.sqrt(bn["running_var"] + BN_EPS)
        m = s[:, None] * m
        c = s * (c - bn["running_mean"]) + bn["bias"]
    pinv = torch.linalg.pinv(m)  # (w_prev, w_k)
    for what, j, arg in _consumers(d, k, shapes):
        q = params[j - 1]
        if what == "main":
            cols = _cols(q["w"], arg, w_k)
            new = torch.einsum("oc...,ci->oi...", cols, m)
            q["b"] = q["b"] + torch.einsum("oc...,c->o", cols, c)
            q["w"] = _replace_cols(q["w"], arg, w_k, new)
        elif what == "proj":
            pr = q["proj"][arg]
            pr["b"] = pr["b"] + torch.einsum("oc...,c->o", pr["w"], c)
            pr["w"] = torch.einsum("oc...,ci->oi...", pr["w"], m)
        else:
            pr = q["proj"][arg]
            pr["w"] = torch.einsum("io,o...->i...", pinv, pr["w"])
            pr["b"] = pinv @ pr["b"]
    del params[k - 1]
