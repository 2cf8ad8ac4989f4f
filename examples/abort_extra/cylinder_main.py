"""abort_extra: teaching ``abort()`` a status code Werkzeug has no exception for, 507.

Run it with ``python examples/abort_extra/cylinder_main.py`` (``PORT`` changes the port,
``BUCKET_BYTES`` how much the in-memory bucket holds), then::

    curl -i -X PUT http://127.0.0.1:8000/files/a.txt --data-binary @some-file
    curl -i -X PUT http://127.0.0.1:8000/api/files/b.txt --data-binary @some-big-file

When the bucket is full, both answer 507: /files with the page the exception class describes
(there is no 507.py on its path), /api/files in JSON from ``api.507.py``.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import waitress
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request

import cylinder

SITE_DIR = Path(__file__).resolve().parent / "my_webapps"


class InsufficientStorage(HTTPException):
    """507 Insufficient Storage: the server cannot store what the request sends."""

    code = 507
    description = "There is no room left to store this file."


@dataclass
class Bucket:
    """Files kept in memory, at most ``capacity`` bytes in all. Safe to share between threads."""

    capacity: int
    files: dict[str, bytes] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def put(self, name: str, data: bytes) -> bool:
        """Store ``data`` as ``name``; False, storing nothing, when it does not fit."""
        with self.lock:
            used = sum(len(kept) for other, kept in self.files.items() if other != name)
            if used + len(data) > self.capacity:
                return False
            self.files[name] = data
            return True


bucket = Bucket(capacity=int(os.environ.get("BUCKET_BYTES", str(1024 * 1024))))


def app_map(request: Request) -> tuple[Path, str, dict[str, Any]]:
    """One site; handlers store files in ``bucket``."""
    return SITE_DIR, "webapp1", {"bucket": bucket}


def create_app(log_handler: logging.Handler | None = None) -> cylinder.Application:
    """The application, with ``abort(507)`` raising :class:`InsufficientStorage`.

    :param log_handler: where log records go; standard error when None.
    """
    return cylinder.get_app(
        app_map, log_handler=log_handler, abort_extra={507: InsufficientStorage}
    )


def main() -> None:
    port = int(os.environ.get("PORT", "8000"))
    app = create_app()
    print(f"Serving abort_extra on http://127.0.0.1:{port}", flush=True)
    waitress.serve(app, host="127.0.0.1", port=port)


if __name__ == "__main__":
    main()
