"""Core records shared by every layer: trials, results, the history view and seeding."""

from lowfi.core.history import History, Record
from lowfi.core.seeding import as_generator, spawn
from lowfi.core.trial import Result, Status, StoppingRule, Trial, TrialHandle, TrialRecord, negate

__all__ = ["History", "Record", "Result", "Status", "StoppingRule", "Trial", "TrialHandle",
           "TrialRecord", "as_generator", "negate", "spawn"]
