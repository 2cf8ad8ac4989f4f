"""The request pipeline: ``app_map``, early hook, handler, late hook, and every error on the way.

One ``response`` object travels the whole way. Errors are turned into responses in one place,
:meth:`Pipeline._on_error`, and the late hook is called from one place, at the end of
:meth:`Pipeline.handle`, so it runs once whatever happened before it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import SimpleNamespace

from werkzeug.exceptions import HTTPException, InternalServerError, MethodNotAllowed, NotFound
from werkzeug.exceptions import NotImplemented as HTTPNotImplemented
from werkzeug.sansio.response import Response as SansIOResponse
from werkzeug.wrappers import Request, Response

from cylinder_logging import escape_controls
from cylinder_router import (
    FolderHandles,
    FolderWatch,
    Outcome,
    Resolution,
    RouteFile,
    Router,
    Site,
)

from .aborter import Abort
from .errors import SITE_CODE_FAILURES, AppMapError
from .inject import ERROR_HANDLER_NAMES, CallPlan
from .loader import ModuleLoader
from .provided import Provision, Provisions
from .static import serve_file

__all__ = ["BODY_HEADERS", "Exchange", "Pipeline"]

#: Checked sites a pipeline keeps, by what ``app_map`` returned.
MAX_SITES = 256

#: Headers that describe a body. When an error or redirect replaces the body they go with it;
#: every other header set before (cookies, CORS, security headers) stays.
BODY_HEADERS = (
    "Content-Type",
    "Content-Length",
    "Content-Encoding",
    "Content-Range",
    "Content-Language",
    "Content-Location",
    "Content-Disposition",
    "Content-MD5",
    "ETag",
    "Last-Modified",
    "Accept-Ranges",
    "Transfer-Encoding",
)


@dataclass(slots=True)
class Exchange:
    """One request on its way through the pipeline.

    :param request: the request; shallow during ``app_map`` and the early hook.
    :param response: the one response every step fills and returns.
    :param g: the request's scratchpad.
    :param available: what a ``main()`` may ask for: the built-ins and ``app_map``'s extras.
    :param site: the site ``app_map`` named, once known.
    :param resolution: what the router found, once known.
    :param running: the route file being loaded or run, until it returns; for the debug page.
    :param running_main: that file's ``main``, once loaded.
    :param failed: an exception other than an HTTP error was raised on the way.
    """

    request: Request
    response: Response
    g: SimpleNamespace
    available: dict[str, object]
    site: Site | None = None
    resolution: Resolution | None = None
    running: RouteFile | None = None
    running_main: Callable[..., object] | None = None
    failed: bool = False


class Pipeline:
    """Runs requests through an application's files.

    :param app_map: the application's ``app_map`` and how to call it.
    :param router: finds the files for a request.
    :param loader: loads them.
    :param abort: the ``abort`` handed to every ``main()``.
    :param log: the application's logger.
    :param watch: the folder watch the router's cache and the loader read; polled once as each
        request starts, so that both see every change made before it arrived.
    :param debug: answer an uncaught error that no ``500.py`` answers with the debug page
        (traceback and source) instead of the generic 500.
    :param provided: parameters libraries provide, started after ``app_map``, finished last.
    """

    __slots__ = (
        "_abort",
        "_app_map",
        "_app_map_plan",
        "_debug",
        "_folders",
        "_loader",
        "_log",
        "_provided",
        "_router",
        "_sites",
        "_watch",
    )

    def __init__(
        self,
        app_map: Callable[..., object],
        app_map_plan: CallPlan,
        router: Router,
        loader: ModuleLoader,
        abort: Abort,
        log: logging.Logger,
        watch: FolderWatch | None = None,
        debug: bool = False,
        provided: Provisions | None = None,
    ) -> None:
        self._app_map = app_map
        self._app_map_plan = app_map_plan
        self._router = router
        self._loader = loader
        self._abort = abort
        self._log = log
        self._sites: dict[tuple[str, str], Site] = {}
        self._watch = watch
        # Site folders kept open for static files, while the watch vouches for them.
        self._folders = FolderHandles(watch)
        self._debug = debug
        self._provided = provided

    def handle(self, request: Request) -> Response:
        """Answer one request. Never raises: every failure becomes a response."""
        if self._watch is not None:
            self._watch.poll()
        ex = self._exchange(request)

        request.shallow = True
        try:
            ex.site = self._call_app_map(ex)
            # The method as sent: Werkzeug's `request.method` is upper-cased, but HTTP methods
            # are case-sensitive and `get` must not be routed as `GET`.
            method = request.environ.get("REQUEST_METHOD", "")
            ex.resolution = self._router.resolve(ex.site, request.path, method)
        except SITE_CODE_FAILURES as exc:
            self._on_error(ex, exc)  # no site, so no error-handler files and no hooks
            return ex.response

        provided = self._provided
        started = provided.start(ex.available, request, ex.response) if provided else None
        try:
            self._run_main_steps(ex, ex.resolution)
        except SITE_CODE_FAILURES as exc:
            self._on_error(ex, exc)

        late_hook = ex.resolution.late_hook
        if late_hook is not None:
            try:
                self._run_file(ex, late_hook)
            except SITE_CODE_FAILURES as exc:
                self._on_error(ex, exc)
        if started:
            self._finish_provided(ex, started)
        return ex.response

    def close(self) -> None:
        """Let go of the site folders kept open (each closes once no request uses it)."""
        self._folders.clear()

    def _exchange(self, request: Request) -> Exchange:
        response = Response()
        g = SimpleNamespace()
        available: dict[str, object] = {
            "request": request,
            "response": response,
            "log": self._log,
            "abort": self._abort,
            "g": g,
        }
        return Exchange(request, response, g, available)

    def map_request(self, request: Request) -> tuple[Site, dict[str, object]]:
        """Ask ``app_map`` which site and which extras answer ``request``, as :meth:`handle`
        does, and run nothing else: no hook, handler or file of the site. For tools.

        :return: the site, and the extras by name (the built-ins left out). Parameters the
            application provides (``Application.provide``) are not started.
        :raises Exception: what ``app_map`` raises; :class:`AppMapError` or
            :class:`~cylinder_router.SiteError` for what it returns.
        """
        ex = self._exchange(request)
        builtins = set(ex.available)
        request.shallow = True
        try:
            site = self._call_app_map(ex)
        finally:
            request.shallow = False
        extras = {name: value for name, value in ex.available.items() if name not in builtins}
        return site, extras

    def _finish_provided(self, ex: Exchange, started: list[tuple[Provision, object]]) -> None:
        assert self._provided is not None
        failed = ex.failed or ex.response.status_code >= 500
        error = self._provided.finish(started, ex.response, failed, self._log)
        if error is not None:
            _replace_body(ex.response, error.get_response(ex.request.environ))

    def _call_app_map(self, ex: Exchange) -> Site:
        result = self._app_map_plan.call(self._app_map, ex.available)
        if not isinstance(result, tuple) or len(result) not in (2, 3):
            raise AppMapError(
                "`app_map` must return (site_dir, site_name) or (site_dir, site_name, extras), "
                f"not {result!r}"
            )
        site = self._site(result[0], result[1])
        if len(result) == 3:
            ex.available.update(_checked_extras(result[2]))
        return site

    def _site(self, site_dir: object, site_name: object) -> Site:
        """The checked site for what ``app_map`` returned, kept for absolute string folders
        (a relative one depends on the working directory at the time of the request)."""
        if type(site_dir) is not str or type(site_name) is not str:
            return Site.from_app_map(site_dir, site_name)
        key = (site_dir, site_name)
        site = self._sites.get(key)  # only absolute folders are ever kept
        if site is None:
            site = Site.from_app_map(site_dir, site_name)
            if not os.path.isabs(site_dir):
                return site
            if len(self._sites) >= MAX_SITES:
                self._sites.clear()
            self._sites[key] = site
        return site

    def _run_main_steps(self, ex: Exchange, resolution: Resolution) -> None:
        if resolution.early_hook is not None:
            self._run_file(ex, resolution.early_hook)
        ex.request.shallow = False
        outcome = resolution.outcome
        if outcome is Outcome.HANDLER:
            assert resolution.handler is not None
            self._run_file(ex, resolution.handler)
        elif outcome is Outcome.STATIC:
            assert resolution.static_file is not None
            assert ex.site is not None
            relative = "/".join(resolution.path.segments)  # static_file, below the site folder
            site = ex.site
            handle = self._folders.get(site.folder, site.site_dir)
            serve_file(
                ex.request,
                ex.response,
                site.folder,
                relative,
                folder_fd=None if handle is None else handle.fd,
            )
        elif outcome is Outcome.OPTIONS:
            ex.response.status_code = 204
            ex.response.headers["Allow"] = resolution.allow_header
            del ex.response.headers["Content-Type"]  # there is no body to describe
        elif outcome is Outcome.METHOD_NOT_ALLOWED:
            raise MethodNotAllowed(valid_methods=sorted(resolution.allowed))
        elif outcome is Outcome.NOT_IMPLEMENTED:
            raise HTTPNotImplemented(description=resolution.refusal)
        else:
            raise NotFound()

    def _run_file(
        self, ex: Exchange, route_file: RouteFile, e: HTTPException | None = None
    ) -> None:
        site_dir = ex.site.site_dir if ex.site is not None else ""
        ex.running, ex.running_main = route_file, None
        loaded = self._loader.load(
            route_file.path, lambda: _describe(route_file, site_dir), site_dir or None
        )
        ex.running_main = loaded.main
        available: Mapping[str, object] = ex.available
        if e is not None:
            available = {**ex.available, "e": e}
        result = loaded.plan.call(loaded.main, available)
        if result is not ex.response:
            raise ValueError(
                "must return the same response passed in: "
                f"{loaded.plan.where} returned {type(result).__name__}"
            )
        ex.running = ex.running_main = None

    def _on_error(self, ex: Exchange, exc: BaseException) -> None:
        """Turn an exception into the response, through the nearest error-handler file.

        An exception carrying its own response (a redirect, ``abort(a_response)``) is sent as
        it is, wherever it was raised. Any other exception inside an error handler goes to the
        500 handler; one inside the 500 handler leaves Werkzeug's plain 500. Nothing is raised
        from here.
        """
        ex.request.shallow = False
        if _sent_as_is(ex.response, exc):
            return
        http = exc if isinstance(exc, HTTPException) else self._internal_error(ex, exc)
        failed = self._try_error_handler(ex, http)
        if failed is not None and http.code != 500:
            failed = self._try_error_handler(ex, self._internal_error(ex, failed))
        if failed is not None:
            self._log.error("%s: the 500 error handler failed", _request_line(ex), exc_info=failed)
            _replace_body(ex.response, InternalServerError().get_response())
            self._show_debug_page(ex, failed)

    def _try_error_handler(self, ex: Exchange, http: HTTPException) -> BaseException | None:
        """Answer with the error handler for ``http``; the exception it raised, if any."""
        try:
            self._run_error_handler(ex, http)
        except SITE_CODE_FAILURES as exc:
            return None if _sent_as_is(ex.response, exc) else exc
        return None

    def _run_error_handler(self, ex: Exchange, http: HTTPException) -> None:
        _replace_body(ex.response, http.get_response(ex.request.environ))
        resolution = ex.resolution
        # When app_map failed there is no site to look for error handlers in.
        handler = None
        if resolution is not None and http.code is not None:
            handler = resolution.error_handler(http.code)
        if handler is not None:
            self._run_file(ex, handler, e=http)
        elif isinstance(http, InternalServerError) and http.original_exception is not None:
            self._show_debug_page(ex, http.original_exception)

    def _show_debug_page(self, ex: Exchange, exc: BaseException) -> None:
        """In debug mode, answer with the debug page for ``exc`` (no ``500.py`` answered it)."""
        if self._debug:
            # Imported here: Werkzeug's traceback tools are not loaded unless debug mode needs them.
            from .debugpage import Fault, debug_response

            fault = Fault(exc, ex.request, ex.site, ex.running, ex.running_main)
            _replace_body(ex.response, debug_response(fault))

    def _internal_error(self, ex: Exchange, exc: BaseException) -> InternalServerError:
        ex.failed = True
        self._log.error("%s failed", _request_line(ex), exc_info=exc)
        return InternalServerError(original_exception=exc)


def _sent_as_is(response: Response, exc: BaseException) -> bool:
    """Give ``response`` the answer an exception carries (a redirect, ``abort(a_response)``);
    False when it carries none."""
    if isinstance(exc, HTTPException) and exc.response is not None:
        _replace_body(response, exc.response)
        return True
    return False


def _checked_extras(extras: object) -> Mapping[str, object]:
    if not isinstance(extras, Mapping):
        raise AppMapError(f"`app_map` extras must be a mapping of names, not {extras!r}")
    for name in extras:
        if not isinstance(name, str) or not name.isidentifier():
            raise AppMapError(f"`app_map` extra {name!r} is not a valid parameter name")
        if name in ERROR_HANDLER_NAMES:
            raise AppMapError(
                f"`app_map` extra `{name}` reuses a built-in name; "
                f"built-ins are {', '.join(ERROR_HANDLER_NAMES)}: choose another name"
            )
    return extras


def _request_line(ex: Exchange) -> str:
    """The request's method and path, as a log message names them (control characters
    escaped: both are the client's text)."""
    request = ex.request
    return f"{escape_controls(request.method)} {escape_controls(request.path)}"


def _describe(route_file: RouteFile, site_dir: str) -> str:
    path = route_file.path
    if site_dir and path.startswith(site_dir):
        path = path[len(site_dir) :].lstrip("/\\")
    return f"{route_file.route.kind.label} `{path}`"


def _replace_body(response: Response, default: SansIOResponse) -> None:
    """Give ``response`` the status, body and body headers of ``default``, keeping the rest."""
    close = getattr(response.response, "close", None)
    if callable(close):
        close()
    for name in BODY_HEADERS:
        del response.headers[name]
    response.direct_passthrough = False
    response.status = default.status
    for name in {key for key, _ in default.headers}:
        if name.lower() != "content-length":
            values = default.headers.getlist(name)
            del response.headers[name]
            for value in values:
                response.headers.add(name, value)
    response.set_data(default.get_data() if isinstance(default, Response) else b"")
