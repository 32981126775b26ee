"""Optimizers: ask/tell state machines, schedulers and proposers.

``lowfi.optimizers.get(name, space, **kwargs)`` builds any optimizer by name.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from lowfi.optimizers.asha import ASHA
from lowfi.optimizers.base import (
    BlackBox,
    Optimizer,
    Proposer,
    RandomProposer,
    RandomSearch,
    check_budgets,
    n_rungs,
)
from lowfi.optimizers.bohb import BOHB, KDEProposer
from lowfi.optimizers.hyperband import (
    Hyperband,
    SuccessiveHalving,
    bracket_schedule,
    hyperband_schedule,
)
from lowfi.optimizers.tpe import TPE, TPEProposer

if TYPE_CHECKING:  # the lazily loaded classes, for type checkers and IDEs
    from lowfi.optimizers.auto import Auto
    from lowfi.optimizers.bnn_bo import BNNBO, BNNMFBO
    from lowfi.optimizers.evolution import RegularizedEvolution
    from lowfi.optimizers.freeze_thaw import FreezeThaw
    from lowfi.optimizers.gp import GPBO
    from lowfi.optimizers.lemonade import LEMONADE
    from lowfi.optimizers.mfbo import MFBO
    from lowfi.optimizers.pbt import PBT
    from lowfi.optimizers.reinforce import REINFORCE
    from lowfi.optimizers.smac import SMAC

#: name -> "module:attribute"; modules are imported only when the name is used
REGISTRY: dict[str, str] = {
    "random": "lowfi.optimizers.base:RandomSearch",
    "sh": "lowfi.optimizers.hyperband:SuccessiveHalving",
    "hyperband": "lowfi.optimizers.hyperband:Hyperband",
    "asha": "lowfi.optimizers.asha:ASHA",
    "auto": "lowfi.optimizers.auto:Auto",
    "bohb": "lowfi.optimizers.bohb:BOHB",
    "tpe": "lowfi.optimizers.tpe:TPE",
    "smac": "lowfi.optimizers.smac:SMAC",
    "gp": "lowfi.optimizers.gp:GPBO",
    "mfbo": "lowfi.optimizers.mfbo:MFBO",
    "freeze-thaw": "lowfi.optimizers.freeze_thaw:FreezeThaw",
    "re": "lowfi.optimizers.evolution:RegularizedEvolution",
    "reinforce": "lowfi.optimizers.reinforce:REINFORCE",
    "lemonade": "lowfi.optimizers.lemonade:LEMONADE",
    "pbt": "lowfi.optimizers.pbt:PBT",
    "bnn-bo": "lowfi.optimizers.bnn_bo:BNNBO",
    "bnn-mfbo": "lowfi.optimizers.bnn_bo:BNNMFBO",
    "multi-hyperband": "lowfi.optimizers.multi_fidelity:PathHyperband",
    "multi-mfbo": "lowfi.optimizers.multi_fidelity:MultiFidelityGP",
}
#: the optimizer used when none is named (lowfi.minimize, Study, SearchCV, ``lowfi demo``)
DEFAULT = "auto"

ALIASES = {"default": DEFAULT, "hb": "hyperband", "rs": "random", "random_search": "random",
           "successive_halving": "sh", "regularized_evolution": "re", "freeze_thaw": "freeze-thaw",
           "population_based_training": "pbt"}


def __getattr__(name: str):  # heavy optimizers (torch) load only when asked for
    lazy = {"Auto": "auto", "LEMONADE": "lemonade", "SMAC": "smac", "GPBO": "gp", "MFBO": "mfbo",
            "FreezeThaw": "freeze-thaw", "RegularizedEvolution": "re", "REINFORCE": "reinforce", "PBT": "pbt",
            "BNNBO": "bnn-bo", "BNNMFBO": "bnn-mfbo"}
    if name in lazy:
        return _load(lazy[name])
    raise AttributeError(f"module 'lowfi.optimizers' has no attribute {name!r}")


def _load(name: str):
    module, attr = REGISTRY[name].split(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"optimizer: {name!r} is not available in this installation ({exc})") from exc


def available() -> list[str]:
    """Names whose implementation can be imported here."""
    out = []
    for name in REGISTRY:
        try:
            _load(name)
        except ValueError:
            continue
        out.append(name)
    return out


def get(name: str, space: Any, **kwargs: Any) -> Optimizer:
    """Build an optimizer by name, e.g. ``get("hyperband", space, min_budget=1, max_budget=81)``.

    Every optimizer accepts ``seed``; multi-fidelity ones need ``min_budget``, ``max_budget``
    and take ``eta``; single-fidelity ones evaluate at ``max_budget`` (default 1) and ignore
    ``min_budget`` and ``eta``.
    """
    if not isinstance(name, str) or ALIASES.get(name, name) not in REGISTRY:
        hint = ""
        if isinstance(name, str):
            import difflib

            names = sorted({*REGISTRY, *ALIASES})
            close = [n for n in names if n == name.lower().replace("_", "-")] or \
                difflib.get_close_matches(name.lower(), names, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(f"optimizer: got {name!r}{hint}; known optimizers are "
                         f"{', '.join(sorted(REGISTRY))}")
    cls = _load(ALIASES.get(name, name))
    if getattr(cls, "multi_fidelity", False):
        for key in ("min_budget", "max_budget"):
            if kwargs.get(key) is None:
                raise ValueError(f"{key}: {name!r} is a multi-fidelity optimizer and needs {key}")
    else:
        kwargs = dict(kwargs)
        kwargs.pop("min_budget", None)
        kwargs.pop("eta", None)
        if kwargs.get("max_budget") is None:
            kwargs.pop("max_budget", None)
    import inspect

    params = inspect.signature(cls.__init__).parameters
    if not any(p.kind == p.VAR_KEYWORD for p in params.values()):
        bad = {k: v for k, v in kwargs.items() if k not in params}
        if bad:
            from lowfi.optimizers.base import unexpected_arguments

            raise TypeError(unexpected_arguments(cls, bad))
    return cls(space, **kwargs)


__all__ = [
    "ASHA", "Auto", "BOHB", "DEFAULT", "KDEProposer", "TPE", "TPEProposer", "BlackBox", "Hyperband", "Optimizer", "Proposer", "RandomProposer", "RandomSearch",
    "SuccessiveHalving", "available", "bracket_schedule", "check_budgets", "get",
    "hyperband_schedule", "n_rungs", "REGISTRY", "LEMONADE", "SMAC", "GPBO", "MFBO", "FreezeThaw",
    "RegularizedEvolution", "REINFORCE", "PBT", "BNNBO", "BNNMFBO",
]
