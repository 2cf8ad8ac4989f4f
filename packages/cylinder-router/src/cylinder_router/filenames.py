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
    "near_miss",
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

#: Methods a plain module's name may hold by mistake for a handler's (``about.get.py``).
_COMMON_METHODS = frozenset(
    {"get", "head", "post", "put", "delete", "patch", "options", DEFAULT_METHOD}
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


def near_miss(name: str) -> str | None:
    """The route file a plain module was most likely meant to be, or None.

    :func:`parse_filename` reads ``about.get.py``, ``baz.ex.py``, ``page.eh.py`` and
    ``bar.ex.get.txt.py`` as plain modules, which no request runs: the kind is missing, the
    method is missing, or they sit in the wrong place. Such a name is almost always a mistake, so
    ``cylinder check`` warns with the name this returns (``about.ex.get.py``,
    ``baz.ex.get.py``, ``page.eh.get.py``, ``bar.txt.ex.get.py``).

    :param name: a bare file name that :func:`parse_filename` does not take as a route.
    :return: the likely intended file name; None for a route, a name rejected as a broken route,
        a plain module that does not look like a route, or a file that is not ``.py``.
    """
    parsed = parse_filename(name)
    if isinstance(parsed, RouteName) or parsed.suspicious or not name.endswith(".py"):
        return None
    parts = name[: -len(".py")].split(".")
    if len(parts) < 2 or not all(parts):
        return None
    tags = [index for index in range(1, len(parts)) if parts[index].lower() in _KINDS_BY_TAG]
    intended = _with_kind(parts, tags[-1]) if tags else _without_kind(parts)
    if intended is None:
        return None
    file_name = intended.file_name()
    return file_name if isinstance(parse_filename(file_name), RouteName) else None


def _with_kind(parts: list[str], index: int) -> RouteName:
    """``parts[index]`` is a kind, but the method is missing or out of place."""
    kind = _KINDS_BY_TAG[parts[index].lower()]
    before, after = parts[:index], parts[index + 1 :]
    if after and _METHOD.fullmatch(after[0].lower()):
        # `bar.ex.get.txt.py`: the parts after the method belong to the segment.
        extra = [part for part in after[1:] if part.lower() != "py"]  # `x.ex.get.py.py`
        return RouteName(".".join([*before, *extra]), kind, method=after[0].lower())
    # `baz.ex.py` (no method: GET is the likeliest), `bar.get.ex.py` (method before the kind).
    methods = [position for position in range(1, index) if parts[position].lower() in KNOWN_METHODS]
    if not methods:
        return RouteName(".".join([*before, *after]), kind, method="get")
    position = methods[-1]
    segment = [*parts[:position], *parts[position + 1 : index], *after]
    return RouteName(".".join(segment), kind, method=parts[position].lower())


def _without_kind(parts: list[str]) -> RouteName | None:
    """No kind at all: ``about.get.py`` is a handler when a part is a common method."""
    methods = [index for index in range(1, len(parts)) if parts[index].lower() in _COMMON_METHODS]
    if not methods:
        return None
    index = methods[-1]
    segment = [*parts[:index], *parts[index + 1 :]]
    return RouteName(".".join(segment), Kind.HANDLER, method=parts[index].lower())
