"""Names that are never served as static files, whatever the folder holds.

A site folder is shared with editors, version control and deploy tools, which leave copies of
source beside it: ``page.ex.get.py~``, ``#page.ex.get.py#``, ``page.ex.get.py.bak``,
``page.ex.get.py.tmp`` during a rename-based save, ``page.ex.get.py___jb_tmp___``, or a handler
saved without its extension (``contact.ex.get``). None of them may ever answer a request with
its source. One rule, read from the name alone:

- a dot-separated part after the first that is ``py`` plus at most one letter, then no letter
  (``(?i)^py[a-z]?(?![a-z])``): ``x.py``, ``x.pyc``, ``x.pyw``, ``x.py~``, ``x.py.bak``,
  ``x.py.`` (``pyramid.svg`` is fine);
- a second dot-part that is a route kind, ``ex``, ``eh`` or ``lh`` (``contact.ex.get``);
- an editor's leftover: ``*~``, ``#*#``, or a name holding ``___jb_tmp___`` or ``___jb_old___``.
"""

from __future__ import annotations

import re

__all__ = ["PYTHON_SOURCE", "ROUTE_KIND_PARTS", "is_python_source", "never_static"]

#: The reason :func:`never_static` gives for plain Python source and bytecode.
PYTHON_SOURCE = "Python files are never served"

#: The second dot-part of a route file's name when its segment holds no dot.
ROUTE_KIND_PARTS = frozenset({"ex", "eh", "lh"})

#: A dot-part that marks Python source, bytecode, or a copy of either.
_PYTHON_PART = re.compile(r"py[a-z]?(?![a-z])", re.IGNORECASE)
_JETBRAINS = ("___jb_tmp___", "___jb_old___")
#: Last parts of the files that were never served before the live-tree rules: no news to report.
_PLAIN_PYTHON = frozenset({"py", "pyc", "pyo"})


def never_static(name: str) -> str | None:
    """Why a file of this name is never served as a static file, or None when it may be.

    :param name: a bare file name, without any folder.
    :return: the reason, in words for a person (lower-case, parts in backticks).
    """
    if name.endswith("~"):
        return "an editor's backup copy (the name ends in `~`)"
    if len(name) > 1 and name.startswith("#") and name.endswith("#"):
        return "an editor's auto-save file (the name is `#...#`)"
    for marker in _JETBRAINS:
        if marker in name:
            return f"an editor's temporary file (the name holds `{marker}`)"
    parts = name.split(".")
    last = len(parts) - 1
    for index in range(1, len(parts)):
        part = parts[index]
        if _PYTHON_PART.match(part):
            if index == last and part.lower() in _PLAIN_PYTHON:
                return PYTHON_SOURCE
            return f"a copy of Python source (the part `.{part}` after the first dot)"
    if last > 0 and parts[1] in ROUTE_KIND_PARTS:
        return f"a route file saved without `.py` (`.{parts[1]}.` after the first dot)"
    return None


def is_python_source(name: str) -> bool:
    """Whether a name is plainly Python source or bytecode (``x.py``, ``x.PYC``): never served,
    as everyone expects, so not worth a warning when it sits in a site folder."""
    return never_static(name) == PYTHON_SOURCE
