"""Sessions kept on the server in SQLite with cylinder-sessions; the browser holds only an id.

Run it with ``python examples/sqlite_sessions/cylinder_main.py`` and reload
http://127.0.0.1:8000 a few times. ``PORT`` changes the port, ``SESSIONS_DB`` the database
file. The cookie is sent over plain http here, for development; set ``SESSION_COOKIE_SECURE=1``
when the site is served over HTTPS (the package's default).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import waitress
from werkzeug.wrappers import Request

import cylinder
from cylinder_sessions import SessionManager

SITE_DIR = Path(__file__).resolve().parent / "my_webapps"
SESSIONS_DB = Path(
    os.environ.get("SESSIONS_DB") or Path(tempfile.gettempdir(), "cylinder-sessions.sqlite")
)
SECURE_COOKIE = os.environ.get("SESSION_COOKIE_SECURE") == "1"


def app_map(request: Request) -> tuple[Path, str]:
    """Send every request to the one site, ``my_webapps/webapp1``."""
    return SITE_DIR, "webapp1"


def create_app() -> cylinder.Application:
    """The application, with sessions: handlers ask for ``session`` like any parameter."""
    app = cylinder.get_app(app_map)
    sessions = SessionManager(SESSIONS_DB, secure=SECURE_COOKIE)
    sessions.install(app)
    return app


def main() -> None:
    port = int(os.environ.get("PORT", "8000"))
    print(f"Serving sqlite_sessions on http://127.0.0.1:{port}", flush=True)
    print(f"Sessions are kept in {SESSIONS_DB}", flush=True)
    waitress.serve(create_app(), host="127.0.0.1", port=port)


if __name__ == "__main__":
    main()
