"""The WSGI application object: configuration, logging, and the edge between server and pipeline."""

from __future__ import annotations

import contextvars
import logging
import sys
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import BadRequest, HTTPException, InternalServerError
from werkzeug.test import Client
from werkzeug.wrappers import Request, Response

from cylinder_logging import (
    CallSite,
    LogService,
    escape_controls,
    request_scope,
    sanitize_request_id,
)
from cylinder_router import DirectoryCache, FolderWatch, Router, Site

from .aborter import Abort, check_abort_extra
from .body import guard_input
from .errors import SITE_CODE_FAILURES
from .inject import BUILTIN_NAMES, plan_call
from .loader import ModuleLoader
from .pipeline import Pipeline
from .provided import Finish, Provisions, Start

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = ["Application"]

#: Seconds a request waits for its log records when ``wait_for_logs`` is set.
DRAIN_TIMEOUT = 10.0

#: The attributes of each access record, besides ``request_id`` (which every record has): the
#: client's address (``REMOTE_ADDR``), the method and path, the status, the milliseconds taken,
#: the body's size in bytes (``None`` when not known in advance: a streamed body) and the
#: ``User-Agent`` (``None`` when absent). Text from the request is escaped.
ACCESS_ATTRIBUTES = (
    "remote_addr",
    "method",
    "path",
    "status",
    "duration_ms",
    "response_size",
    "user_agent",
)


class Application:
    """A Cylinder WSGI application. Build it with ``cylinder.get_app``.

    :param app_map: called per request with any of ``request``, ``response``, ``log``,
        ``abort``, ``g``; returns ``(site_dir, site_name)`` or ``(site_dir, site_name, extras)``.
    :param log_level: the level of the application's logger.
    :param log_handler: where records go; a ``StreamHandler`` on stderr when None.
    :param log_formatter: the formatter set on that handler.
    :param request_id_header: the request header whose value becomes the request id.
    :param log_queue_length: records held for the handler at most; 0 for no limit.
    :param abort_extra: status code -> exception class, added to ``abort``.
    :param watch_files: learn of changed files from the kernel (inotify, on Linux) where it
        can, instead of a ``stat`` of every folder and file on the path per request; False
        checks everything with ``stat``. Either way a change is seen by the next request.
    :param debug: answer an uncaught error that no ``500.py`` answers with a page showing the
        traceback and source code (see docs/debugging.md), and log a warning saying so. Never
        for an application the public can reach.
    :raises TypeError: when ``app_map`` is not callable, asks for a parameter no one
        provides, or ``abort_extra`` is malformed.
    """

    #: When True, each request returns only after its log records were handled (for tests).
    wait_for_logs: bool

    def __init__(
        self,
        app_map: Callable[..., object],
        *,
        log_level: int = logging.DEBUG,
        log_handler: logging.Handler | None = None,
        log_formatter: logging.Formatter | None = None,
        request_id_header: str = "X-Request-ID",
        log_queue_length: int = 1000,
        abort_extra: Mapping[int, type[HTTPException]] | None = None,
        watch_files: bool = True,
        debug: bool = False,
    ) -> None:
        if not callable(app_map):
            raise TypeError(
                f"`app_map` must be a callable that names the site for a request, "
                f"not {type(app_map).__name__} {app_map!r}"
            )
        app_map_plan = plan_call(app_map, "`app_map`")
        builtins = dict.fromkeys(BUILTIN_NAMES)
        for name in (*app_map_plan.positional, *app_map_plan.keyword):
            if name not in builtins and name not in app_map_plan.optional:
                raise TypeError(str(app_map_plan.missing(name, builtins)))
        if not isinstance(request_id_header, str) or not request_id_header:
            raise TypeError(f"`request_id_header` must be a header name, not {request_id_header!r}")
        extra = check_abort_extra(abort_extra)
        if not isinstance(debug, bool):
            raise TypeError(f"`debug` must be True or False, not {debug!r}")

        self.wait_for_logs = False
        self._request_id_key = "HTTP_" + request_id_header.upper().replace("-", "_")
        self._logs = LogService(
            f"cylinder.app.{id(self):x}",
            level=log_level,
            handler=log_handler,
            formatter=log_formatter,
            queue_length=log_queue_length,
        )
        self._logs.start()
        # Credited to `access`, not to a line of this file; named `<app logger>.access`.
        self._access_site = CallSite(
            logging.INFO,
            "access",
            0,
            "access",
            name=f"{self._logs.logger.name}.access",
            attributes=ACCESS_ATTRIBUTES,
        )
        self._stop_logs = weakref.finalize(self, self._logs.stop, DRAIN_TIMEOUT)
        # At interpreter exit cylinder-logging's own hook flushes with its time limit; this
        # finalizer must not run then too, without one, behind a slow handler.
        self._stop_logs.atexit = False
        # Opened lazily by the first request, closed by `close` or when the app is collected.
        # Without it, the caches check with stat and nothing is polled.
        self._watch = FolderWatch() if watch_files else None
        self._provided = Provisions()
        self._pipeline = Pipeline(
            app_map,
            app_map_plan,
            Router(DirectoryCache(watch=self._watch)),
            ModuleLoader(watch=self._watch, log=self._logs.logger),
            Abort(extra),
            self._logs.logger,
            self._watch,
            debug=debug,
            provided=self._provided,
        )
        self._debug = debug
        if debug:
            # Imported here: Werkzeug's traceback tools are not loaded unless debug mode is on.
            from .debugpage import WARNING_TEXT

            self._logs.logger.warning(WARNING_TEXT)

    def provide(self, name: str, start: Start, finish: Finish | None = None) -> None:
        """Make ``name`` a parameter every ``main()`` may ask for (see :mod:`.provided`).

        :param start: ``start(request, response)``, called per request after ``app_map``.
        :param finish: ``finish(value, response, failed)``, called after the late hook.
        :raises ValueError: when ``name`` is not a parameter name, a built-in, or provided.
        """
        self._provided.add(name, start, finish)

    @property
    def logger(self) -> logging.Logger:
        """The application's own logger: the one handed to every ``main()`` as ``log``."""
        return self._logs.logger

    @property
    def debug(self) -> bool:
        """Whether uncaught errors show the debug page (traceback and source code)."""
        return self._debug

    @property
    def dropped_log_records(self) -> int:
        """How many log records were dropped because the queue was full."""
        return self._logs.dropped

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Answer one request (the WSGI entry point). Never raises to the server: a failure
        anywhere, even in sending the response, is logged and answered with a plain error."""
        started = time.perf_counter()
        request_id = sanitize_request_id(environ.get(self._request_id_key))
        with request_scope(request_id):
            path = environ.get("PATH_INFO", "")
            status = 500
            answered: Response | None = None  # the response sent, for its size
            try:
                guard_input(environ)
                request = Request(environ)
                path = request.path
                response = self._pipeline.handle(request)
                status = response.status_code
                body = response(environ, start_response)
                if not response.is_sequence and not response.direct_passthrough:
                    # a generator: user code runs as the server sends it, in this context
                    body = _InContext(body, contextvars.copy_context(), self, path)
                answered = response
            except SITE_CODE_FAILURES as exc:
                status = 400 if isinstance(exc, UnicodeError) else 500
                body = self._fail(environ, start_response, exc, path, status)
            logs = self._logs
            if logs.logger.isEnabledFor(logging.INFO):
                elapsed = (time.perf_counter() - started) * 1000
                size = None if answered is None else _body_size(answered, environ, status)
                _access_record(logs, self._access_site, environ, path, status, elapsed, size)
        if self.wait_for_logs:
            self._logs.drain(DRAIN_TIMEOUT)
        return body

    def _fail(
        self,
        environ: WSGIEnvironment,
        start_response: StartResponse,
        exc: BaseException,
        path: str,
        status: int,
    ) -> Iterable[bytes]:
        """Log a request that could not be answered normally and send a plain 400 or 500.

        A PATH_INFO that is not latin-1 (not PEP 3333) is a 400; anything else (a response the
        server refused, a bug) is a 500, sent with ``exc_info`` as PEP 3333 asks when
        ``start_response`` may already have been called.
        """
        method = escape_controls(environ.get("REQUEST_METHOD", ""))
        path = escape_controls(path)
        reason = escape_controls(str(exc))
        if status == 400:
            self.logger.warning("%s %s is not a usable request: %s", method, path, reason)
        else:
            self.logger.error("%s %s could not be answered: %s", method, path, reason, exc_info=exc)
        plain = BadRequest() if status == 400 else InternalServerError()
        body, status_line, headers = plain.get_response().get_wsgi_response(environ)
        try:
            start_response(status_line, headers, sys.exc_info())  # called inside the except
        except Exception as refused:  # the server had sent headers already: nothing to add
            self.logger.error(
                "%s %s: the server refused the error response too: %s",
                method,
                path,
                escape_controls(str(refused)),
            )
            return []
        return body

    @property
    def provided_names(self) -> tuple[str, ...]:
        """The names given to :meth:`provide`: parameters every ``main()`` may ask for."""
        return self._provided.names

    def map_request(self, environ: WSGIEnvironment) -> tuple[Site, dict[str, object]]:
        """Ask ``app_map`` which site and which extras would answer a request, and run nothing
        else. Tools use it: ``cylinder check cylinder_main:create_app`` learns the extras so.

        :param environ: the request, e.g. from ``werkzeug.test.EnvironBuilder``.
        :return: the site, and the extras by name (not the :attr:`provided_names`, which are
            not started).
        :raises Exception: what ``app_map`` raises; ``AppMapError`` or ``SiteError`` for what it
            returns.
        """
        return self._pipeline.map_request(Request(environ))

    def test_client(self, **kwargs: Any) -> Client:
        """A Werkzeug test client for this application."""
        return Client(self, **kwargs)

    def drain_logs(self, timeout: float | None = DRAIN_TIMEOUT) -> bool:
        """Wait until every record logged so far was handled. True when done in time."""
        return self._logs.drain(timeout)

    def close(self) -> None:
        """Flush the log queue and stop its thread, and stop watching files. The application
        stops logging after, and checks files with ``stat`` if it is called again."""
        if self._watch is not None:
            self._watch.close()
        self._pipeline.close()
        self._stop_logs()


def _access_record(
    logs: LogService,
    site: CallSite,
    environ: WSGIEnvironment,
    path: str,
    status: int,
    elapsed: float,
    size: int | None,
) -> None:
    """Log the one INFO record per request: method, path, status, milliseconds, with the
    :data:`ACCESS_ATTRIBUTES`. Text from the request is escaped.

    Logged with ``log_deferred`` rather than ``logger.info``: no stack walk to find the caller,
    and the record is built by the listener thread, not here.
    """
    # escape_controls(text), without its call for the usual clean text
    method = environ.get("REQUEST_METHOD", "")
    if not method.isprintable():
        method = escape_controls(method)
    if not path.isprintable():
        path = escape_controls(path)
    remote_addr = environ.get("REMOTE_ADDR")
    if remote_addr is not None and not remote_addr.isprintable():
        remote_addr = escape_controls(remote_addr)
    user_agent = environ.get("HTTP_USER_AGENT")
    if user_agent is not None and not user_agent.isprintable():
        user_agent = escape_controls(user_agent)
    logs.log_deferred(
        site,
        "%s %s %s %.2fms",
        (method, path, status, elapsed),
        (remote_addr, method, path, status, elapsed, size, user_agent),
    )


def _body_size(response: Response, environ: WSGIEnvironment, status: int) -> int | None:
    """The size in bytes of the body sent for ``response``: 0 when there is none (HEAD, 1xx,
    204, 304), its ``Content-Length`` when set, None when not known in advance."""
    if status < 200 or status in (204, 304) or environ.get("REQUEST_METHOD") == "HEAD":
        return 0
    length = response.headers.get("Content-Length")
    if length is not None:
        return int(length) if length.isdigit() else None
    if response.is_sequence:  # as Werkzeug counts it for the header it adds
        return sum(len(chunk) for chunk in response.iter_encoded())
    return None


class _InContext:
    """A streamed body, iterated inside the request's context so its log records keep
    the request id; closed (and logs drained, when asked) when the server is done.

    An exception while the body is produced cannot become an error response (the status and
    headers are sent): it is logged with the request id and the body ends there.
    """

    __slots__ = ("_app", "_context", "_iterator", "_path", "_source")

    def __init__(
        self, source: Iterable[bytes], context: contextvars.Context, app: Application, path: str
    ) -> None:
        self._source = source
        self._iterator: Iterator[bytes] | None = None
        self._context = context
        self._app = app
        self._path = path

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        try:
            if self._iterator is None:
                self._iterator = self._context.run(iter, self._source)
            return self._context.run(next, self._iterator)
        except StopIteration:
            raise
        except SITE_CODE_FAILURES as exc:
            self._context.run(self._log, "failed while streaming its body", exc)
            raise StopIteration from exc

    def close(self) -> None:
        close = getattr(self._source, "close", None)
        try:
            if callable(close):
                self._context.run(close)
        except SITE_CODE_FAILURES as exc:
            self._context.run(self._log, "failed while closing its body", exc)
        if self._app.wait_for_logs:
            self._app.drain_logs()

    def _log(self, what: str, exc: BaseException) -> None:
        self._app.logger.error("%s %s", escape_controls(self._path), what, exc_info=exc)
