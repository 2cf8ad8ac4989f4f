"""content_headers and serve_file: types, validators, conditional and range requests, streaming."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import IO

import pytest
from werkzeug.exceptions import NotFound, PreconditionFailed, RequestedRangeNotSatisfiable
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

    serve_file(make_request(), response, str(served.parent), served.name)

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

    serve_file(make_request(), response, str(path.parent), path.name)

    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.headers["Content-Encoding"] == "gzip"


def test_etag_changes_when_the_file_changes(served: Path) -> None:
    first, second = Response(), Response()
    try:
        serve_file(make_request(), first, str(served.parent), served.name)
        served.write_bytes(BODY + b"!")
        serve_file(make_request(), second, str(served.parent), served.name)

        assert first.get_etag()[0] != second.get_etag()[0]
    finally:
        first.close()
        second.close()


def test_if_none_match_with_the_etag_is_304(served: Path) -> None:
    first = Response()
    try:
        serve_file(make_request(), first, str(served.parent), served.name)
        etag = first.headers["ETag"]
    finally:
        first.close()
    response = Response()
    try:
        serve_file(make_request({"If-None-Match": etag}), response, str(served.parent), served.name)

        assert response.status_code == 304
        assert response.headers["ETag"] == etag
    finally:
        response.close()


def test_if_none_match_with_another_etag_is_200(served: Path, response: Response) -> None:
    serve_file(
        make_request({"If-None-Match": '"something-else"'}),
        response,
        str(served.parent),
        served.name,
    )

    assert response.status_code == 200
    assert body_of(response) == BODY


def test_if_modified_since_in_the_future_is_304(served: Path, response: Response) -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(days=1), usegmt=True)

    serve_file(
        make_request({"If-Modified-Since": later}), response, str(served.parent), served.name
    )

    assert response.status_code == 304


def test_if_modified_since_in_the_past_is_200(served: Path, response: Response) -> None:
    earlier = format_datetime(datetime.now(UTC) - timedelta(days=1), usegmt=True)

    serve_file(
        make_request({"If-Modified-Since": earlier}), response, str(served.parent), served.name
    )

    assert response.status_code == 200


def test_a_static_response_says_no_cache(served: Path, response: Response) -> None:
    serve_file(make_request(), response, str(served.parent), served.name)

    assert response.headers["Cache-Control"] == "no-cache"


def test_a_cache_control_set_before_is_kept(served: Path, response: Response) -> None:
    response.cache_control.max_age = 31536000
    response.cache_control.immutable = True

    serve_file(make_request(), response, str(served.parent), served.name)

    assert response.headers.getlist("Cache-Control") == ["max-age=31536000, immutable"]


def test_a_304_says_no_cache_too(served: Path, response: Response) -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(days=1), usegmt=True)

    serve_file(
        make_request({"If-Modified-Since": later}), response, str(served.parent), served.name
    )

    assert response.status_code == 304
    assert response.headers["Cache-Control"] == "no-cache"


def etag_of(served: Path) -> str:
    response = Response()
    try:
        serve_file(make_request(), response, str(served.parent), served.name)
        return response.headers["ETag"]
    finally:
        response.close()


@pytest.mark.parametrize("if_match", ['"other"', 'W/"{etag}"', '"other", W/"{etag}"'])
def test_a_failed_if_match_is_412(served: Path, response: Response, if_match: str) -> None:
    etag = etag_of(served).strip('"')
    request = make_request({"If-Match": if_match.format(etag=etag)})

    with pytest.raises(PreconditionFailed):
        serve_file(request, response, str(served.parent), served.name)


@pytest.mark.parametrize("if_match", ["{etag}", '"other", {etag}', "*"])
def test_a_matching_if_match_is_200(served: Path, response: Response, if_match: str) -> None:
    request = make_request({"If-Match": if_match.format(etag=etag_of(served))})

    serve_file(request, response, str(served.parent), served.name)

    assert response.status_code == 200
    assert body_of(response) == BODY


def test_a_matching_if_match_leaves_if_none_match_its_say(served: Path, response: Response) -> None:
    etag = etag_of(served)
    request = make_request({"If-Match": etag, "If-None-Match": etag})

    serve_file(request, response, str(served.parent), served.name)

    assert response.status_code == 304


def test_if_unmodified_since_in_the_past_is_412(served: Path, response: Response) -> None:
    earlier = format_datetime(datetime.now(UTC) - timedelta(days=1), usegmt=True)

    with pytest.raises(PreconditionFailed):
        serve_file(
            make_request({"If-Unmodified-Since": earlier}),
            response,
            str(served.parent),
            served.name,
        )


def test_if_unmodified_since_at_or_after_the_change_is_200(
    served: Path, response: Response
) -> None:
    st = os.stat(served)
    for since in (http_date(int(st.st_mtime)), http_date(int(st.st_mtime) + 86400)):
        answer = Response()
        try:
            serve_file(
                make_request({"If-Unmodified-Since": since}),
                answer,
                str(served.parent),
                served.name,
            )
            assert answer.status_code == 200
        finally:
            answer.close()


@pytest.mark.parametrize("since", ["not a date", "Mon, 01 Jan 99999999999999999999 00:00:00 GMT"])
def test_an_if_unmodified_since_that_is_no_date_is_ignored(
    served: Path, response: Response, since: str
) -> None:
    serve_file(
        make_request({"If-Unmodified-Since": since}), response, str(served.parent), served.name
    )

    assert response.status_code == 200


def test_if_match_wins_over_if_unmodified_since(served: Path, response: Response) -> None:
    earlier = format_datetime(datetime.now(UTC) - timedelta(days=1), usegmt=True)
    request = make_request({"If-Match": etag_of(served), "If-Unmodified-Since": earlier})

    serve_file(request, response, str(served.parent), served.name)

    assert response.status_code == 200


def test_range_is_206_with_content_range(served: Path, response: Response) -> None:
    serve_file(make_request({"Range": "bytes=0-3"}), response, str(served.parent), served.name)

    assert response.status_code == 206
    assert response.headers["Content-Range"] == f"bytes 0-3/{len(BODY)}"
    assert response.headers["Content-Length"] == "4"
    assert body_of(response) == b"0123"


def test_range_in_the_middle(served: Path, response: Response) -> None:
    serve_file(make_request({"Range": "bytes=10-"}), response, str(served.parent), served.name)

    assert response.status_code == 206
    assert body_of(response) == BODY[10:]


def test_unsatisfiable_range_is_416_and_closes_the_file(
    served: Path, wrapper_class: type[RecordingWrapper]
) -> None:
    request = make_request({"Range": "bytes=100-200"}, **{"wsgi.file_wrapper": wrapper_class})
    response = Response()

    with pytest.raises(RequestedRangeNotSatisfiable) as info:
        serve_file(request, response, str(served.parent), served.name)

    [wrapper] = wrapper_class.made
    assert wrapper.file.closed
    assert info.value.get_response().headers["Content-Range"] == f"bytes */{len(BODY)}"


def test_unsatisfiable_range_with_the_default_wrapper(served: Path) -> None:
    # Left open, the file would be reported as a ResourceWarning, an error under pytest.ini.
    with pytest.raises(RequestedRangeNotSatisfiable):
        serve_file(
            make_request({"Range": "bytes=100-"}), Response(), str(served.parent), served.name
        )


def test_server_file_wrapper_is_used(
    served: Path, response: Response, wrapper_class: type[RecordingWrapper]
) -> None:
    request = make_request(**{"wsgi.file_wrapper": wrapper_class})

    serve_file(request, response, str(served.parent), served.name)

    [wrapper] = wrapper_class.made
    assert response.response is wrapper
    assert os.path.samefile(wrapper.file.name, served)
    assert body_of(response) == BODY
    response.close()
    assert wrapper.file.closed


def test_large_file_is_streamed_in_chunks(tmp_path: Path, response: Response) -> None:
    path = tmp_path / "big.bin"
    path.write_bytes(b"x" * 100_000)

    serve_file(make_request(), response, str(path.parent), path.name)

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
    serve_file(request, response, str(served.parent), served.name)
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
    serve_file(request, response, str(served.parent), served.name)

    body = response(request.environ, lambda status, headers, exc_info=None: None)
    try:
        assert list(body) == []
    finally:
        getattr(body, "close", lambda: None)()

    assert response.headers["Content-Length"] == str(len(BODY))


def test_missing_file_is_not_found(tmp_path: Path, response: Response) -> None:
    with pytest.raises(NotFound):
        serve_file(make_request(), response, str(tmp_path), "gone.txt")


def test_folder_is_not_found(tmp_path: Path, response: Response) -> None:
    (tmp_path / "sub").mkdir()
    with pytest.raises(NotFound):
        serve_file(make_request(), response, str(tmp_path), "sub")


def test_a_fifo_is_not_found_at_once(tmp_path: Path, response: Response) -> None:
    os.mkfifo(tmp_path / "pipe.txt")
    started = time.monotonic()
    with pytest.raises(NotFound):
        serve_file(make_request(), response, str(tmp_path), "pipe.txt")
    assert time.monotonic() - started < 2


def test_a_link_out_of_the_folder_is_not_found(tmp_path: Path, response: Response) -> None:
    (tmp_path / "secret.txt").write_bytes(b"SECRET")
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "out.txt").symlink_to("../secret.txt")
    with pytest.raises(NotFound):
        serve_file(make_request(), response, str(tmp_path / "site"), "out.txt")


@pytest.mark.parametrize("target", ["app.ex.get.py", ".env", "__pycache__/x.txt"])
def test_a_link_to_a_file_never_served_is_not_found(
    tmp_path: Path, response: Response, target: str
) -> None:
    (tmp_path / target).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / target).write_bytes(b"SOURCE")
    (tmp_path / "notes.txt").symlink_to(target)
    with pytest.raises(NotFound):
        serve_file(make_request(), response, str(tmp_path), "notes.txt")


def test_a_link_inside_the_folder_is_served(served: Path, response: Response) -> None:
    (served.parent / "sub").mkdir()
    (served.parent / "sub" / "link.txt").symlink_to("../file.txt")

    serve_file(make_request(), response, str(served.parent), "sub/link.txt")

    assert body_of(response) == BODY
