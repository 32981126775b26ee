"""Lazy, friendly import of PyTorch for :mod:`lowfi.nas.darts`."""

from __future__ import annotations


def require_torch():
    """Return the ``torch`` module or raise an ImportError naming the extra to install."""
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ImportError(
            "lowfi.nas.darts needs PyTorch; install it with `pip install lowfi[nas]` "
            "(CPU wheel: `pip install torch==2.13.0`)"
        ) from exc
    return torch
