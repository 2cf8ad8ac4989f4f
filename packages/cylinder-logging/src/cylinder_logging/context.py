"""The request context: which request the current thread (or task) is working for.

The runtime sets the request id once per request with :func:`request_scope`; every record logged
inside the block, from the handler or from any helper it calls, carries that id. The id lives in a
:class:`~contextvars.ContextVar`, so concurrent requests in other threads never see each other's
id, and a new thread starts outside any request.
"""

from __future__ import annotations

import contextlib
from contextvars import ContextVar, Token
from types import TracebackType

__all__ = ["current_request_id", "request_scope"]

_REQUEST_ID: ContextVar[str | None] = ContextVar("cylinder_logging.request_id", default=None)


def current_request_id() -> str | None:
    """Return the id of the request being handled here, or ``None`` outside a request."""
    return _REQUEST_ID.get()


def request_scope(request_id: str) -> contextlib.AbstractContextManager[None]:
    """Make ``request_id`` the current request id for the duration of a ``with`` block.

    The previous id (usually none) is restored when the block ends, even on an exception, so
    scopes nest. The id is used as given: pass header values through
    :func:`~cylinder_logging.sanitize_request_id` first.

    :param request_id: the id to put on every record logged inside the block.
    """
    return _RequestScope(request_id)


class _RequestScope(contextlib.AbstractContextManager[None]):
    """The context manager behind :func:`request_scope`, a class so a request pays no generator."""

    __slots__ = ("_request_id", "_token")

    def __init__(self, request_id: str) -> None:
        self._request_id = request_id
        self._token: Token[str | None] | None = None

    def __enter__(self) -> None:
        self._token = _REQUEST_ID.set(self._request_id)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._token is not None:
            _REQUEST_ID.reset(self._token)
            self._token = None
