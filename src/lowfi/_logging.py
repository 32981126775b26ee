"""The ``"lowfi"`` logger (the library convention: a ``NullHandler`` and nothing else).

lowfi logs one INFO line per finished trial and a WARNING per failed one on
``logging.getLogger("lowfi")``. It adds no handler that prints: configure logging in your
program to see them, e.g. ``logging.basicConfig(level=logging.INFO)`` or
``logging.getLogger("lowfi").setLevel(logging.INFO)`` with a handler of your own.
"""

from __future__ import annotations

import logging

logger = logging.getLogger("lowfi")
if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
    logger.addHandler(logging.NullHandler())

__all__ = ["logger"]
