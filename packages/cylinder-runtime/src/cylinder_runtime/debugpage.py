"""The debug page: what an uncaught error shows the developer when debug mode is on.

The page is built with Werkzeug's traceback tools (:class:`werkzeug.debug.tbtools.DebugTraceback`)
for display only: there is no console, no PIN, and nothing the client sends is ever evaluated.
It leads with Cylinder's own account of the failure (which file asked for which parameter,
which line failed to compile, which file raised), shows the route file at fault with the failing
line marked, then the traceback with the site's own frames first and the framework's frames
(Cylinder, Werkzeug, the standard library, installed packages) folded away after them.

Browsers, which ask for ``text/html`` by name, get HTML; every other client (``curl``'s ``*/*``,
``Accept: text/plain``, no ``Accept`` at all) gets the same facts as plain text.
"""

from __future__ import annotations

import linecache
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import werkzeug
from markupsafe import escape
from werkzeug.debug.tbtools import DebugFrameSummary, DebugTraceback
from werkzeug.wrappers import Request, Response

import cylinder_logging
import cylinder_router
from cylinder_router import RouteFile, Site

from .errors import CylinderError, HandlerLoadError

__all__ = ["WARNING_TEXT", "Fault", "debug_response", "wants_html"]

#: Said on every debug page and logged once at WARNING when an application starts in debug mode.
WARNING_TEXT = (
    "debug mode is on: an uncaught error shows its traceback and source code to whoever made "
    "the request; never let the public reach an application in debug mode"
)

#: Lines shown before and after the failing line of the file at fault, in the plain-text page.
CONTEXT_LINES = 3

#: Cylinder's own folders (each ends with a separator): an exception raised in one of them
#: carries Cylinder's own message.
_CYLINDER_FOLDERS = tuple(
    os.path.dirname(os.path.abspath(path)) + os.sep
    for path in (__file__, cylinder_router.__file__ or "", cylinder_logging.__file__ or "")
)

#: Folders whose frames are the framework's, not the site's.
_FRAMEWORK_FOLDERS = (
    *_CYLINDER_FOLDERS,
    os.path.dirname(os.path.abspath(werkzeug.__file__ or "")) + os.sep,
)

#: Control characters shown escaped in the request line, so that a crafted path cannot
#: disguise the page.
_CONTROLS = MappingProxyType({c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F)})


@dataclass(frozen=True, slots=True)
class Fault:
    """An uncaught error, with what the pipeline knew when it happened.

    :param exc: the exception no error handler answered.
    :param request: the request being answered.
    :param site: the site ``app_map`` named; None when ``app_map`` itself failed.
    :param route_file: the route file whose code was being loaded or run, if any.
    :param main: that file's ``main``, once the file was loaded.
    """

    exc: BaseException
    request: Request
    site: Site | None = None
    route_file: RouteFile | None = None
    main: Callable[..., object] | None = None


@dataclass(frozen=True, slots=True)
class _Spot:
    """The file at fault and, when known, the line."""

    path: str
    shown: str
    line: int | None


@dataclass(frozen=True, slots=True)
class _Part:
    """One exception of the chain: its text and its frames, the site's and the framework's."""

    divider: str | None
    text: str
    yours: list[DebugFrameSummary]
    framework: list[DebugFrameSummary]
    innermost: str | None


def wants_html(request: Request) -> bool:
    """Whether the client asks for HTML by name (browsers do), rather than accepting anything."""
    return request.accept_mimetypes.best_match(["text/plain", "text/html"]) == "text/html"


def debug_response(fault: Fault) -> Response:
    """The 500 response showing ``fault``: HTML for browsers, plain text for other clients."""
    tb = DebugTraceback(fault.exc)
    parts = _parts(tb)
    spot = _spot(fault, parts)
    summary = _summary(fault, parts, spot)
    if wants_html(fault.request):
        body = _html(fault, tb, parts, spot, summary)
        mimetype = "text/html"
    else:
        body = _text(fault, tb, parts, spot, summary)
        mimetype = "text/plain"
    response = Response(body, status=500, mimetype=mimetype)
    response.headers["Cache-Control"] = "no-store"
    return response


def _is_framework(frame: DebugFrameSummary) -> bool:
    filename = frame.filename
    return filename.startswith(("<", *_FRAMEWORK_FOLDERS)) or frame.is_library


def _parts(tb: DebugTraceback) -> list[_Part]:
    """The exception chain, the root cause first, as Python prints it."""
    parts = []
    for divider, te in reversed(tb.all_tracebacks):
        frames = [f for f in te.stack if isinstance(f, DebugFrameSummary)]
        parts.append(
            _Part(
                divider,
                "".join(te.format_exception_only()).rstrip("\n"),
                [f for f in frames if not _is_framework(f)],
                [f for f in frames if _is_framework(f)],
                frames[-1].filename if frames else None,
            )
        )
    return parts


def _shown(path: str, site: Site | None) -> str:
    """``path`` relative to the folder holding the site, when it is inside it."""
    if site is not None and path.startswith(site.site_dir + os.sep):
        return path[len(site.site_dir) + 1 :].replace(os.sep, "/")
    return path


def _spot(fault: Fault, parts: Sequence[_Part]) -> _Spot | None:
    """The file at fault: the route file being run (at its failing line, or its ``main``) or,
    when no route file was running, the innermost frame of the site's own code."""
    exc, route_file = fault.exc, fault.route_file
    if isinstance(exc, HandlerLoadError):
        return _Spot(exc.path, _shown(exc.path, fault.site), exc.line)
    if route_file is not None:
        path = route_file.path
        line = None
        for frame in parts[-1].yours:
            if frame.filename == path:
                line = frame.lineno
        code = getattr(fault.main, "__code__", None)
        if line is None and code is not None and code.co_filename == path:
            line = code.co_firstlineno  # it was never entered: show where it is defined
        return _Spot(path, _shown(path, fault.site), line)
    yours = parts[-1].yours
    if yours:
        return _Spot(yours[-1].filename, _shown(yours[-1].filename, fault.site), yours[-1].lineno)
    return None


def _summary(fault: Fault, parts: Sequence[_Part], spot: _Spot | None) -> str:
    """Cylinder's account of the failure, in one sentence."""
    exc = fault.exc
    name = type(exc).__name__
    innermost = parts[-1].innermost
    raised_by_cylinder = innermost is not None and innermost.startswith(_CYLINDER_FOLDERS)
    if isinstance(exc, CylinderError) or raised_by_cylinder:
        return str(exc)
    at = f" at line {spot.line}" if spot is not None and spot.line is not None else ""
    route_file = fault.route_file
    if route_file is not None:
        label = route_file.route.kind.label
        return f"{label} `{_shown(route_file.path, fault.site)}` raised `{name}`{at}"
    if fault.site is None:
        return f"`app_map` raised `{name}`{at}"
    return f"`{name}` was raised outside any route file{at}"


def _request_line(request: Request) -> str:
    query = request.query_string.decode("latin-1")
    path = request.path + (f"?{query}" if query else "")
    method = request.environ.get("REQUEST_METHOD", "")
    return f"{method} {path}".translate(_CONTROLS)


def _excerpt(path: str, line: int) -> list[tuple[int, str]]:
    linecache.checkcache(path)
    lines = linecache.getlines(path)
    first = max(1, line - CONTEXT_LINES)
    last = min(len(lines), line + CONTEXT_LINES)
    return [(n, lines[n - 1].rstrip()) for n in range(first, last + 1)]


# -- plain text -------------------------------------------------------------------------------


def _text(
    fault: Fault,
    tb: DebugTraceback,
    parts: Sequence[_Part],
    spot: _Spot | None,
    summary: str,
) -> str:
    out = [
        "500 Internal Server Error: Cylinder debug page",
        f"({WARNING_TEXT})",
        "",
        f"request: {_request_line(fault.request)}",
        f"error:   {summary}",
    ]
    if summary != str(fault.exc):
        out.append(f"         {parts[-1].text.splitlines()[-1]}")
    if spot is not None:
        where = spot.shown if spot.line is None else f"{spot.shown}, line {spot.line}"
        out += ["", f"file at fault: {where}"]
        if spot.line is not None:
            for number, source in _excerpt(spot.path, spot.line):
                mark = ">" if number == spot.line else " "
                out.append(f"  {mark} {number:4d} | {source}".rstrip())
    for part in parts:
        out.append("")
        if part.divider is not None:
            out += [f"{part.divider}:", ""]
        out.append(part.text)
        out.append("  your code (most recent call last):")
        out += _text_frames(part.yours, "    (none)")
        out.append("  framework (most recent call last):")
        out += _text_frames(part.framework, "    (none)")
    out += ["", "the full traceback:", tb.render_traceback_text().rstrip("\n"), ""]
    return "\n".join(out)


def _text_frames(frames: Sequence[DebugFrameSummary], empty: str) -> list[str]:
    if not frames:
        return [empty]
    out = []
    for frame in frames:
        out.append(f'    File "{frame.filename}", line {frame.lineno}, in {frame.name}')
        source = (frame.line or "").strip()
        if source:
            out.append(f"      {source}")
    return out


# -- HTML -------------------------------------------------------------------------------------


def _html(
    fault: Fault,
    tb: DebugTraceback,
    parts: Sequence[_Part],
    spot: _Spot | None,
    summary: str,
) -> str:
    name, message = type(fault.exc).__name__, str(fault.exc)
    out = [
        "<!doctype html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{escape(name)}: {escape(message)} // Cylinder debug page</title>",
        f"<style>{_STYLE}</style>",
        "</head>",
        "<body>",
        f'<p class="warning">{escape(WARNING_TEXT)}</p>',
        f"<h1>{escape(name)}</h1>",
        f'<p class="errormsg">{escape(message)}</p>',
    ]
    if summary != message:
        out.append(f'<p class="cylinder">{_with_code(summary)}</p>')
    out.append(
        f'<p class="request">while answering <code>{escape(_request_line(fault.request))}'
        "</code></p>"
    )
    if spot is not None:
        out.append('<section class="at-fault">')
        line = "" if spot.line is None else f", line {spot.line}"
        out.append(f'<h2>File at fault: <mark class="spot">{escape(spot.shown)}</mark>{line}</h2>')
        if spot.line is not None:
            linecache.checkcache(spot.path)
            frame = _spot_frame(fault, parts, spot, spot.line)
            out.append(f'<div class="traceback">{frame.render_html(False)}</div>')
        out.append("</section>")
    out.append("<h2>Traceback <em>(your code first, most recent call last)</em></h2>")
    for part in parts:
        out.append('<div class="traceback">')
        if part.divider is not None:
            out.append(f'<p class="divider">{escape(part.divider)}:</p>')
        out.append(f'<pre class="exception">{escape(part.text)}</pre>')
        out.append('<h3>Your code</h3><ul class="yours">')
        out += [_html_frame(f, spot) for f in part.yours] or ["<li>(none)</li>"]
        out.append("</ul>")
        count = len(part.framework)
        out.append(
            f'<details class="framework"><summary>{count} framework frame'
            f"{'' if count == 1 else 's'} (Cylinder, Werkzeug, Python, libraries)</summary><ul>"
        )
        out += [_html_frame(f, spot) for f in part.framework]
        out.append("</ul></details></div>")
    out += [
        '<details class="plain"><summary>The full traceback as text</summary>',
        f"<pre>{escape(tb.render_traceback_text())}</pre></details>",
        '<p class="footer">Cylinder debug page, on because of <code>debug=True</code>, '
        "<code>CYLINDER_DEBUG=1</code> or <code>cylinder serve --debug</code>.</p>",
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(out)


def _spot_frame(fault: Fault, parts: Sequence[_Part], spot: _Spot, line: int) -> DebugFrameSummary:
    """The traceback's frame at the spot, or one made for it (a file that did not compile, a
    ``main`` that was never entered)."""
    for part in reversed(parts):
        for frame in reversed(part.yours):
            if frame.filename == spot.path and frame.lineno == line:
                return frame
    name = "<module>" if isinstance(fault.exc, HandlerLoadError) else "main"
    return DebugFrameSummary(filename=spot.path, lineno=line, name=name, locals={}, globals={})


def _with_code(text: str) -> str:
    """``text`` as HTML, with its names in backticks set as code."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", str(escape(text)))


def _html_frame(frame: DebugFrameSummary, spot: _Spot | None) -> str:
    at_fault = spot is not None and frame.filename == spot.path
    opening = '<li class="at-fault">' if at_fault else "<li>"
    return f"{opening}{frame.render_html(False)}</li>"


_STYLE = """
body { font-family: sans-serif; margin: 1em 2em; color: #111; font-size: 15px; }
h1 { font-size: 30px; font-weight: normal; margin: 0.4em 0 0.2em 0; }
h2 { font-size: 16px; font-weight: normal; background: #1d4e6e; color: #fff; padding: 8px;
     margin: 1.4em 0 0 0; }
h2 em { font-style: normal; color: #bcd9e8; }
h2 mark.spot { background: #ffe066; color: #111; padding: 0 4px; font-family: monospace; }
h3 { font-size: 14px; margin: 0.8em 0 0.3em 0; }
p.warning { background: #fff3cd; border: 1px solid #e0b000; padding: 8px; margin: 0; }
p.errormsg { font-family: monospace; font-size: 15px; white-space: pre-wrap; margin: 0; }
p.cylinder { font-size: 17px; margin: 0.8em 0 0.2em 0; }
p.request, p.footer { color: #555; margin: 0.2em 0; }
p.footer { margin-top: 2em; font-size: 13px; }
p.divider { font-style: italic; color: #555; }
pre, code { font-family: monospace; font-size: 14px; }
div.traceback { border: 1px solid #ddd; padding: 6px 10px; }
ul { list-style: none; margin: 0; padding: 0 0 0 1em; }
div.frame h4 { font-size: 13px; font-weight: normal; margin: 0.6em 0 0.1em 0; }
cite.filename { font-style: normal; color: #2f5f66; }
div.source pre { margin: 0; padding: 2px 0 2px 12px; background: #eef3f4; white-space: pre; }
div.source pre.current { background: #d3e4f0; font-weight: bold; }
li.at-fault div.source pre.current, section.at-fault pre.current { background: #ffe066; }
li.at-fault cite.filename { background: #ffe066; }
details.framework pre.before, details.framework pre.after { display: none; }
details.framework div.source pre.current { font-weight: normal; background: #f4f4f4; }
details summary { cursor: pointer; color: #1d4e6e; margin: 0.5em 0; }
pre.exception { margin: 0.4em 0; white-space: pre-wrap; color: #8a1010; }
details.plain pre { background: #eef3f4; padding: 8px; overflow-x: auto; }
"""
