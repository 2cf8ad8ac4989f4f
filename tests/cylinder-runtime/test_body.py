"""A request body cut short fails the same way on every server: ClientDisconnected (400)."""

from __future__ import annotations

import io

import pytest
from werkzeug.exceptions import ClientDisconnected

from cylinder_runtime.body import GuardedInput, guard_input


class Broken(io.RawIOBase):
    """A server stream whose peer went away (gunicorn raises its own OSError)."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        raise OSError("no more data")


def test_a_complete_body_reads_as_it_is() -> None:
    body = GuardedInput(io.BytesIO(b"hello\nworld"), 11)
    assert body.readline() == b"hello\n"
    assert body.read(3) == b"wor"
    assert body.read() == b"ld"
    assert body.read(10) == b""


def test_a_body_ending_before_its_content_length_is_a_client_disconnect() -> None:
    body = GuardedInput(io.BytesIO(b"0123456789"), 1000)
    assert body.read(4096) == b"0123456789"
    with pytest.raises(ClientDisconnected, match="the body ended after 10 of 1000 bytes"):
        body.read(4096)


def test_a_read_error_is_a_client_disconnect() -> None:
    body = GuardedInput(io.BufferedReader(Broken()), None)
    with pytest.raises(ClientDisconnected, match="the body could not be read: no more data"):
        body.read(10)
    with pytest.raises(ClientDisconnected):
        list(GuardedInput(io.BufferedReader(Broken()), None))


def test_a_chunked_body_has_no_length_to_check() -> None:
    assert GuardedInput(io.BytesIO(b"abc"), None).read() == b"abc"


def test_a_zero_size_read_is_not_an_end() -> None:
    body = GuardedInput(io.BytesIO(b""), 5)
    assert body.read(0) == b""


@pytest.mark.parametrize(
    ("environ", "guarded"),
    [
        ({"CONTENT_LENGTH": "10"}, True),
        ({"HTTP_TRANSFER_ENCODING": "chunked"}, True),
        ({"CONTENT_LENGTH": "0"}, False),
        ({"CONTENT_LENGTH": ""}, False),
        ({}, False),
        ({"CONTENT_LENGTH": "ten"}, True),
    ],
)
def test_only_requests_with_a_body_are_guarded(environ: dict[str, str], guarded: bool) -> None:
    stream = io.BytesIO(b"")
    full: dict[str, object] = {**environ, "wsgi.input": stream}
    guard_input(full)
    assert isinstance(full["wsgi.input"], GuardedInput) is guarded


def test_reading_to_the_end_at_once_checks_the_length_too() -> None:
    with pytest.raises(ClientDisconnected, match="the body ended after 3 of 5 bytes"):
        GuardedInput(io.BytesIO(b"abc"), 5).read()
    assert GuardedInput(io.BytesIO(b"abcde"), 5).read() == b"abcde"
