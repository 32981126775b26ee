"""lowfi: efficient hyperparameter optimization and neural architecture search.

Multi-fidelity schedulers, model-based proposers, learning-curve extrapolation, weight
inheritance and weight sharing behind one ask/tell core and one run loop.

``import lowfi`` is light (numpy only): ConfigSpace, scipy, pandas and the optimizers load
when a name that needs them is first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lowfi import _logging  # noqa: F401 - the "lowfi" logger's NullHandler
from lowfi.core import History, Result, Status, StoppingRule, Trial, TrialRecord

__version__ = "0.1.0"

if TYPE_CHECKING:  # the real names for type checkers and IDEs; loaded lazily at run time
    from lowfi import analysis as analysis
    from lowfi import benchmarks as benchmarks
    from lowfi import curves as curves
    from lowfi import execution as execution
    from lowfi import integrations as integrations
    from lowfi import models as models
    from lowfi import nas as nas
    from lowfi import optimizers as optimizers
    from lowfi import storage as storage
    from lowfi.run.loop import RunResult, TrialsFailedError, minimize, resume
    from lowfi.run.study import Study
    from lowfi.space import Space

_SUBMODULES = ("optimizers", "benchmarks", "curves", "nas", "models", "execution", "storage",
               "analysis", "integrations", "space", "run", "core")


def __getattr__(name: str):  # lazy: keep `import lowfi` light
    if name in ("minimize", "resume", "RunResult", "TrialsFailedError"):
        from lowfi.run import loop

        return getattr(loop, name)
    if name == "Study":
        from lowfi.run.study import Study

        return Study
    if name == "Space":
        from lowfi.space import Space

        return Space
    if name in _SUBMODULES:
        import importlib

        return importlib.import_module(f"lowfi.{name}")
    raise AttributeError(f"module 'lowfi' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__) | set(_SUBMODULES))


__all__ = ["History", "Result", "RunResult", "Space", "Status", "StoppingRule", "Study", "Trial",
           "TrialRecord", "TrialsFailedError",
           "minimize", "resume", "__version__"]
