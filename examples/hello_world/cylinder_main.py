"""Hello world: the smallest Cylinder project.

Run it with ``python examples/hello_world/cylinder_main.py``, from any folder, and open
http://127.0.0.1:8000 (set ``PORT`` to use another port).
"""

from __future__ import annotations

import os
from pathlib import Path

import waitress
from werkzeug.wrappers import Request

import cylinder

#: The folder that holds the sites, found from this file so the project runs from any folder.
SITE_DIR = Path(__file__).resolve().parent / "my_webapps"


def app_map(request: Request) -> tuple[Path, str]:
    """Send every request to the one site, ``my_webapps/webapp1``."""
    return SITE_DIR, "webapp1"


def main() -> None:
    port = int(os.environ.get("PORT", "8000"))
    app = cylinder.get_app(app_map)
    print(f"Serving hello_world on http://127.0.0.1:{port}", flush=True)
    waitress.serve(app, host="127.0.0.1", port=port)


if __name__ == "__main__":
    main()
