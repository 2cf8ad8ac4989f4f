"""abort: Werkzeug's errors, redirects, and the application's own codes from ``abort_extra``."""

from __future__ import annotations

import re

import pytest
from werkzeug.exceptions import BadRequest, HTTPException, NotFound, Unauthorized
from werkzeug.wrappers import Response

from cylinder_runtime import REDIRECT_CODES, Abort, Redirect
from cylinder_runtime.aborter import check_abort_extra


class InsufficientStorage(HTTPException):
    code = 507
    description = "The disk is full."


class Teapot(HTTPException):
    code = 418
    description = "Short and stout."


def test_abort_404_raises_not_found() -> None:
    with pytest.raises(NotFound) as info:
        Abort()(404)

    assert info.value.code == 404


def test_abort_with_a_description() -> None:
    with pytest.raises(BadRequest) as info:
        Abort()(400, "why")

    assert info.value.description == "why"
    assert b"why" in info.value.get_response().get_data()


def test_abort_with_a_response_sends_it_as_it_is() -> None:
    response = Response("custom", status=403)

    with pytest.raises(HTTPException) as info:
        Abort()(response)

    assert info.value.response is response


def test_abort_302_raises_a_redirect_to_the_target() -> None:
    with pytest.raises(Redirect) as info:
        Abort()(302, "/login")

    assert isinstance(info.value, HTTPException)
    assert info.value.code == 302
    assert info.value.location == "/login"
    response = info.value.get_response()
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert b"/login" in response.get_data()


def test_redirect_codes() -> None:
    assert frozenset({301, 302, 303, 307, 308}) == REDIRECT_CODES


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_every_redirect_code(code: int) -> None:
    with pytest.raises(Redirect) as info:
        Abort()(code, "https://example.com/next?a=1")

    response = info.value.get_response()
    assert response.status_code == code
    assert response.headers["Location"] == "https://example.com/next?a=1"


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((), {}), ((42,), {}), (("/a", "/b"), {}), ((), {"location": "/a"}), (("/a",), {"x": 1})],
)
def test_redirect_without_a_target_is_a_type_error(
    args: tuple[object, ...], kwargs: dict[str, object]
) -> None:
    message = "abort(302) needs the redirect target: abort(302, '/path')"

    with pytest.raises(TypeError, match=re.escape(message)):
        Abort()(302, *args, **kwargs)


def test_unknown_code_is_a_lookup_error() -> None:
    with pytest.raises(LookupError, match="999"):
        Abort()(999)


def test_abort_extra_adds_a_code() -> None:
    abort = Abort({507: InsufficientStorage})

    with pytest.raises(InsufficientStorage) as info:
        abort(507)

    assert info.value.get_response().status_code == 507
    with pytest.raises(Unauthorized):
        abort(401)  # Werkzeug's own codes still work
    with pytest.raises(LookupError):
        Abort()(507)  # and the extra belongs to that abort alone


def test_abort_extra_replaces_a_werkzeug_code() -> None:
    with pytest.raises(Teapot, match="Short and stout"):
        Abort({418: Teapot})(418)


def test_abort_extra_can_take_over_a_redirect_code() -> None:
    class Found(HTTPException):
        code = 302

    with pytest.raises(Found):
        Abort({302: Found})(302)


def test_abort_keeps_its_own_copy_of_extra() -> None:
    extra: dict[int, type[HTTPException]] = {507: InsufficientStorage}
    abort = Abort(extra)

    extra.clear()

    with pytest.raises(InsufficientStorage):
        abort(507)


def test_check_abort_extra_accepts_none_and_good_mappings() -> None:
    extra = {507: InsufficientStorage, 418: Teapot}

    assert check_abort_extra(None) is None
    assert check_abort_extra(extra) == extra
    assert check_abort_extra({}) == {}


@pytest.mark.parametrize(
    ("key", "shown"),
    [(True, "True"), (99, "99"), (600, "600"), ("507", "'507'"), (507.0, "507.0")],
)
def test_check_abort_extra_rejects_bad_keys(key: object, shown: str) -> None:
    message = f"`abort_extra` key {shown} must be a status code from 100 to 599"

    with pytest.raises(TypeError, match=re.escape(message)):
        check_abort_extra({key: InsufficientStorage})


@pytest.mark.parametrize("value", [ValueError, InsufficientStorage(), "InsufficientStorage", None])
def test_check_abort_extra_rejects_values_that_are_not_http_exceptions(value: object) -> None:
    message = (
        "`abort_extra[507]` must be a subclass of `werkzeug.exceptions.HTTPException`, "
        f"not {value!r}"
    )

    with pytest.raises(TypeError, match=re.escape(message)):
        check_abort_extra({507: value})


def test_check_abort_extra_rejects_a_class_with_another_code() -> None:
    message = "`abort_extra[507]` is `Teapot`, whose code is 418"

    with pytest.raises(TypeError, match=re.escape(message)):
        check_abort_extra({418: Teapot, 507: Teapot})


def test_check_abort_extra_rejects_a_class_without_a_code() -> None:
    # Raised, it would answer with no status of its own: 200 OK for an error.
    class Broken(HTTPException):
        description = "no code"

    message = "`abort_extra[507]` is `Broken`, which has no `code`; give it `code = 507`"

    with pytest.raises(TypeError, match=re.escape(message)):
        check_abort_extra({507: Broken})


@pytest.mark.parametrize("extra", [[(507, InsufficientStorage)], 507, "507"])
def test_check_abort_extra_rejects_non_mappings(extra: object) -> None:
    message = "`abort_extra` must be a mapping of status code to exception class, not "

    with pytest.raises(TypeError, match=re.escape(message) + type(extra).__name__):
        check_abort_extra(extra)
