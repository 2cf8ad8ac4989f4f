"""content_headers and serve_file: types, validators, conditional and range requests, streaming."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import IO

import pytest
from werkzeug.exceptions import NotFound, RequestedRangeNotSatisfiable
from werkzeug.http import http_date
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from cylinder_runtime import content_headers, serve_file

BODY = b"0123456789abcdef"


def make_request(
    headers: dict[str, str] | None = None, method: str = "GET", **environ: object
) -> Request:
    builder = EnvironBuilder(
        path="/file", method=method, headers=headers, environ_overrides=environ
    )
    try:
        return Request(builder.get_environ())
    finally:
        builder.close()


def body_of(response: Response) -> bytes:
    assert response.response is not None
    return b"".join(response.response)  # type: ignore[arg-type]


@pytest.fixture
def served(tmp_path: Path) -> Path:
    path = tmp_path / "file.txt"
    path.write_bytes(BODY)
    return path


@pytest.fixture
def response() -> Iterator[Response]:
    response = Response()
    try:
        yield response
    finally:
        response.close()  # closes the file being served


class RecordingWrapper:
    """A server's ``wsgi.file_wrapper``: remembers every file it was given."""

    made: list[RecordingWrapper]

    def __init__(self, file: IO[bytes], buffer_size: int = 8192) -> None:
        self.file = file
        self.buffer_size = buffer_size
        type(self).made.append(self)

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.file.read(self.buffer_size):
            yield chunk

    def close(self) -> None:
        self.file.close()


@pytest.fixture
def wrapper_class() -> type[RecordingWrapper]:
    class Wrapper(RecordingWrapper):
        made: list[RecordingWrapper] = []  # noqa: RUF012 - one list per test

    return Wrapper


@pytest.mark.parametrize(
    ("name", "content_type", "encoding"),
    [
        ("x.txt", "text/plain; charset=utf-8", None),
        ("x.css", "text/css; charset=utf-8", None),
        ("x.json", "application/json", None),
        ("x.html", "text/html; charset=utf-8", None),
        ("x.svg", "image/svg+xml; charset=utf-8", None),
        ("x.png", "image/png", None),
        ("x.unknownextension", "application/octet-stream", None),
        ("README", "application/octet-stream", None),
        ("x.txt.gz", "text/plain; charset=utf-8", "gzip"),
        ("x.svgz", "image/svg+xml; charset=utf-8", "gzip"),
        ("x.tar.gz", "application/gzip", None),
        ("x.tgz", "application/gzip", None),
        ("x.gz", "application/gzip", None),
        ("x.txt.bz2", "application/x-bzip2", None),
        ("X.TXT", "text/plain; charset=utf-8", None),
    ],
)
def test_content_headers(name: str, content_type: str, encoding: str | None) -> None:
    assert content_headers(f"/site/{name}") == (content_type, encoding)


def test_content_headers_of_javascript() -> None:
    content_type, encoding = content_headers("/site/app.js")

    # Python 3.12 says text/javascript, older versions application/javascript.
    assert content_type in (
        "text/javascript; charset=utf-8",
        "application/javascript; charset=utf-8",
    )
    assert encoding is None


def test_serve_file_sets_body_and_validators(served: Path, response: Response) -> None:
    st = os.stat(served)

    serve_file(make_request(), response, str(served))

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert "Content-Encoding" not in response.headers
    assert response.headers["Content-Length"] == str(len(BODY))
    assert response.headers["Accept-Ranges"] == "bytes"
    assert response.headers["Last-Modified"] == http_date(int(st.st_mtime))
    etag, weak = response.get_etag()
    assert etag
    assert not weak
    assert response.direct_passthrough
    assert body_of(response) == BODY


def test_serve_file_of_a_compressed_text_sets_the_encoding(
    tmp_path: Path, response: Response
) -> None:
    path = tmp_path / "notes.txt.gz"
    path.write_bytes(b"\x1f\x8b not really gzip")

    serve_file(make_request(), response, str(path))

    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.headers["Content-Encoding"] == "gzip"


def test_etag_changes_when_the_file_changes(served: Path) -> None:
    first, second = Response(), Response()
    try:
        serve_file(make_request(), first, str(served))
        served.write_bytes(BODY + b"!")
        serve_file(make_request(), second, str(served))

        assert first.get_etag()[0] != second.get_etag()[0]
    finally:
        first.close()
        second.close()


def test_if_none_match_with_the_etag_is_304(served: Path) -> None:
    first = Response()
    try:
        serve_file(make_request(), first, str(served))
        etag = first.headers["ETag"]
    finally:
        first.close()
    response = Response()
    try:
        serve_file(make_request({"If-None-Match": etag}), response, str(served))

        assert response.status_code == 304
        assert response.headers["ETag"] == etag
    finally:
        response.close()


def test_if_none_match_with_another_etag_is_200(served: Path, response: Response) -> None:
    serve_file(make_request({"If-None-Match": '"something-else"'}), response, str(served))

    assert response.status_code == 200
    assert body_of(response) == BODY


def test_if_modified_since_in_the_future_is_304(served: Path, response: Response) -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(days=1), usegmt=True)

    serve_file(make_request({"If-Modified-Since": later}), response, str(served))

    assert response.status_code == 304


def test_if_modified_since_in_the_past_is_200(served: Path, response: Response) -> None:
    earlier = format_datetime(datetime.now(UTC) - timedelta(days=1), usegmt=True)

    serve_file(make_request({"If-Modified-Since": earlier}), response, str(served))

    assert response.status_code == 200


def test_range_is_206_with_content_range(served: Path, response: Response) -> None:
    serve_file(make_request({"Range": "bytes=0-3"}), response, str(served))

    assert response.status_code == 206
    assert response.headers["Content-Range"] == f"bytes 0-3/{len(BODY)}"
    assert response.headers["Content-Length"] == "4"
    assert body_of(response) == b"0123"


def test_range_in_the_middle(served: Path, response: Response) -> None:
    serve_file(make_request({"Range": "bytes=10-"}), response, str(served))

    assert response.status_code == 206
    assert body_of(response) == BODY[10:]


def test_unsatisfiable_range_is_416_and_closes_the_file(
    served: Path, wrapper_class: type[RecordingWrapper]
) -> None:
    request = make_request({"Range": "bytes=100-200"}, **{"wsgi.file_wrapper": wrapper_class})
    response = Response()

    with pytest.raises(RequestedRangeNotSatisfiable) as info:
        serve_file(request, response, str(served))

    [wrapper] = wrapper_class.made
    assert wrapper.file.closed
    assert info.value.get_response().headers["Content-Range"] == f"bytes */{len(BODY)}"


def test_unsatisfiable_range_with_the_default_wrapper(served: Path) -> None:
    # Left open, the file would be reported as a ResourceWarning, an error under pytest.ini.
    with pytest.raises(RequestedRangeNotSatisfiable):
        serve_file(make_request({"Range": "bytes=100-"}), Response(), str(served))


def test_server_file_wrapper_is_used(
    served: Path, response: Response, wrapper_class: type[RecordingWrapper]
) -> None:
    request = make_request(**{"wsgi.file_wrapper": wrapper_class})

    serve_file(request, response, str(served))

    [wrapper] = wrapper_class.made
    assert response.response is wrapper
    assert os.path.samefile(wrapper.file.name, served)
    assert body_of(response) == BODY
    response.close()
    assert wrapper.file.closed


def test_large_file_is_streamed_in_chunks(tmp_path: Path, response: Response) -> None:
    path = tmp_path / "big.bin"
    path.write_bytes(b"x" * 100_000)

    serve_file(make_request(), response, str(path))

    assert response.response is not None
    chunks = list(response.response)  # type: ignore[arg-type]
    assert len(chunks) > 1
    assert max(map(len, chunks)) < 100_000
    assert b"".join(chunks) == b"x" * 100_000


def test_served_through_wsgi_closes_the_file(
    served: Path, wrapper_class: type[RecordingWrapper]
) -> None:
    request = make_request(**{"wsgi.file_wrapper": wrapper_class})
    response = Response()
    serve_file(request, response, str(served))
    started: list[str] = []

    body = response(request.environ, lambda status, headers, exc_info=None: started.append(status))
    try:
        assert b"".join(body) == BODY
    finally:
        getattr(body, "close", lambda: None)()

    assert started == ["200 OK"]
    assert wrapper_class.made[0].file.closed


def test_head_sends_headers_only(served: Path, response: Response) -> None:
    request = make_request(method="HEAD")
    serve_file(request, response, str(served))

    body = response(request.environ, lambda status, headers, exc_info=None: None)
    try:
        assert list(body) == []
    finally:
        getattr(body, "close", lambda: None)()

    assert response.headers["Content-Length"] == str(len(BODY))


def test_missing_file_is_not_found(tmp_path: Path, response: Response) -> None:
    with pytest.raises(NotFound):
        serve_file(make_request(), response, str(tmp_path / "gone.txt"))


def test_folder_is_not_found(tmp_path: Path, response: Response) -> None:
    with pytest.raises(NotFound):
        serve_file(make_request(), response, str(tmp_path))
