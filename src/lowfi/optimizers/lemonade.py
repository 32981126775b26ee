"""LEMONADE: Lamarckian evolution of a Pareto front of architectures with network morphisms.

Elsken, Metzen & Hutter, "Efficient Multi-Objective Neural Architecture Search via Lamarckian
Evolution", ICLR 2019, Algorithm 1. A population is kept on the Pareto front of an expensive
objective (validation error) and cheap objectives (parameters, FLOPs, latency). Each
generation:

1. a kernel density estimate ``p_KDE`` is fitted to the cheap objectives of the population;
2. ``n_children`` parents are drawn with probability ``∝ 1 / p_KDE(f_cheap(parent))``
   (sparse regions of the front get more offspring);
3. each parent gets a child by a random network operator (an exact morphism or an approximate
   one, :mod:`lowfi.nas.morphisms`); the child's cheap objectives are computed from its
   description, without training;
4. ``n_accept`` children are accepted, sampled without replacement with probability
   ``∝ 1 / p_KDE(f_cheap(child))``; only these are trained (from their parent's inherited
   weights: "Lamarckian" inheritance) and evaluated on the expensive objective;
5. the population becomes the Pareto front of population ∪ accepted children.

The optimizer is pure (ask/tell, no torch): a trial's ``config`` is
``{"network": description, "parent": trial id or None, "morphism": operation or None,
"generation": g, "seed": int}``; ``trial.info["parent_checkpoint"]`` carries the
``info["checkpoint"]`` the parent's result reported, so a worker rebuilds the child with
inherited weights by :func:`child_network`. Results are ``Result(loss=(error, ...))``; only the
first entry (the expensive objective) is read, the cheap ones are computed from the description.
:func:`run_lemonade` is a ready loop that keeps the weights in memory.

An objective for ``lowfi.minimize`` or an ask/tell loop (weights travel as checkpoint files)::

    def objective(trial):
        net = child_network(trial)                 # built, or morphed from the parent's weights
        net.fit(X_train, y_train, epochs=trial.budget)
        path = save_checkpoint(net, os.path.join(trial.checkpoint_dir, "net.pt"))
        return Result(loss=(net.error(X_val, y_val), net.n_params), info={"checkpoint": path})
"""

from __future__ import annotations

import numbers
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lowfi.analysis.pareto import pareto_mask
from lowfi.core.seeding import SeedLike
from lowfi.core.trial import Result, Trial
from lowfi.nas import morphisms as _m
from lowfi.optimizers.base import Optimizer

CHEAP = {"n_params": _m.count_params, "flops": _m.count_flops}


def kde_density(points: Any, queries: Any, bandwidth: Any = None,
                min_bandwidth: float = 0.05) -> np.ndarray:
    """Gaussian product-kernel density of ``points`` evaluated at ``queries``.

    Parameters
    ----------
    points, queries
        ``(n, d)`` and ``(m, d)`` arrays (1-D arrays are single-objective columns).
    bandwidth
        Per-dimension kernel widths; default Scott's rule ``std * n^(-1/(d+4))``, at least
        ``min_bandwidth`` (and 0.5 where all points coincide).
    """
    P = np.asarray(points, dtype=float)
    Q = np.asarray(queries, dtype=float)
    P = P[:, None] if P.ndim == 1 else P
    Q = Q[:, None] if Q.ndim == 1 else Q
    if P.ndim != 2 or Q.ndim != 2 or P.shape[1] != Q.shape[1] or not len(P):
        raise ValueError(f"points, queries: got shapes {P.shape} and {Q.shape}; pass (n, d) and "
                         "(m, d) arrays with n >= 1")
    n, d = P.shape
    if bandwidth is None:
        std = P.std(axis=0)
        h = np.where(std > 0, std * n ** (-1.0 / (d + 4)), 0.5)
        h = np.maximum(h, min_bandwidth)
    else:
        h = np.broadcast_to(np.asarray(bandwidth, dtype=float), (d,))
        if not np.all(h > 0):
            raise ValueError(f"bandwidth: got {bandwidth!r}; all widths must be > 0")
    z = (Q[:, None, :] - P[None, :, :]) / h
    k = np.exp(-0.5 * np.sum(z * z, axis=2)) / np.prod(h * np.sqrt(2 * np.pi))
    return k.mean(axis=1)


_MORPH_ARGS = {"wider": ("factor", "noise"), "shrink": ("fraction",), "skip": ("mode",),
               "deeper": ("bn",)}


def _check_morph_kwargs(morph_kwargs: dict[str, Any] | None) -> dict[str, Any]:
    """``morph_kwargs`` checked once, up front: known names and values a morphism accepts
    (a typo would otherwise be ignored, a bad value fail generations later)."""
    kw = dict(morph_kwargs or {})
    known = sorted({k for names in _MORPH_ARGS.values() for k in names})
    for k, v in kw.items():
        if k not in known:
            raise ValueError(f"morph_kwargs: got the key {k!r}; allowed are {known}")
        ok = {"factor": lambda x: isinstance(x, numbers.Real) and not isinstance(x, bool) and x > 1,
              "noise": lambda x: isinstance(x, numbers.Real) and not isinstance(x, bool)
              and 0 <= x < float("inf"),
              "fraction": lambda x: isinstance(x, numbers.Real) and not isinstance(x, bool)
              and 0 < x < 1,
              "mode": lambda x: x in (None, "add", "cat"),
              "bn": lambda x: x is None or isinstance(x, bool)}[k](v)
        if not ok:
            allowed = {"factor": "a number > 1", "noise": "a number >= 0",
                       "fraction": "a number in (0, 1)", "mode": "'add', 'cat' or None",
                       "bn": "True, False or None"}[k]
            raise ValueError(f"morph_kwargs[{k!r}]: got {v!r}; allowed is {allowed}")
    return kw


@dataclass
class Member:
    """One evaluated network: its trial, description, objectives and checkpoint (if any)."""

    trial_id: int
    description: dict[str, Any]
    error: float
    cheap: np.ndarray
    generation: int
    parent: int | None = None
    morphism: str | None = None
    checkpoint: Any = None

    @property
    def objectives(self) -> np.ndarray:
        return np.concatenate([[self.error], self.cheap])


class LEMONADE(Optimizer):
    """LEMONADE (Elsken, Metzen & Hutter, ICLR 2019, Algorithm 1) as an ask/tell optimizer.

    Parameters
    ----------
    space
        Unused by the search (architectures come from morphisms); accepted so that
        ``lowfi.optimizers.get("lemonade", space)`` works. None gives a placeholder space.
    initial
        Initial population: descriptions (dicts) or :class:`lowfi.nas.Network` objects.
        Default: ``n_init`` small random networks of family ``kind``.
    n_init, kind, input_shape, n_classes
        The default initial population (``kind`` ``"mlp"`` or ``"cnn"``; one hidden layer).
    n_children
        Children proposed per generation (``n_pc`` in the paper); only their cheap objectives
        are computed.
    n_accept
        Children accepted and trained per generation (``n_ac``).
    n_generations
        Stop (``ask`` returns None) after this many generations; None for no limit.
    cheap
        Cheap objectives: names in ``{"n_params", "flops"}`` or callables ``description ->
        float`` (e.g. a latency measured on this machine, :func:`measure_latency`).
    log_cheap
        Fit the KDE to ``log10`` of the cheap objectives (they span orders of magnitude).
    morphisms
        Operators children are made with, and ``morphism_probs`` their probabilities.
    morph_kwargs
        Extra arguments of :func:`lowfi.nas.morphisms.plan` (e.g. ``{"noise": 0.01}``).
    max_budget
        Budget of every child trial (e.g. epochs of training from the inherited weights).
    init_budget
        Budget of the initial networks (default ``max_budget``).
    max_params
        Children with more parameters are not proposed (None: no limit).
    seed
        Seed of all random choices.
    """

    #: losses are tuples (expensive objective first); the Pareto front is the result
    multi_objective = True
    searches_networks = True


    def __init__(self, space: Any = None, initial: Sequence[Any] | None = None, n_init: int = 4,
                 kind: str = "mlp", input_shape: Sequence[int] | None = None, n_classes: int = 10,
                 n_children: int = 32, n_accept: int = 4, n_generations: int | None = None,
                 cheap: Sequence[Any] = ("n_params",), log_cheap: bool = True,
                 morphisms: Sequence[str] = _m.KINDS, morphism_probs: Sequence[float] | None = None,
                 morph_kwargs: dict[str, Any] | None = None, max_budget: float = 1.0,
                 init_budget: float | None = None, max_params: int | None = None,
                 seed: SeedLike = None, **kwargs: Any):
        kwargs.pop("min_budget", None)
        kwargs.pop("eta", None)
        if kwargs:
            from lowfi.optimizers.base import unexpected_arguments

            raise TypeError(unexpected_arguments(type(self), kwargs))
        own = {"lemonade": "architecture"}
        super().__init__(own if space is None else space, seed)
        if self.space.names != ["lemonade"]:
            raise ValueError(f"space: got a space with {self.space.names}; LEMONADE searches "
                             "network descriptions (lowfi.nas.morphisms), not hyperparameters: "
                             "pass space=None and an objective that trains config['network']")
        for name, v, lo in (("n_children", n_children, 1), ("n_accept", n_accept, 1),
                            ("n_init", n_init, 1)):
            if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v < lo:
                raise ValueError(f"{name}: got {v!r}; it must be an integer >= {lo}")
        if n_accept > n_children:
            raise ValueError(f"n_accept: got {n_accept} > n_children={n_children}; at most "
                             "n_children children can be accepted")
        if n_generations is not None and (not isinstance(n_generations, numbers.Integral)
                                          or n_generations < 0):
            raise ValueError(f"n_generations: got {n_generations!r}; an integer >= 0 or None")
        bad = [k for k in morphisms if k not in _m.KINDS]
        if bad or not morphisms:
            raise ValueError(f"morphisms: got {list(morphisms)!r}; allowed are {list(_m.KINDS)}")
        if morphism_probs is None:
            probs = np.full(len(morphisms), 1.0 / len(morphisms))
        else:
            probs = np.asarray(morphism_probs, dtype=float)
            if probs.shape != (len(morphisms),) or np.any(probs < 0) or probs.sum() <= 0:
                raise ValueError(f"morphism_probs: got {morphism_probs!r}; one weight >= 0 per "
                                 "morphism, not all zero")
            probs = probs / probs.sum()
        self._cheap_fns: list[Callable[[dict], float]] = []
        self.cheap_names: list[str] = []
        for c in cheap:
            if isinstance(c, str):
                if c not in CHEAP:
                    raise ValueError(f"cheap: got {c!r}; allowed are {sorted(CHEAP)} or callables")
                self._cheap_fns.append(CHEAP[c])
                self.cheap_names.append(c)
            elif callable(c):
                self._cheap_fns.append(c)
                self.cheap_names.append(getattr(c, "__name__", "cheap"))
            else:
                raise TypeError(f"cheap: got {c!r}; pass names or callables")
        if not self._cheap_fns:
            raise ValueError("cheap: at least one cheap objective is required")
        if not max_budget > 0:
            raise ValueError(f"max_budget: got {max_budget!r}; it must be > 0")
        if init_budget is not None and (isinstance(init_budget, bool)
                                        or not isinstance(init_budget, numbers.Real)
                                        or not 0 < init_budget < float("inf")):
            raise ValueError(f"init_budget: got {init_budget!r}; allowed are None (max_budget) "
                             "or a number > 0")
        if max_params is not None and (isinstance(max_params, bool)
                                       or not isinstance(max_params, numbers.Integral)
                                       or max_params < 1):
            raise ValueError(f"max_params: got {max_params!r}; allowed are None or an "
                             "integer >= 1")
        self.max_budget = float(max_budget)
        self.init_budget = float(max_budget if init_budget is None else init_budget)
        morph_kwargs = _check_morph_kwargs(morph_kwargs)
        self.n_children, self.n_accept = int(n_children), int(n_accept)
        self.n_generations = n_generations
        self.log_cheap = bool(log_cheap)
        self.morphisms, self.morphism_probs = list(morphisms), probs
        self.morph_kwargs = dict(morph_kwargs or {})
        self.max_params = max_params
        if initial is None:
            initial = [_m.random_description(kind, self.rng, input_shape=input_shape,
                                             n_classes=n_classes, depth=(1, 1), widths=(8, 16, 32))
                       for _ in range(n_init)]
        self._initial = [_m.validate_description(getattr(x, "description", x)) for x in initial]
        if not self._initial:
            raise ValueError("initial: got an empty population")

        self.generation = 0  # generations completed (0: initial population not yet evaluated)
        self.population: list[Member] = []
        self.evaluated: list[Member] = []
        self.front_history: list[np.ndarray] = []  # objectives of the population after each gen.
        self.proposed: list[int] = []  # children proposed (cheap objectives only) per generation
        self._queue: list[tuple[dict, float, dict]] = []
        self._outstanding: set[int] = set()
        self._batch: list[Member] = []
        self._started = False

    # ------------------------------------------------------------------ objectives
    def cheap_objectives(self, description: dict) -> np.ndarray:
        """The cheap objectives of a description (raw values, in ``cheap`` order)."""
        return np.array([float(f(description)) for f in self._cheap_fns])

    def _kde_space(self, C: np.ndarray) -> np.ndarray:
        return np.log10(np.maximum(C, 1e-12)) if self.log_cheap else C

    def density(self, cheap_values: Any) -> np.ndarray:
        """``p_KDE`` of the population's cheap objectives, evaluated at ``cheap_values``."""
        P = np.array([m.cheap for m in self.population])
        Q = np.atleast_2d(np.asarray(cheap_values, dtype=float))
        return kde_density(self._kde_space(P), self._kde_space(Q))

    def parent_probabilities(self) -> np.ndarray:
        """Eq. (1): ``p(N) ∝ 1 / p_KDE(f_cheap(N))`` over the population."""
        dens = self.density([m.cheap for m in self.population])
        w = 1.0 / np.maximum(dens, 1e-300)
        return w / w.sum()

    # ------------------------------------------------------------------ ask / tell
    def _ask(self) -> Trial | None:
        if not self._queue:
            if self._outstanding:
                return None  # wait for the generation to finish
            if not self._started:
                self._start_initial()
            elif self.n_generations is None or self.generation <= self.n_generations:
                self._start_generation()
            if not self._queue:
                return None
        config, budget, info = self._queue.pop(0)
        trial = self._new_trial(config, budget, **info)
        self._outstanding.add(trial.id)
        return trial

    def _start_initial(self) -> None:
        self._started = True
        for desc in self._initial:
            cfg = {"network": desc, "parent": None, "morphism": None, "generation": 0,
                   "seed": int(self.rng.integers(2**31 - 1))}
            self._queue.append((cfg, self.init_budget, {"parent_checkpoint": None}))

    def _start_generation(self) -> None:
        if not self.population:  # every network so far failed: no parent to morph (ask -> None)
            return
        g = self.generation
        probs = self.parent_probabilities()
        parents = self.rng.choice(len(self.population), size=self.n_children, p=probs)
        children = []
        for pi in parents:
            parent = self.population[int(pi)]
            child = self._make_child(parent)
            if child is not None:
                children.append((parent, *child))
        self.proposed.append(len(children))
        if not children:
            return
        C = np.array([c[3] for c in children])
        dens = self.density(C)
        w = 1.0 / np.maximum(dens, 1e-300)
        k = min(self.n_accept, len(children))
        accepted = self.rng.choice(len(children), size=k, replace=False, p=w / w.sum())
        for ci in sorted(int(a) for a in accepted):
            parent, desc, op, _ = children[ci]
            cfg = {"network": desc, "parent": parent.trial_id, "morphism": op, "generation": g,
                   "seed": int(self.rng.integers(2**31 - 1))}
            self._queue.append((cfg, self.max_budget, {"parent_checkpoint": parent.checkpoint}))

    def _make_child(self, parent: Member) -> tuple[dict, dict, np.ndarray] | None:
        for _ in range(10):
            kind = self.morphisms[int(self.rng.choice(len(self.morphisms), p=self.morphism_probs))]
            if not _m._candidates(parent.description, kind):
                continue
            kw = {k: v for k, v in self.morph_kwargs.items() if k in _MORPH_ARGS.get(kind, ())}
            op = _m.plan(parent.description, kind, self.rng, **kw)
            desc = _m.apply_to_description(parent.description, op)
            if self.max_params is not None and _m.count_params(desc) > self.max_params:
                continue
            return desc, op, self.cheap_objectives(desc)
        return None

    def _tell(self, trial: Trial, result: Result) -> None:
        self._outstanding.discard(trial.id)
        if result.status != "failed" and result.loss is not None:
            loss = result.loss
            error = float(loss[0] if isinstance(loss, tuple) else loss)
            cfg = trial.config
            op = cfg.get("morphism")
            m = Member(trial.id, cfg["network"], error, self.cheap_objectives(cfg["network"]),
                       int(cfg.get("generation", self.generation)), cfg.get("parent"),
                       None if op is None else op.get("kind"), result.info.get("checkpoint"))
            self._batch.append(m)
            self.evaluated.append(m)
        if not self._outstanding and not self._queue:
            self._close_generation()

    def _close_generation(self) -> None:
        pool = self.population + self._batch
        self._batch = []
        if pool:
            self.population = _front(pool)
        self.front_history.append(np.array([m.objectives for m in self.population]))
        self.generation += 1

    # ------------------------------------------------------------------ results
    def front(self, include_open: bool = True) -> list[Member]:
        """The current Pareto front (with the results of an unfinished generation if
        ``include_open``), sorted by error."""
        pool = self.population + (self._batch if include_open else [])
        return sorted(_front(pool), key=lambda m: (m.error, *m.cheap)) if pool else []

    def incumbent(self) -> tuple[dict[str, Any], float] | None:
        """The lowest-error evaluated network: ``({"network": description, ...}, error)``."""
        if not self.evaluated:
            return None
        best = min(self.evaluated, key=lambda m: (m.error, *m.cheap))
        return {"network": best.description, "trial_id": best.trial_id}, best.error


def _front(pool: list[Member]) -> list[Member]:
    """Non-dominated members of ``pool``; of members with identical objectives the first stays."""
    F = np.array([m.objectives for m in pool])
    _, first = np.unique(F, axis=0, return_index=True)
    unique = np.zeros(len(pool), dtype=bool)
    unique[first] = True
    keep = pareto_mask(F) & unique
    return [m for m, k in zip(pool, keep, strict=True) if k]


# ====================================================================== worker side (torch)
def _require_torch():
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ImportError("LEMONADE's worker helpers need PyTorch: pip install lowfi[nas]") from exc
    return torch


def save_checkpoint(network: Any, path: str) -> str:
    """Save a :class:`lowfi.nas.Network` (description + weights) to ``path``; returns ``path``."""
    torch = _require_torch()
    torch.save({"description": network.description, "state": network.state_dict()}, path)
    return str(path)


def load_checkpoint(path: str) -> Any:
    """Load a network saved by :func:`save_checkpoint`."""
    torch = _require_torch()
    from lowfi.nas.network import Network

    blob = torch.load(path, weights_only=True)
    net = Network(blob["description"])
    net.load_state_dict(blob["state"])
    return net


def child_network(trial: Trial, parent: Any = None) -> Any:
    """The network a LEMONADE trial evaluates, with inherited weights.

    Initial networks are built from ``config["seed"]``; children apply ``config["morphism"]``
    to ``parent`` (a :class:`lowfi.nas.Network`) or, if None, to the network loaded from
    ``trial.info["parent_checkpoint"]``.
    """
    _require_torch()
    from lowfi.nas.network import Network

    cfg = trial.config
    if cfg.get("morphism") is None:
        return Network(cfg["network"], seed=cfg.get("seed"))
    if parent is None:
        path = trial.info.get("parent_checkpoint")
        if path is None:
            raise ValueError(f"trial {trial.id}: no parent network given and the parent reported "
                             "no info['checkpoint']")
        parent = load_checkpoint(path)
    child = _m.apply(parent, cfg["morphism"], measure=False)
    if child.description != _m.validate_description(cfg["network"]):
        raise ValueError(f"trial {trial.id}: the parent does not match the planned morphism")
    return child


def measure_latency(description: dict, batch: int = 1, repeats: int = 20) -> float:
    """Median seconds of one forward pass of the described network on this machine (CPU).

    A cheap objective for :class:`LEMONADE` (``cheap=("n_params", measure_latency)``); it reads
    the clock, so runs using it are not exactly reproducible.
    """
    torch = _require_torch()
    from lowfi.nas.network import Network

    net = Network(description, seed=0).eval()
    x = torch.zeros((batch, *net.input_shape))
    times = []
    with torch.no_grad():
        net(x)
        for _ in range(repeats):
            t0 = time.perf_counter()
            net(x)
            times.append(time.perf_counter() - t0)
    return float(np.median(times))


@dataclass
class LemonadeRun:
    """What :func:`run_lemonade` returns."""

    optimizer: LEMONADE
    front: list[Member]
    networks: dict[int, Any] = field(default_factory=dict)
    total_cost: float = 0.0

    @property
    def front_objectives(self) -> np.ndarray:
        return np.array([m.objectives for m in self.front])


def run_lemonade(train_fn: Callable[..., Any], *, optimizer: LEMONADE | None = None,
                 max_cost: float | None = None, max_trials: int | None = None,
                 callback: Callable[[Trial, Result, Any], None] | None = None,
                 **kwargs: Any) -> LemonadeRun:
    """Run LEMONADE in this process, keeping networks (with weights) in memory.

    Parameters
    ----------
    train_fn
        ``train_fn(network, budget) -> error`` (or a :class:`lowfi.Result`): trains ``network``
        in place for ``budget`` (initial networks from scratch, children from their inherited
        weights) and returns the validation error.
    optimizer
        A :class:`LEMONADE`; else one is built from ``kwargs``.
    max_cost
        Stop once the summed cost reaches it (a result's ``cost``, else the trial's budget).
    max_trials
        Stop after this many evaluations.
    callback
        Called as ``callback(trial, result, network)`` after each evaluation.
    """
    _require_torch()
    opt = optimizer if optimizer is not None else LEMONADE(**kwargs)
    if optimizer is not None and kwargs:
        raise TypeError(f"run_lemonade: pass either optimizer or its arguments, not both "
                        f"(got {sorted(kwargs)})")
    networks: dict[int, Any] = {}
    total, n = 0.0, 0
    while (max_cost is None or total < max_cost) and (max_trials is None or n < max_trials):
        trial = opt.ask()
        if trial is None:
            break
        parent = networks.get(trial.config["parent"]) if trial.config["parent"] is not None else None
        net = child_network(trial, parent=parent)
        out = train_fn(net, trial.budget)
        result = out if isinstance(out, Result) else Result(loss=(float(out), float(net.n_params)))
        if result.cost is None:
            result.cost = float(trial.budget)
        opt.tell(trial, result)
        networks[trial.id] = net
        total += result.cost
        n += 1
        if callback is not None:
            callback(trial, result, net)
        keep = {m.trial_id for m in opt.population} | {m.trial_id for m in opt._batch}
        networks = {k: v for k, v in networks.items() if k in keep}
    front = opt.front()
    return LemonadeRun(opt, front, {m.trial_id: networks[m.trial_id] for m in front
                                    if m.trial_id in networks}, total)
