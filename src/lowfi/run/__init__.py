"""The run loop: ``lowfi.minimize``, ``lowfi.resume`` and ``lowfi.Study``."""

from lowfi.run.loop import RunResult, minimize, resume
from lowfi.run.study import Study

__all__ = ["RunResult", "Study", "minimize", "resume"]
