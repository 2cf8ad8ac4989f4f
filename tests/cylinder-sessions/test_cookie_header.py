"""The session id is read from the request's Cookie header as ``request.cookies`` reads it."""

from __future__ import annotations

import math

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from cylinder_sessions import MemoryDriver, Record, SessionManager, StoreRecord, key_of

FIRST, SECOND = "F" * 43, "G" * 43


def manager_with_sessions() -> SessionManager:
    driver = MemoryDriver()
    for session_id in (FIRST, SECOND):
        stores = {"main": StoreRecord(f'{{"id":"{session_id[0]}"}}', 1)}
        driver.records[key_of(session_id)] = Record(None, 0.0, math.inf, math.inf, stores)
    return SessionManager(driver, secure=False, clock=lambda: 100.0)


def request_with(cookie_header: str) -> Request:
    environ = EnvironBuilder().get_environ()
    environ["HTTP_COOKIE"] = cookie_header  # as a WSGI server passes it: latin-1 text
    return Request(environ)


@pytest.mark.parametrize(
    "header",
    [
        f"session={FIRST}",
        f"other=\xff\xfe; session={FIRST}",  # bytes that are not UTF-8 in another cookie
        f'session="{FIRST}"; theme=dark',
        f"session={FIRST}; session={SECOND}",  # the first of two, as request.cookies gives
        f"a=1;session={FIRST}",
    ],
)
def test_the_session_cookie_is_found_as_request_cookies_finds_it(header: str) -> None:
    request = request_with(header)
    assert request.cookies.get("session") == FIRST
    session = manager_with_sessions().begin(request)
    assert dict(session["main"]) == {"id": "F"}


@pytest.mark.parametrize("header", ["", "theme=dark", "session=", "session=short"])
def test_no_usable_cookie_means_a_new_session(header: str) -> None:
    session = manager_with_sessions().begin(request_with(header))
    assert session.is_new
    assert dict(session["main"]) == {}
