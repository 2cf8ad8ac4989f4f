"""Server-side sessions in SQLite: the browser holds only a random id, in a cookie."""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections import UserDict
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any


class SessionStore:
    """Sessions kept as JSON in one SQLite table.

    Each call opens its own short-lived connection, so one store can serve every thread.

    :param path: the SQLite file; created with its table if missing.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        with self._connect() as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, data TEXT)")

    def load(self, session_id: str | None) -> Session:
        """The session ``session_id`` names, or a new, empty one if it names none.

        An id the store never issued is not taken over: the client gets a fresh one.
        """
        if session_id:
            with self._connect() as conn:
                query = "SELECT data FROM sessions WHERE id = ?"
                row = conn.execute(query, (session_id,)).fetchone()
            if row is not None:
                return Session(self, session_id, json.loads(row[0]))
        session = Session(self, secrets.token_urlsafe(32), {})
        self.save(session)
        return session

    def save(self, session: Session) -> None:
        """Write ``session`` as it is now."""
        with self._connect() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO sessions (id, data) VALUES (?, ?)",
                (session.id, json.dumps(session.data)),
            )

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection that commits when the block succeeds and is closed in any case."""
        with closing(sqlite3.connect(self.path, timeout=10)) as conn, conn:
            yield conn


class Session(UserDict[str, Any]):
    """One client's data: a dict that writes itself to the store on every change.

    Values must be JSON-serializable. Two requests of the same client changing it at the
    same moment can overwrite each other's change; keep sessions small and simple.
    """

    def __init__(self, store: SessionStore, session_id: str, data: dict[str, Any]) -> None:
        super().__init__()
        self.data = data  # set directly: loading is not a change to save
        self.store = store
        self.id = session_id

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        self.store.save(self)

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self.store.save(self)

    def clear(self) -> None:
        self.data.clear()
        self.store.save(self)
