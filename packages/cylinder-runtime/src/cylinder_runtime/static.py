"""Static files: filling the request's one ``response`` with a file from the site.

The router has already decided, from its listings, that the path names a file that may be
served. This module opens it once, with :func:`cylinder_router.open_beneath` from the site
folder, and everything after that is read from that one descriptor: the body (through the
server's ``wsgi.file_wrapper`` when there is one), ``ETag`` and ``Last-Modified``. So a file
swapped for a link that leads outside the site or to a file the rules refuse, or for a FIFO,
between routing and opening is never read: the request answers 404, at once.

Conditional and range requests follow RFC 9110 with Werkzeug's parsers and
``make_conditional``: a failed ``If-Match`` or ``If-Unmodified-Since`` is a 412, raised as
Werkzeug's ``PreconditionFailed`` so that it is answered like every other error; 304, 206 and
416 come from Werkzeug. Static responses say ``Cache-Control: no-cache`` (revalidate every
time) unless a hook set one before.
"""

from __future__ import annotations

import mimetypes
import os
from typing import TYPE_CHECKING

from werkzeug.datastructures import Headers
from werkzeug.exceptions import NotFound, PreconditionFailed
from werkzeug.http import http_date, parse_date, parse_etags, parse_range_header
from werkzeug.utils import get_content_type
from werkzeug.wrappers import Request, Response
from werkzeug.wsgi import FileWrapper, wrap_file

from cylinder_router import OpenBeneathError, RequestPath, open_beneath, static_refusal

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

__all__ = ["STATIC_CACHE_CONTROL", "content_headers", "serve_file"]

#: ``Cache-Control`` of a static response when no hook set one: a browser may keep the file
#: but asks each time whether it changed (a cheap 304 when it did not), so an edit is seen at
#: once.
STATIC_CACHE_CONTROL = "no-cache"

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


def serve_file(
    request: Request,
    response: Response,
    folder: str,
    relative: str,
    *,
    folder_fd: int | None = None,
) -> None:
    """Fill ``response`` with the file ``relative`` below ``folder``, answering conditional and
    range requests.

    The file is opened once, never through a link that leaves ``folder`` or leads to a name
    the static rules refuse, and only if it is a regular file (a FIFO never blocks).

    :param folder: the site folder; nothing outside it is ever read.
    :param relative: the file's ``/``-separated path below ``folder``, as routed.
    :param folder_fd: an open descriptor of ``folder`` that is still what its path leads to
        (:class:`cylinder_router.FolderHandles`), to open the file from; it is not closed.
    :raises werkzeug.exceptions.NotFound: when the file cannot be served any more: it vanished
        or was replaced since it was routed by something that is not a servable file.
    :raises werkzeug.exceptions.PreconditionFailed: for a failed ``If-Match`` or
        ``If-Unmodified-Since``.
    :raises werkzeug.exceptions.RequestedRangeNotSatisfiable: for a range beyond the file.
    """
    try:
        fd, st = open_beneath(folder, relative, refusal=_never_served, base_fd=folder_fd)
    except OpenBeneathError as exc:
        raise NotFound() from exc
    try:
        # Unbuffered: every reader (Werkzeug, waitress, gunicorn's sendfile) asks for whole
        # blocks, and a buffer would only copy them once more.
        file = open(fd, "rb", buffering=0)  # noqa: SIM115 - closed by the response when it is sent
    except BaseException:
        os.close(fd)
        raise
    try:
        content_type, encoding = content_headers(relative)
        if "wsgi.file_wrapper" in request.environ:
            response.response = wrap_file(request.environ, file)
        else:
            response.response = _ClosingFileWrapper(file)
        response.direct_passthrough = True
        etag = f"{st.st_mtime_ns:x}-{st.st_size:x}-{st.st_ino:x}"
        _describe(response.headers, content_type, encoding, st, etag)
        if any(key in request.environ for key in _CONDITIONAL_KEYS):
            _check_preconditions(request.environ, etag, int(st.st_mtime))
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
    if request.method == "HEAD" or response.status_code == 304:
        file.close()  # no body will be sent: do not hold the file until the response is closed
        response.response = []
        response.direct_passthrough = False


def _describe(
    headers: Headers, content_type: str, encoding: str | None, st: os.stat_result, etag: str
) -> None:
    """Set the headers that describe the file, in one pass over those already there.

    ``set`` for each would scan the list once per header; here a header is replaced only if
    the response holds it already (``Content-Type`` always does), else appended.
    ``Cache-Control`` is added only when nobody set one.
    """
    fields = [
        ("Content-Type", content_type),
        ("Content-Length", str(st.st_size)),
        # The header itself: the `last_modified` property would parse what it formats.
        ("Last-Modified", http_date(int(st.st_mtime))),
        ("ETag", f'"{etag}"'),  # strong: the tag is hex digits and dashes, nothing to quote
        # Older Werkzeug 3.1 releases set it only when answering a Range request, too late to
        # tell the client that it may ask for one.
        ("Accept-Ranges", "bytes"),
    ]
    if encoding is not None:
        fields.insert(1, ("Content-Encoding", encoding))
    present = {key.lower() for key, _ in headers}
    for key, value in fields:
        if key.lower() in present:
            headers.set(key, value)
        else:
            headers.add(key, value)
    if "cache-control" not in present:
        headers.add("Cache-Control", STATIC_CACHE_CONTROL)


def _never_served(reached: tuple[str, ...]) -> str | None:
    """The static rules, applied to the names the file was reached by, links followed: a link
    ``notes.txt -> app.ex.get.py`` must not serve Python source."""
    return static_refusal(RequestPath(reached))


def _check_preconditions(environ: WSGIEnvironment, etag: str, modified: int) -> None:
    """RFC 9110, 13.2.2, steps 1 and 2: ``If-Match`` (strong comparison, ``*`` for any), else
    ``If-Unmodified-Since`` (ignored when it is not a valid date).

    :param etag: the file's entity tag, unquoted.
    :param modified: the file's modification time, in whole seconds as ``Last-Modified`` says.
    :raises werkzeug.exceptions.PreconditionFailed: when the condition is false.
    """
    if_match = environ.get("HTTP_IF_MATCH")
    if if_match is not None:
        if not parse_etags(if_match).contains(etag):
            raise PreconditionFailed()
        return
    try:
        since = parse_date(environ.get("HTTP_IF_UNMODIFIED_SINCE"))
    except OverflowError:  # a year no calendar holds: not a valid HTTP-date
        return
    if since is not None and modified > since.timestamp():
        raise PreconditionFailed()


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
    answer with a 500 or a 416 instead, and without those already judged.

    - ``If-Match`` and ``If-Unmodified-Since`` were judged by :func:`_check_preconditions`;
      left in, Werkzeug would let a matching ``If-Match`` override ``If-None-Match``.
    - A date no calendar holds (``If-Modified-Since`` or ``If-Range`` in the year
      99999999999999999999) overflows Werkzeug's date parser: it is not a valid HTTP-date, so
      it is ignored (RFC 9110, 13.1.3); an ``If-Range`` that cannot be evaluated does not hold,
      so its ``Range`` goes too and the whole file is sent (13.1.5).
    - A ``Range`` in units other than bytes must be ignored, and one with several ranges may be
      (14.2); Werkzeug answers both 416. The whole file is sent instead.
    """
    dropped = {"HTTP_IF_MATCH", "HTTP_IF_UNMODIFIED_SINCE"}
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
    if dropped.isdisjoint(environ):
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
