"""Integrations with other libraries: a scikit-learn search estimator (``SearchCV``, also
named ``LowfiSearchCV``) and PyTorch training-loop reporting (:mod:`lowfi.integrations.torch`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # real signatures for type checkers; loaded lazily at run time
    from lowfi.integrations.sklearn import LowfiSearchCV, SearchCV
    from lowfi.integrations.torch import TorchCheckpoint, epochs


def __getattr__(name: str) -> Any:  # keep `import lowfi.integrations` light
    if name in ("LowfiSearchCV", "SearchCV"):
        from lowfi.integrations import sklearn as _sklearn

        return getattr(_sklearn, name)
    if name in ("TorchCheckpoint", "epochs"):
        from lowfi.integrations import torch as _torch

        return getattr(_torch, name)
    raise AttributeError(f"module 'lowfi.integrations' has no attribute {name!r}")


__all__ = ["LowfiSearchCV", "SearchCV", "TorchCheckpoint", "epochs"]
