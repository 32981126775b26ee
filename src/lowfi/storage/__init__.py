"""Storage: the journal that records every trial event and makes runs resumable.

A journal is a SQLite file (a path or ``sqlite:///path``) or a PostgreSQL database
(``postgresql://user@host/db``); see :mod:`lowfi.storage.journal`.
"""

from lowfi.storage.journal import (
    DriverBusyError,
    Journal,
    JournalError,
    UntrustedJournalError,
    checkpoint_root,
    connect_readonly,
    load_trials,
    parse_storage,
    trials_frame,
)

__all__ = ["DriverBusyError", "Journal", "JournalError", "UntrustedJournalError",
           "checkpoint_root", "connect_readonly", "load_trials", "parse_storage", "trials_frame"]
