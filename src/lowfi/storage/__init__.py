"""Storage: the SQLite journal that records every trial event and makes runs resumable."""

from lowfi.storage.journal import Journal, load_trials, trials_frame

__all__ = ["Journal", "load_trials", "trials_frame"]
