"""Spec: "Sessions" — the SQLite session recipe, set up in app_map."""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections import UserDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cylinder


def test_sqlite_sessions_count_visits(
    make_app: Callable[..., cylinder.Application], sites: Path, tmp_path: Path
) -> None:
    database = str(tmp_path / "sessions.sqlite")
    connections: list[sqlite3.Connection] = []

    class SessionDict(UserDict[str, Any]):
        def __init__(self, uid: str) -> None:
            self.uid = uid
            self.conn = sqlite3.connect(database)
            connections.append(self.conn)
            self.conn.execute("CREATE TABLE IF NOT EXISTS store (uid TEXT PRIMARY KEY, data TEXT)")
            row = self.conn.execute("SELECT data FROM store WHERE uid=?", (self.uid,)).fetchone()
            super().__init__(json.loads(row[0]) if row else {})

        def _save(self) -> None:
            self.conn.execute(
                "INSERT OR REPLACE INTO store VALUES (?, ?)", (self.uid, json.dumps(self.data))
            )
            self.conn.commit()

        def __setitem__(self, key: str, value: Any) -> None:
            super().__setitem__(key, value)
            self._save()

    def app_map(request: Any, response: Any) -> Any:
        session_id = request.cookies.get("session_id") or secrets.token_urlsafe(32)
        response.set_cookie("session_id", session_id, httponly=True)
        session = SessionDict(session_id)
        return str(sites), "webapp1", {"session": session, "session_id": session_id}

    app = make_app(
        {
            "webapp1.ex.get.py": """
            def main(response, request, session, session_id):
                visits = session.get("visits", 0)
                session["visits"] = visits + 1
                response.data = f"visits: {visits}"
                return response
        """
        },
        app_map=app_map,
    )
    client = app.test_client()
    first = client.get("/")
    assert first.text == "visits: 0"
    assert "HttpOnly" in first.headers["Set-Cookie"]
    assert client.get("/").text == "visits: 1"
    assert client.get("/").text == "visits: 2"
    assert app.test_client().get("/").text == "visits: 0"  # a new browser, a new session
    for conn in connections:
        conn.close()
