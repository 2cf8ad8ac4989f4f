"""Calling a WSGI application as a server does, for tests that check raw answers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def call_app(app: Callable[..., Any], environ: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    """Call ``app`` with ``environ``: ``start_response`` must be called exactly once, and the
    body is read out and closed. Returns the status code, the headers and the body."""
    started: list[tuple[str, list[tuple[str, str]]]] = []

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: Any = None, /
    ) -> Callable[[bytes], object]:
        started.append((status, headers))
        return lambda data: None

    body = app(environ, start_response)
    try:
        data = b"".join(body)
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()
    [(status, headers)] = started
    return int(status.split()[0]), dict(headers), data
