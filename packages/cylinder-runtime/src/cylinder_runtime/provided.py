"""Parameters that libraries provide per request, and the callbacks that close them.

``Application.provide(name, start, finish)`` makes ``name`` a parameter every ``main()`` (early
hook, handler, late hook, error handler) may ask for. ``start(request, response)`` is called once
per routed request, after ``app_map`` and before the early hook, and returns the value; keep it
cheap (do I/O lazily, when the value is first used). ``finish(value, response, failed)`` is
called after the late hook, inside the request's logging scope, with ``failed`` True when an
exception other than an HTTP error was raised on the way or the status is 5xx. This is how
cylinder-sessions saves a session and sets its cookie without the handler doing anything.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass

from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.wrappers import Request, Response

from .inject import ERROR_HANDLER_NAMES

__all__ = ["Finish", "Provision", "Provisions", "Start"]

Start = Callable[[Request, Response], object]
Finish = Callable[[object, Response, bool], None]


@dataclass(frozen=True, slots=True)
class Provision:
    """One provided parameter.

    :param name: the parameter name handlers ask for.
    :param start: makes the request's value.
    :param finish: closes it after the late hook; None when nothing is to be done.
    """

    name: str
    start: Start
    finish: Finish | None


class Provisions:
    """An application's provided parameters, started and finished in the order they were added."""

    __slots__ = ("_items",)

    def __init__(self) -> None:
        self._items: tuple[Provision, ...] = ()

    def __bool__(self) -> bool:
        return bool(self._items)

    @property
    def names(self) -> tuple[str, ...]:
        """The provided parameter names, in the order they were added."""
        return tuple(item.name for item in self._items)

    def add(self, name: str, start: Start, finish: Finish | None = None) -> None:
        """Provide ``name``.

        :raises ValueError: when ``name`` is not an identifier, is a built-in, or is provided.
        :raises TypeError: when ``start`` or ``finish`` is not callable.
        """
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"a provided parameter needs a valid parameter name, not {name!r}")
        if name in ERROR_HANDLER_NAMES:
            raise ValueError(
                f"provided parameter `{name}` reuses a built-in name; "
                f"built-ins are {', '.join(ERROR_HANDLER_NAMES)}: choose another name"
            )
        if any(item.name == name for item in self._items):
            raise ValueError(f"parameter `{name}` is provided already")
        if not callable(start):
            raise TypeError(f"`start` for parameter `{name}` must be callable, not {start!r}")
        if finish is not None and not callable(finish):
            raise TypeError(f"`finish` for parameter `{name}` must be callable, not {finish!r}")
        self._items = (*self._items, Provision(name, start, finish))

    def start(
        self, available: MutableMapping[str, object], request: Request, response: Response
    ) -> list[tuple[Provision, object]]:
        """Add each provided value to ``available``; what was started, for :meth:`finish`.

        A name ``app_map`` returned as an extra keeps the extra's value, and is not started.
        """
        started = []
        for item in self._items:
            if item.name not in available:
                value = item.start(request, response)
                available[item.name] = value
                started.append((item, value))
        return started

    def finish(
        self,
        started: list[tuple[Provision, object]],
        response: Response,
        failed: bool,
        log: logging.Logger,
    ) -> HTTPException | None:
        """Call every ``finish``; each runs even if one before it failed. The error to answer
        with instead (the first one raised: itself if an HTTP error, else a 500), or None."""
        error: HTTPException | None = None
        for item, value in started:
            if item.finish is None:
                continue
            try:
                item.finish(value, response, failed)
            except Exception as exc:
                log.error("finishing parameter `%s` failed: %s", item.name, exc, exc_info=exc)
                if error is None:
                    error = (
                        exc
                        if isinstance(exc, HTTPException)
                        else InternalServerError(original_exception=exc)
                    )
        return error
