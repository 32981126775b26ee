"""Integrations with other libraries: a scikit-learn search estimator (``LowfiSearchCV``, also
named ``SearchCV``) and PyTorch training-loop reporting (:mod:`lowfi.integrations.torch`)."""


def __getattr__(name):  # keep `import lowfi.integrations` light
    if name in ("LowfiSearchCV", "SearchCV"):
        from lowfi.integrations.sklearn import LowfiSearchCV

        return LowfiSearchCV
    if name in ("TorchCheckpoint", "epochs"):
        from lowfi.integrations import torch as _torch

        return getattr(_torch, name)
    raise AttributeError(f"module 'lowfi.integrations' has no attribute {name!r}")


__all__ = ["LowfiSearchCV", "SearchCV", "TorchCheckpoint", "epochs"]
