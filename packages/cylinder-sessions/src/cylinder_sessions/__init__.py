"""cylinder-sessions: server-side sessions for Cylinder.

One cookie, several named stores, each with its own optional lifetime; the data stays on the
server behind a small driver interface (:mod:`cylinder_sessions.driver`), with SQLite as the
default store and an in-memory one for tests.
"""

from __future__ import annotations

from .driver import (
    Driver,
    Record,
    StoreRecord,
    StoreUnavailable,
    StoreWrite,
    WriteResult,
    Written,
)
from .errors import SessionError, SessionTooLarge, SessionUnavailable
from .ids import key_of, new_id
from .manager import SessionManager
from .memory import MemoryDriver
from .session import Session, Store
from .sqlite import SQLiteDriver

__all__ = [
    "Driver",
    "MemoryDriver",
    "Record",
    "SQLiteDriver",
    "Session",
    "SessionError",
    "SessionManager",
    "SessionTooLarge",
    "SessionUnavailable",
    "Store",
    "StoreRecord",
    "StoreUnavailable",
    "StoreWrite",
    "WriteResult",
    "Written",
    "key_of",
    "new_id",
]
