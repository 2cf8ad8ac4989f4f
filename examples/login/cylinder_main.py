"""Sign in and out with cylinder-sessions: rotate on login, CSRF on forms, flash messages.

Run it with ``python examples/login/cylinder_main.py`` and open http://127.0.0.1:8000; sign in
as ``ada`` with the password ``analytical engine``. ``PORT`` changes the port, ``SESSIONS_DB``
the database file; set ``SESSION_COOKIE_SECURE=1`` when the site is served over HTTPS.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import tempfile
from pathlib import Path
from typing import Any

import waitress
from werkzeug.wrappers import Request

import cylinder
from cylinder_sessions import SessionManager

SITE_DIR = Path(__file__).resolve().parent / "my_webapps"
SESSIONS_DB = Path(
    os.environ.get("SESSIONS_DB") or Path(tempfile.gettempdir(), "cylinder-login.sqlite")
)
SECURE_COOKIE = os.environ.get("SESSION_COOKIE_SECURE") == "1"


def hash_password(password: str, salt: bytes) -> bytes:
    """A slow, salted hash of ``password`` (scrypt), for storing instead of the password."""
    return hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)


#: The demo's one account: user name -> (salt, hash of the password).
_SALT = secrets.token_bytes(16)
USERS = {"ada": (_SALT, hash_password("analytical engine", _SALT))}


def check_password(user: str, password: str) -> bool:
    """Whether ``password`` is ``user``'s, in the same time whether or not the user exists."""
    salt, expected = USERS.get(user, (_SALT, b""))
    return hmac.compare_digest(hash_password(password, salt), expected)


def app_map(request: Request) -> tuple[Path, str, dict[str, Any]]:
    """One site; handlers also get ``check_password``."""
    return SITE_DIR, "webapp1", {"check_password": check_password}


def create_app() -> cylinder.Application:
    """The application, with sessions: handlers ask for ``session`` like any parameter."""
    app = cylinder.get_app(app_map)
    sessions = SessionManager(SESSIONS_DB, secure=SECURE_COOKIE)
    sessions.install(app)
    return app


def main() -> None:
    port = int(os.environ.get("PORT", "8000"))
    print(f"Serving login on http://127.0.0.1:{port}", flush=True)
    waitress.serve(create_app(), host="127.0.0.1", port=port)


if __name__ == "__main__":
    main()
