"""Which request methods can be routed to files at all (the rest get 501)."""

from __future__ import annotations

import pytest

from cylinder_router import method_refusal
from cylinder_router.methods import MAX_METHOD_LENGTH


@pytest.mark.parametrize(
    "method",
    ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "MOVE", "PROPFIND", "BREW", "X"],
)
def test_letter_tokens_are_routable(method: str) -> None:
    assert method_refusal(method) is None


@pytest.mark.parametrize(
    "method",
    ["", "GET ", " GET", "GE T", "GET1", "M-SEARCH", "GET\x00", "GET\r\n", "GÉT", "ĞET", "*"],
)
def test_methods_that_are_not_ascii_letter_tokens_are_refused(method: str) -> None:
    assert method_refusal(method) == f"method {method!r} is not a token of ASCII letters"


@pytest.mark.parametrize("method", ["DEFAULT", "default", "Default", "dEfAuLt"])
def test_default_in_any_case_is_reserved_for_catch_all_files(method: str) -> None:
    assert method_refusal(method) == f"method `{method}` is reserved for catch-all files"


@pytest.mark.parametrize("method", ["get", "Get", "gET", "head", "x"])
def test_methods_are_case_sensitive_so_lower_case_is_refused(method: str) -> None:
    assert method_refusal(method) == (
        f"method `{method}` is not upper-case: HTTP methods are case-sensitive"
    )


def test_overlong_methods_are_refused() -> None:
    assert MAX_METHOD_LENGTH == 64
    assert method_refusal("A" * MAX_METHOD_LENGTH) is None
    assert method_refusal("A" * (MAX_METHOD_LENGTH + 1)) == "method is longer than 64 characters"
    # The length is checked first, so a huge hostile method is never echoed back in full.
    refusal = method_refusal("\x00" * 100_000)
    assert refusal is not None
    assert len(refusal) < 100
