"""Cylinder: a small WSGI framework on Werkzeug whose routes are the files on disk.

``my_webapps/webapp1.ex.get.py`` answers ``GET /``; ``my_webapps/webapp1/foo/bar.ex.get.py``
answers ``GET /foo/bar``. ``get_app`` builds the WSGI application::

    import cylinder
    import waitress

    def app_map(request):
        return "my_webapps", "webapp1", {}

    app = cylinder.get_app(app_map)
    waitress.serve(app, host="127.0.0.1", port=8080)

``log_formatter`` is the formatter ``get_app`` gives the log handler; replace it before calling
``get_app`` to change how records look. ``CYLINDER_WATCH_FILES=0`` in the environment makes
``get_app`` check files with ``stat`` instead of inotify events (see docs/reload.md), and
``CYLINDER_DEBUG=1`` turns on the debug page (see docs/debugging.md) for an application built
without an explicit ``debug=``.
"""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Callable, Mapping

from werkzeug.exceptions import HTTPException

from cylinder_logging import default_formatter
from cylinder_runtime import Application

__all__ = ["Application", "get_app", "log_formatter"]

__version__ = "0.3.0"

#: The environment variable that turns inotify watching off (``0``) or on (``1``, the default).
WATCH_FILES_VARIABLE = "CYLINDER_WATCH_FILES"

#: The environment variable that turns the debug page on (``1``) or off (``0``, the default) for
#: an application built with ``debug=None``.
DEBUG_VARIABLE = "CYLINDER_DEBUG"

#: The formatter of every application built by :func:`get_app` from now on. Its format may use
#: ``%(request_id)s`` and ``%(timestamp)s`` besides the standard fields.
log_formatter: logging.Formatter = default_formatter()


def get_app(
    app_map: Callable[..., object],
    log_level: int = logging.DEBUG,
    log_handler: logging.Handler | None = None,
    request_id_header: str = "X-Request-ID",
    log_queue_length: int = 1000,
    abort_extra: Mapping[int, type[HTTPException]] | None = None,
    debug: bool | None = None,
) -> Application:
    """Build a Cylinder WSGI application.

    :param app_map: called for each request with any of ``request``, ``response``, ``log``,
        ``abort`` and ``g``; returns ``(site_dir, site_name)`` or
        ``(site_dir, site_name, extras)``, ``extras`` being more parameters for ``main()``.
    :param log_level: the level of the application's logger.
    :param log_handler: where log records go; a ``StreamHandler`` on stderr when None.
    :param request_id_header: the request header that carries the request id; an id is
        generated when it is missing.
    :param log_queue_length: how many records may wait for the handler before new ones are
        dropped (and counted); 0 for no limit.
    :param abort_extra: status code -> ``HTTPException`` subclass, for codes Werkzeug lacks.
    :param debug: show uncaught errors that no ``500.py`` answers as a page with the traceback
        and source code, for development only; None reads ``CYLINDER_DEBUG`` (off when unset).
    :raises TypeError: when ``app_map`` is not callable or an argument is malformed.
    :raises ValueError: when ``CYLINDER_WATCH_FILES`` or ``CYLINDER_DEBUG`` is set to something
        other than ``0``/``1`` (or ``false``/``true``, ``no``/``yes``, ``off``/``on``).
    """
    if debug is None:
        debug = _switch(DEBUG_VARIABLE, os.environ.get(DEBUG_VARIABLE), default=False)
    return Application(
        app_map,
        log_level=log_level,
        log_handler=log_handler,
        log_formatter=copy.copy(log_formatter),  # each app its own: no state shared
        request_id_header=request_id_header,
        log_queue_length=log_queue_length,
        abort_extra=abort_extra,
        watch_files=_switch(
            WATCH_FILES_VARIABLE, os.environ.get(WATCH_FILES_VARIABLE), default=True
        ),
        debug=debug,
    )


def _switch(variable: str, value: str | None, *, default: bool) -> bool:
    """What an on/off environment variable asks for; ``default`` when it is unset or empty.

    :raises ValueError: naming the variable, for a value that is neither on nor off.
    """
    if value is None or not value.strip():
        return default
    word = value.strip().lower()
    if word in ("1", "true", "yes", "on"):
        return True
    if word in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"`{variable}` must be 0 or 1 (or false/true, no/yes, off/on), got {value!r}")
