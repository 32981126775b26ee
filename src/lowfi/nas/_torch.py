"""Lazy, friendly import of PyTorch for lowfi.nas (an error naming the extra to install)."""

from __future__ import annotations


def require_torch(what: str = "lowfi.nas.darts"):
    """Return the ``torch`` module or raise an ImportError naming the extra to install."""
    try:
        import torch
    except ImportError as exc:
        raise ImportError(
            f"{what} needs PyTorch; install it with `pip install 'lowfi[nas]'` (a CPU-only "
            "build: `pip install torch --index-url https://download.pytorch.org/whl/cpu` "
            "first)"
        ) from exc
    return torch
