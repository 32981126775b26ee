"""Lazy, friendly import of PyTorch for :mod:`lowfi.nas.darts` (see :mod:`lowfi.nas._torch`)."""

from lowfi.nas._torch import require_torch

__all__ = ["require_torch"]
