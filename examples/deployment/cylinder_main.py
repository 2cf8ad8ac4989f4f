"""A production-shaped setup: behind a load balancer, on waitress or on gunicorn.

- ``ProxyFix`` makes ``request.remote_addr``, ``request.scheme`` and ``request.host`` the ones
  the client used, read from the ``X-Forwarded-*`` headers that ``PROXY_HOPS`` proxies in front
  of the application add. It is 0 unless set, which trusts none: set it to the number of
  proxies really there (1 behind one load balancer), never more, or clients can forge their
  address.
- Log records are JSON, one object per line for a log shipper, at INFO and above, each with
  the process id (one per worker) and the request id the load balancer sends in
  ``REQUEST_ID_HEADER`` (``X-Request-ID`` unless set); the late hook sends it back. Access
  records carry the client's address, status, size, duration and user agent as fields.
- ``/healthz`` is the health check.

Serve it with waitress (``HOST`` and ``PORT`` choose the address, 127.0.0.1:8000 by default)::

    PROXY_HOPS=1 python examples/deployment/cylinder_main.py

or with gunicorn, one application per worker process::

    cd examples/deployment
    PROXY_HOPS=1 gunicorn --workers 4 --bind 0.0.0.0:8000 'cylinder_main:create_app()'
"""

from __future__ import annotations

import logging
import os
import signal
from pathlib import Path
from types import FrameType

import waitress
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Request

import cylinder
from cylinder_logging import JSONFormatter

SITE_DIR = Path(__file__).resolve().parent / "my_webapps"

PROXY_HOPS = int(os.environ.get("PROXY_HOPS", "0"))
REQUEST_ID_HEADER = os.environ.get("REQUEST_ID_HEADER", "X-Request-ID")


def app_map(request: Request) -> tuple[Path, str]:
    """Send every request to the one site, ``my_webapps/webapp1``."""
    return SITE_DIR, "webapp1"


def create_app(log_handler: logging.Handler | None = None) -> ProxyFix:
    """The WSGI application: Cylinder's, behind ``ProxyFix``.

    :param log_handler: where log records go; standard error when None.
    """
    cylinder.log_formatter = JSONFormatter()  # one JSON object per line, every field
    app = cylinder.get_app(
        app_map,
        log_level=logging.INFO,
        log_handler=log_handler,
        request_id_header=REQUEST_ID_HEADER,
    )
    return ProxyFix(app, x_for=PROXY_HOPS, x_proto=PROXY_HOPS, x_host=PROXY_HOPS)


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def main() -> None:
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "8000"))
    # Service managers and containers stop programs with SIGTERM. Made a normal exit, it lets
    # waitress return and the log records still queued be written before Python ends.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    print(f"Serving deployment on http://{host}:{port}", flush=True)
    # waitress drops X-Forwarded-* headers unless told otherwise; ProxyFix decides which to trust.
    waitress.serve(
        create_app(), host=host, port=port, threads=8, clear_untrusted_proxy_headers=False
    )


if __name__ == "__main__":
    main()
