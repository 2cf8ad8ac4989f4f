"""Virtual hosts: one process, two sites, chosen by the Host header in ``app_map``.

Run it with ``python examples/virtual_hosts/cylinder_main.py`` (set ``PORT`` to use another
port than 8000), then open http://blog.localhost:8000 and http://shop.localhost:8000 (most
browsers send any ``*.localhost`` name to this machine), or::

    curl -H 'Host: shop.localhost' http://127.0.0.1:8000/

Any other host name gets the blog.
"""

from __future__ import annotations

import os
from pathlib import Path

import waitress
from werkzeug.wrappers import Request

import cylinder

SITE_DIR = Path(__file__).resolve().parent / "my_webapps"

#: Host name -> site folder in my_webapps.
SITES = {"blog.localhost": "blog", "shop.localhost": "shop"}
DEFAULT_SITE = "blog"


def app_map(request: Request) -> tuple[Path, str]:
    """Choose the site from the host name the client asked for, without its port."""
    host_name = request.host.partition(":")[0].lower()
    return SITE_DIR, SITES.get(host_name, DEFAULT_SITE)


def main() -> None:
    port = int(os.environ.get("PORT", "8000"))
    app = cylinder.get_app(app_map)
    print(f"Serving http://blog.localhost:{port} and http://shop.localhost:{port}", flush=True)
    waitress.serve(app, host="127.0.0.1", port=port)


if __name__ == "__main__":
    main()
