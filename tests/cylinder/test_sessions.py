"""Spec: "Sessions" — the SQLite session recipe, set up in app_map; then cylinder-sessions
served by real waitress processes."""

from __future__ import annotations

import http.client
import json
import os
import secrets
import socket
import sqlite3
import subprocess
import sys
import time
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


# cylinder-sessions, end to end: two waitress processes share one SQLite store


EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sqlite_sessions"

SERVER = """
import socket, sys
import waitress
sys.path.insert(0, sys.argv[2])
import cylinder_main
listener = socket.socket(fileno=int(sys.argv[1]))
waitress.serve(cylinder_main.create_app(), sockets=[listener], threads=4)
"""

#: Every wait in these tests gives up after this many seconds.
TIMEOUT = 30.0


def _start_server(tmp_path: Path, database: Path, name: str) -> tuple[subprocess.Popen[bytes], int]:
    listener = socket.create_server(("127.0.0.1", 0))
    port = int(listener.getsockname()[1])
    environ = {**os.environ, "SESSIONS_DB": str(database), "PYTHONUNBUFFERED": "1"}
    with (tmp_path / f"{name}.err").open("wb") as errors:
        process = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(listener.fileno()), str(EXAMPLE)],
            env=environ,
            stdin=subprocess.DEVNULL,
            stdout=errors,
            stderr=errors,
            pass_fds=[listener.fileno()],
        )
    listener.close()
    return process, port


def _request(port: int, method: str, path: str, cookie: str | None) -> tuple[int, str | None, str]:
    """(status, Set-Cookie, body) of one request; retried while the server is starting."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
        try:
            connection.request(method, path, headers={"Cookie": cookie} if cookie else {})
            response = connection.getresponse()
            body = response.read().decode()
            return response.status, response.getheader("Set-Cookie"), body
        except ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)  # the server is still importing
        finally:
            connection.close()


def test_two_server_processes_share_sessions_in_one_sqlite_file(tmp_path: Path) -> None:
    database = tmp_path / "sessions.sqlite"
    servers = [_start_server(tmp_path, database, name) for name in ("a", "b")]
    try:
        cookie = None
        for visit in range(1, 9):
            port = servers[visit % 2][1]  # alternate between the two processes
            status, issued, body = _request(port, "GET", "/", cookie)
            assert status == 200
            assert f"Visit number {visit}" in body, body
            if visit == 1:
                assert issued is not None
                cookie = issued.split(";", 1)[0]
            else:
                assert issued is None  # the other process found the same session
        assert cookie is not None
        assert _request(servers[0][1], "POST", "/forget", cookie)[0] == 303
        status, issued, body = _request(servers[1][1], "GET", "/", cookie)
        assert "Visit number 1" in body  # the session ended for both processes
        assert issued is not None
    finally:
        for process, _ in servers:
            process.terminate()
        for process, _ in servers:
            try:
                process.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
