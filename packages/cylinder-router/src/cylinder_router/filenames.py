"""The file-name grammar: which names on disk are routes, and what they route.

A route file is named ``<segment>.<kind>.<method>.py`` where ``kind`` is ``ex`` (handler),
``eh`` (early hook) or ``lh`` (late hook) and ``method`` is lower-case ASCII letters (``default``
is the catch-all), or ``<segment>.<code>.py`` for an error handler, ``code`` being 100-599.
Names are read from the right, so a segment may itself hold dots (``bar.txt.ex.get.py``).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from .paths import is_lookup_safe

__all__ = [
    "DEFAULT_METHOD",
    "KNOWN_METHODS",
    "Kind",
    "NotRoute",
    "RouteName",
    "parse_filename",
]

#: The method part of a catch-all file: ``bar.ex.default.py`` takes any method.
DEFAULT_METHOD = "default"

#: Methods registered with IANA that a site is likely to use; anything else made of lower-case
#: letters is still a valid custom method, but ``cylinder check`` may ask about it.
KNOWN_METHODS = frozenset(
    {
        "get",
        "head",
        "post",
        "put",
        "delete",
        "connect",
        "options",
        "trace",
        "patch",
        "propfind",
        "proppatch",
        "mkcol",
        "copy",
        "move",
        "lock",
        "unlock",
        "search",
        "report",
        DEFAULT_METHOD,
    }
)

_METHOD = re.compile(r"[a-z]+")
_CODE = re.compile(r"[0-9]+")


class Kind(enum.Enum):
    """What a route file does. The value is the part of the name that says so."""

    HANDLER = "ex"
    EARLY_HOOK = "eh"
    LATE_HOOK = "lh"
    ERROR_HANDLER = "code"

    @property
    def label(self) -> str:
        """A short human name: ``handler``, ``early hook``, ``late hook``, ``error handler``."""
        return self.name.lower().replace("_", " ")


_KINDS_BY_TAG = {kind.value: kind for kind in (Kind.HANDLER, Kind.EARLY_HOOK, Kind.LATE_HOOK)}


@dataclass(frozen=True, slots=True)
class RouteName:
    """A file name that is a route.

    :param segment: the last URL segment the file stands for (``bar`` in ``bar.ex.get.py``).
    :param kind: handler, early hook, late hook or error handler.
    :param method: the lower-case method (``get``, ``default``) for handlers and hooks, else None.
    :param code: the status code for error handlers, else None.
    """

    segment: str
    kind: Kind
    method: str | None = None
    code: int | None = None

    def file_name(self) -> str:
        """The file name this route is read from: the inverse of :func:`parse_filename`."""
        if self.kind is Kind.ERROR_HANDLER:
            return f"{self.segment}.{self.code}.py"
        return f"{self.segment}.{self.kind.value}.{self.method}.py"


@dataclass(frozen=True, slots=True)
class NotRoute:
    """A file name that is not a route, and why.

    :param name: the file name.
    :param reason: why it is not a route, in words for a person.
    :param suspicious: True when the name looks like a route but breaks the grammar
        (``bar.ex.Get.py``); such names are mistakes that ``cylinder check`` reports.
        False for ordinary files (``style.css``, ``helpers.py``).
    """

    name: str
    reason: str
    suspicious: bool = False


def parse_filename(name: str) -> RouteName | NotRoute:
    """Read one file name by the grammar.

    :param name: a bare file name, without any folder.
    :return: a :class:`RouteName` for a route file, else a :class:`NotRoute` saying why.
    """
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem:
        return NotRoute(name, "not a `.py` file")
    if extension != "py":
        if extension.lower() == "py":
            # Judge the rest of the name as if the extension were right: `bar.ex.GET.PY` holds
            # two mistakes and must be reported with both, not waved through as a plain file.
            fixed = parse_filename(stem + ".py")
            why = f"extension `.{extension}` must be lower-case `.py`"
            if isinstance(fixed, RouteName):
                return NotRoute(name, why, True)
            if fixed.suspicious:
                return NotRoute(name, f"{why}, and {fixed.reason}", True)
        return NotRoute(name, "not a `.py` file")

    segment, dot, last = stem.rpartition(".")
    if not dot:
        return NotRoute(name, "a plain module: no kind or status code in the name")

    if _CODE.fullmatch(last):
        if not segment:
            return NotRoute(name, "error handler has an empty segment before the code", True)
        if len(last) != 3 or not 100 <= int(last) <= 599:
            return NotRoute(
                name, f"status code `{last}` must be three digits from 100 to 599", True
            )
        return _checked(name, RouteName(segment, Kind.ERROR_HANDLER, code=int(last)))

    segment, dot, tag = segment.rpartition(".")
    if not dot:
        return NotRoute(name, "a plain module: no kind or status code in the name")
    kind = _KINDS_BY_TAG.get(tag)
    if kind is None:
        if tag.lower() in _KINDS_BY_TAG:
            return NotRoute(name, f"kind `{tag}` must be lower-case `{tag.lower()}`", True)
        if last.lower() in KNOWN_METHODS:
            return NotRoute(name, f"unknown kind `{tag}`: expected `ex`, `eh` or `lh`", True)
        return NotRoute(name, "a plain module: no kind or status code in the name")
    if not segment:
        return NotRoute(name, f"{kind.label} has an empty segment before `.{tag}`", True)
    if not _METHOD.fullmatch(last):
        if last.lower() != last and _METHOD.fullmatch(last.lower()):
            why = f"method `{last}` must be lower-case: `{last.lower()}`"
        else:
            why = f"method `{last}` must be ASCII letters only"
        return NotRoute(name, why, True)
    return _checked(name, RouteName(segment, kind, method=last))


def _checked(name: str, route: RouteName) -> RouteName | NotRoute:
    if route.segment in (".", ".."):
        return NotRoute(name, f"segment `{route.segment}` can never be matched", True)
    if not is_lookup_safe(route.segment):
        # A backslash, a control character, an undecodable byte: a URL segment holding it is
        # never looked up, so the file would be a route nothing reaches.
        return NotRoute(name, f"segment {route.segment!r} can never be matched by a URL", True)
    return route
