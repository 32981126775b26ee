"""lowfi: efficient hyperparameter optimization and neural architecture search.

Multi-fidelity schedulers, model-based proposers, learning-curve extrapolation, weight
inheritance and weight sharing behind one ask/tell core and one run loop.
"""

from lowfi.core import History, Result, StoppingRule, Trial
from lowfi.space import Space

__version__ = "0.1.0"


def __getattr__(name):  # lazy: keep `import lowfi` light
    if name in ("minimize", "resume"):
        from lowfi.run import loop

        return getattr(loop, name)
    if name == "Study":
        from lowfi.run.study import Study

        return Study
    if name in ("optimizers", "benchmarks", "curves", "nas", "models", "execution", "storage",
                "analysis", "integrations"):
        import importlib

        return importlib.import_module(f"lowfi.{name}")
    raise AttributeError(f"module 'lowfi' has no attribute {name!r}")


__all__ = ["History", "Result", "Space", "StoppingRule", "Study", "Trial", "minimize", "resume",
           "__version__"]
