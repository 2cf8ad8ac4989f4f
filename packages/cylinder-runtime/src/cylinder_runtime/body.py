"""The request body as the server hands it over, made to fail the same way on every server.

A client may announce a body and go away half-way. Waitress drops such a request before the
application sees it; gunicorn's sync workers pass it on, and the handler's read either ends
early (a ``Content-Length`` body) or raises the server's own ``OSError`` (a chunked one). Either
way the handler would work on a body that is not the one the client meant to send. Wrapped in
:class:`GuardedInput`, both become Werkzeug's ``ClientDisconnected``: a 400 that goes through the
site's error handlers like any other, on every server.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, TYPE_CHECKING

from werkzeug.exceptions import ClientDisconnected

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

__all__ = ["GuardedInput", "guard_input"]


class GuardedInput:
    """A ``wsgi.input`` whose early end or read error raises ``ClientDisconnected``.

    :param stream: the server's input stream.
    :param content_length: the announced length, or None (chunked).
    """

    __slots__ = ("_content_length", "_received", "_stream")

    def __init__(self, stream: IO[bytes], content_length: int | None) -> None:
        self._stream = stream
        self._content_length = content_length
        self._received = 0

    def read(self, size: int | None = -1) -> bytes:
        """Read up to ``size`` bytes (all when negative or None)."""
        to_end = size is None or size < 0
        try:
            data = self._stream.read() if size is None or size < 0 else self._stream.read(size)
        except OSError as exc:
            raise ClientDisconnected(f"the body could not be read: {exc}") from exc
        return self._counted(data, ended=to_end or (not data and size != 0))

    def readline(self, size: int | None = -1) -> bytes:
        """Read one line, of at most ``size`` bytes when given."""
        try:
            line = self._stream.readline(-1 if size is None else size)
        except OSError as exc:
            raise ClientDisconnected(f"the body could not be read: {exc}") from exc
        return self._counted(line, ended=not line and size != 0)

    def __iter__(self) -> Iterator[bytes]:
        while line := self.readline():
            yield line

    def _counted(self, data: bytes, ended: bool) -> bytes:
        """Count ``data``; when the stream has ``ended``, check it was all announced."""
        self._received += len(data)
        expected = self._content_length
        if ended and expected is not None and self._received < expected:
            raise ClientDisconnected(f"the body ended after {self._received} of {expected} bytes")
        return data


def guard_input(environ: WSGIEnvironment) -> None:
    """Wrap ``environ["wsgi.input"]`` in a :class:`GuardedInput` when the request has a body."""
    length = environ.get("CONTENT_LENGTH")
    chunked = "HTTP_TRANSFER_ENCODING" in environ
    if not chunked and (not length or length == "0"):
        return
    stream = environ.get("wsgi.input")
    if stream is None:
        return
    try:
        content_length = None if chunked else int(str(length))
    except (TypeError, ValueError):
        content_length = None
    environ["wsgi.input"] = GuardedInput(stream, content_length)
