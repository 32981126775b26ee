"""The run loop: ``lowfi.minimize`` and ``lowfi.resume``."""

from lowfi.run.loop import RunResult, minimize, resume

__all__ = ["RunResult", "minimize", "resume"]
