"""Errors the runtime raises about the site's own code. Each names the file or value at fault.

They are ordinary exceptions: raised while serving a request, they become a 500 that goes to the
site's ``500.py`` handler like any other uncaught exception, and are logged with their traceback.
"""

from __future__ import annotations

from cylinder_logging import escape_controls

__all__ = [
    "SITE_CODE_FAILURES",
    "AppMapError",
    "CylinderError",
    "HandlerLoadError",
    "MissingParameterError",
]

#: What Cylinder catches from site code (``app_map``, hooks, handlers, error handlers, module
#: top levels, streamed bodies) and answers with a 500: every ``Exception``, and ``SystemExit``,
#: since a ``sys.exit()`` in a handler must not end the server or its worker.
#: ``KeyboardInterrupt`` is not caught: Ctrl-C stops a server that calls the application in its
#: main thread. Nor is ``GeneratorExit``: it is how Python closes a generator.
SITE_CODE_FAILURES: tuple[type[Exception], type[SystemExit]] = (Exception, SystemExit)


class CylinderError(Exception):
    """Base class of the runtime's errors.

    Its message is logged with the traceback of a failed request, and may hold text that came
    from the request (a site name chosen by ``Host``, a path): control characters in it are
    escaped (see :func:`cylinder_logging.escape_controls`), so it cannot forge log lines.

    :param message: what went wrong.
    """

    def __init__(self, message: str) -> None:
        super().__init__(escape_controls(message))


class HandlerLoadError(CylinderError):
    """A handler, hook or error-handler file could not be loaded.

    :param path: the file.
    :param line: the line in that file where loading failed, when known.
    :param reason: what went wrong.
    """

    def __init__(self, path: str, line: int | None, reason: str) -> None:
        where = f"`{path}`" if line is None else f"`{path}`, line {line}"
        super().__init__(f"cannot load {where}: {reason}")
        self.path = path
        self.line = line
        self.reason = reason


class MissingParameterError(CylinderError):
    """A ``main()`` asks for a parameter that nothing provides and that has no default.

    :param where: the function, e.g. "handler `foo/bar.ex.get.py`".
    :param name: the parameter's name.
    :param available: the names that could have been asked for.
    """

    def __init__(self, where: str, name: str, available: list[str], suggestion: str | None) -> None:
        hint = f" (did you mean `{suggestion}`?)" if suggestion else ""
        super().__init__(
            f"{where} asks for `{name}`, which no one provides; "
            f"available: {', '.join(available)}{hint}"
        )
        self.where = where
        self.name = name
        self.available = available
        self.suggestion = suggestion


class AppMapError(CylinderError):
    """``app_map`` returned something Cylinder cannot use."""
