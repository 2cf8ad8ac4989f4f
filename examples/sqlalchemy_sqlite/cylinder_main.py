"""SQLAlchemy on SQLite: a notes API whose handlers get a session factory from ``app_map``.

Run it with ``python examples/sqlalchemy_sqlite/cylinder_main.py`` (``PORT`` changes the port,
``NOTES_DB`` the database file), then::

    curl -i http://127.0.0.1:8000/notes --json '{"text": "buy milk"}'
    curl -i http://127.0.0.1:8000/notes

The engine, the session factory and the tables are set up once, when this module is imported;
changing them needs a restart, while the handlers reload on their own.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import db
import models
import waitress
from werkzeug.wrappers import Request

import cylinder

SITE_DIR = Path(__file__).resolve().parent / "my_webapps"

models.Base.metadata.create_all(db.engine)


def app_map(request: Request) -> tuple[Path, str, dict[str, Any]]:
    """One site; handlers ask for ``SessionLocal`` to talk to the database."""
    return SITE_DIR, "webapp1", {"SessionLocal": db.SessionLocal}


def main() -> None:
    port = int(os.environ.get("PORT", "8000"))
    app = cylinder.get_app(app_map)
    print(f"Serving sqlalchemy_sqlite on http://127.0.0.1:{port}/notes", flush=True)
    print(f"Notes are kept in {db.DB_PATH}", flush=True)
    try:
        waitress.serve(app, host="127.0.0.1", port=port)
    finally:
        db.engine.dispose()


if __name__ == "__main__":
    main()
