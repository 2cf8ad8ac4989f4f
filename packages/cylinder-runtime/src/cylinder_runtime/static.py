"""Static files: filling the request's one ``response`` with a file from the site.

The router has already decided that the file may be served. This module streams it (through the
server's ``wsgi.file_wrapper`` when there is one), sets ``ETag``, ``Last-Modified`` and the
content type, and lets Werkzeug answer conditional and range requests (304, 206, 416).
"""

from __future__ import annotations

import mimetypes
import os
from typing import TYPE_CHECKING

from werkzeug.http import parse_date, parse_range_header
from werkzeug.utils import get_content_type
from werkzeug.wrappers import Request, Response
from werkzeug.wsgi import FileWrapper, wrap_file

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

__all__ = ["content_headers", "serve_file"]

#: Encodings a browser undoes itself when sent as ``Content-Encoding``.
_HTTP_ENCODINGS = frozenset({"gzip", "br"})
#: The type of a compressed file served as it is.
_COMPRESSED_TYPES = {
    "gzip": "application/gzip",
    "br": "application/x-brotli",
    "bzip2": "application/x-bzip2",
    "xz": "application/x-xz",
    "compress": "application/x-compress",
}
#: Inner types that are archives: ``x.tar.gz`` is a gzip file, not a tar sent compressed.
_ARCHIVES = frozenset({"application/x-tar", "application/x-gtar"})


def content_headers(path: str) -> tuple[str, str | None]:
    """The ``Content-Type`` and ``Content-Encoding`` for a file, from its name.

    ``x.txt.gz`` is ``text/plain; charset=utf-8`` sent with ``Content-Encoding: gzip``;
    ``x.tar.gz`` is ``application/gzip`` with no encoding; unknown types are
    ``application/octet-stream``.
    """
    mimetype, encoding = mimetypes.guess_type(path, strict=False)
    if encoding is not None:
        if encoding in _HTTP_ENCODINGS and mimetype is not None and mimetype not in _ARCHIVES:
            return get_content_type(mimetype, "utf-8"), encoding
        return _COMPRESSED_TYPES.get(encoding, "application/octet-stream"), None
    if mimetype is None:
        return "application/octet-stream", None
    return get_content_type(mimetype, "utf-8"), None


def serve_file(request: Request, response: Response, path: str) -> None:
    """Fill ``response`` with the file at ``path``, answering conditional and range requests.

    :raises werkzeug.exceptions.RequestedRangeNotSatisfiable: for a range beyond the file.
    :raises werkzeug.exceptions.NotFound: when the file vanished since it was routed.
    """
    try:
        file = open(path, "rb")  # noqa: SIM115 - closed by the response when it is sent
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
        from werkzeug.exceptions import NotFound

        raise NotFound() from exc
    try:
        st = os.fstat(file.fileno())
        content_type, encoding = content_headers(path)
        if "wsgi.file_wrapper" in request.environ:
            response.response = wrap_file(request.environ, file)
        else:
            response.response = _ClosingFileWrapper(file)
        response.direct_passthrough = True
        response.headers["Content-Type"] = content_type
        if encoding is not None:
            response.headers["Content-Encoding"] = encoding
        response.content_length = st.st_size
        response.last_modified = st.st_mtime  # type: ignore[assignment]
        response.set_etag(f"{st.st_mtime_ns:x}-{st.st_size:x}-{st.st_ino:x}")
        # Older Werkzeug 3.1 releases set it only when answering a Range request, too late to
        # tell the client that it may ask for one.
        response.accept_ranges = "bytes"
        if any(key in request.environ for key in _CONDITIONAL_KEYS):
            response.make_conditional(
                _judgeable(request.environ), accept_ranges=True, complete_length=st.st_size
            )
        if response.status_code == 206 and "wsgi.file_wrapper" in request.environ:
            # Werkzeug wraps the body to cut the range out of it, which hides the server's
            # wrapper: the server iterates it in small chunks and buffers what the client has
            # not taken yet. Hand the server the file at the range's start instead; it sends
            # from there up to Content-Length (PEP 3333), through its own fast path.
            start = response.content_range.start
            assert start is not None
            file.seek(start)
            response.response = wrap_file(request.environ, file)
    except BaseException:
        file.close()
        raise
    if request.method == "HEAD" or response.status_code in (304, 412):
        file.close()  # no body will be sent: do not hold the file until the response is closed
        response.response = []
        response.direct_passthrough = False


#: The request headers that can change a static answer from a plain 200 with the whole file.
_CONDITIONAL_KEYS = (
    "HTTP_IF_NONE_MATCH",
    "HTTP_IF_MODIFIED_SINCE",
    "HTTP_IF_MATCH",
    "HTTP_IF_UNMODIFIED_SINCE",
    "HTTP_RANGE",
)


def _judgeable(environ: WSGIEnvironment) -> WSGIEnvironment:
    """``environ`` without the conditional headers that HTTP says to ignore and Werkzeug would
    answer with a 500 or a 416 instead.

    - A date no calendar holds (``If-Modified-Since`` or ``If-Range`` in the year
      99999999999999999999) overflows Werkzeug's date parser: it is not a valid HTTP-date, so
      it is ignored (RFC 9110, 13.1.3); an ``If-Range`` that cannot be evaluated does not hold,
      so its ``Range`` goes too and the whole file is sent (13.1.5).
    - A ``Range`` in units other than bytes must be ignored, and one with several ranges may be
      (14.2); Werkzeug answers both 416. The whole file is sent instead.
    """
    dropped: set[str] = set()
    for key in ("HTTP_IF_MODIFIED_SINCE", "HTTP_IF_RANGE"):
        try:
            parse_date(environ.get(key))
        except OverflowError:
            dropped.add(key)
    if "HTTP_IF_RANGE" in dropped:
        dropped.add("HTTP_RANGE")
    ranges = parse_range_header(environ.get("HTTP_RANGE"))
    if ranges is not None and (ranges.units != "bytes" or len(ranges.ranges) != 1):
        dropped.add("HTTP_RANGE")
    if not dropped:
        return environ
    return {key: value for key, value in environ.items() if key not in dropped}


class _ClosingFileWrapper(FileWrapper):
    """Werkzeug's file iterator, closing the file as soon as it is read to the end, so a
    consumer that never calls ``close()`` (a test client) leaves nothing open."""

    def __next__(self) -> bytes:
        try:
            return super().__next__()
        except StopIteration:
            self.close()
            raise
