"""Sessions stored on the server in SQLite, found again through a ``session_id`` cookie.

Run it with ``python examples/sqlite_sessions/cylinder_main.py`` and reload
http://127.0.0.1:8000 a few times. ``PORT`` changes the port, ``SESSIONS_DB`` the database
file; set ``SESSION_COOKIE_SECURE=1`` when the site is served over HTTPS.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import waitress
from sessions import SessionStore
from werkzeug.wrappers import Request, Response

import cylinder

SITE_DIR = Path(__file__).resolve().parent / "my_webapps"
SESSIONS_DB = Path(
    os.environ.get("SESSIONS_DB") or Path(tempfile.gettempdir(), "cylinder-sessions.sqlite")
)
SECURE_COOKIE = os.environ.get("SESSION_COOKIE_SECURE") == "1"

store = SessionStore(SESSIONS_DB)


def app_map(request: Request, response: Response) -> tuple[Path, str, dict[str, Any]]:
    """Load the client's session and (re)send its cookie; handlers ask for ``session``.

    The cookie is set on the one response of the request, so it is kept even when a
    handler aborts or redirects.
    """
    session = store.load(request.cookies.get("session_id"))
    response.set_cookie(
        "session_id", session.id, httponly=True, samesite="Lax", secure=SECURE_COOKIE
    )
    return SITE_DIR, "webapp1", {"session": session}


def main() -> None:
    port = int(os.environ.get("PORT", "8000"))
    app = cylinder.get_app(app_map)
    print(f"Serving sqlite_sessions on http://127.0.0.1:{port}", flush=True)
    print(f"Sessions are kept in {SESSIONS_DB}", flush=True)
    waitress.serve(app, host="127.0.0.1", port=port)


if __name__ == "__main__":
    main()
