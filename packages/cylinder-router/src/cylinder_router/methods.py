"""Which request methods can be routed to files at all."""

from __future__ import annotations

import re

from .filenames import DEFAULT_METHOD

__all__ = ["MAX_METHOD_LENGTH", "method_refusal"]

#: Longest method token routed to files; no registered method is longer than 17 letters.
MAX_METHOD_LENGTH = 64

_LETTERS = re.compile(r"[A-Za-z]+")
_UPPER = re.compile(r"[A-Z]+")


def method_refusal(method: str) -> str | None:
    """Why a request method can never be routed (answered 501), or None when it can.

    A method routes to files named after it in lower case, so it must be ASCII letters only,
    and must not be ``DEFAULT`` in any case: that word names the catch-all file. Methods are
    case-sensitive in HTTP, so ``get`` is not ``GET``: only upper-case tokens are routed, and
    ``get.ex.get.py`` never answers a method spelled in lower case.
    """
    if len(method) > MAX_METHOD_LENGTH:
        return f"method is longer than {MAX_METHOD_LENGTH} characters"
    if not _LETTERS.fullmatch(method):
        return f"method {method!r} is not a token of ASCII letters"
    if method.lower() == DEFAULT_METHOD:
        return f"method `{method}` is reserved for catch-all files"
    if not _UPPER.fullmatch(method):
        return f"method `{method}` is not upper-case: HTTP methods are case-sensitive"
    return None
