"""``cylinder explain SITE METHOD PATH [--status CODE]``: how one request would be routed.

Every file the search looks at, in order, found or missing; then the files chosen and why. It
reads file names only: no handler, hook or error handler is imported, let alone run.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Sequence

from cylinder_router import (
    DEFAULT_METHOD,
    Kind,
    Level,
    Outcome,
    RequestPath,
    Resolution,
    RouteFile,
    Router,
    Site,
    iter_candidates,
    method_refusal,
    split_path,
    static_refusal,
)

from ._common import EXIT_OK, UsageError, aligned, relative
from ._target import add_site_arguments, read_target

__all__ = ["DESCRIPTION", "EXIT_CODES", "HELP", "configure", "http_method", "run", "status_code"]

HELP = "show which files would answer a request, and why"
DESCRIPTION = """\
Explain how SITE would answer METHOD PATH, without importing or running any of its files.

For the early hook, the static file, the handler, the late hook and the error handler, every
candidate file is listed in the order the search looks at it (deepest path first; at each depth
the exact method, then `default`), marked `found` or `missing`; the first one found is chosen.
Then the files chosen, each with why: exact method or `default`, and at what depth. When no
handler answers, the framework does: 404, 405 with `Allow`, 204 for OPTIONS, or 501.

PATH is the path as a request carries it; a query after `?` is set aside, as the router does.
METHOD is case-sensitive, as in HTTP: `get` is not `GET` (a request with it is answered 501),
so a METHOD that is only a lower-case spelling of a routable one is refused, naming it.

SITE is a site folder, or `module:name` as `cylinder serve` takes it: then the application is
built and its `app_map` asked which site answers `http://HOST/PATH` (`--host`); no other code
of the application runs.

--status CODE names the status whose error handler to look for; without it, the status of the
framework's answer (404, 405, 501) when there is one."""
EXIT_CODES = """\
exit codes:
  0  explained, whatever the answer would be (a 404 included)
  1  the application failed to import or build, or its `app_map` failed
  2  usage error: no such site or application, a Python module given as SITE, a bad PATH or
     --status, or a METHOD not in upper case (`get` for `GET`)"""

#: An HTTP method is a token (RFC 9110, section 5.6.2).
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")

_FRAMEWORK_STATUS = {
    Outcome.NOT_FOUND: 404,
    Outcome.METHOD_NOT_ALLOWED: 405,
    Outcome.NOT_IMPLEMENTED: 501,
}


def http_method(text: str) -> str:
    """Argument type of METHOD: any HTTP token. Tokens of other characters than letters are
    valid requests too: Cylinder answers them 501, and ``explain`` says so.

    :raises argparse.ArgumentTypeError: for text that is not a token.
    """
    if not _TOKEN.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"`{text}` is not an HTTP method: a method is a token such as `GET` or `PROPFIND`"
        )
    return text


def status_code(text: str) -> int:
    """Argument type of ``--status``: a status code from 100 to 599.

    :raises argparse.ArgumentTypeError: for anything else.
    """
    if not (len(text) == 3 and text.isascii() and text.isdigit() and 100 <= int(text) <= 599):
        raise argparse.ArgumentTypeError(
            f"`{text}` is not a status code: expected three digits from 100 to 599"
        )
    return int(text)


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``cylinder explain``."""
    add_site_arguments(parser, path_option=False)
    parser.add_argument(
        "method", metavar="METHOD", type=http_method, help="the request method, e.g. `GET`"
    )
    parser.add_argument(
        "path",
        metavar="PATH",
        help="the decoded URL path, starting with `/`; a query (`?name=x`) is set aside",
    )
    parser.add_argument(
        "--status",
        metavar="CODE",
        type=status_code,
        help="the status whose error handler to find (default: the framework's answer, if any)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print how ``args.method args.path`` would be answered on ``args.site``."""
    method: str = args.method
    if not args.path.startswith("/"):
        raise UsageError(f"PATH `{args.path}` must start with `/`")
    if method != method.upper() and method_refusal(method.upper()) is None:
        raise UsageError(
            f"METHOD `{method}`: HTTP methods are case-sensitive, and a request with `{method}` "
            f"is answered 501 Not Implemented; did you mean `{method.upper()}`?"
        )
    path, mark, query = args.path.partition("?")
    target = read_target(args.site, args.host, args.path)  # `app_map` may read the query
    if target.mapped is not None:
        print(target.mapped)
    if mark:
        print(f"the query `?{query}` is not part of the path: routing sees `{path}`")
    for line in explain(target.site, method, path, args.status):
        print(line)
    return EXIT_OK


def explain(site: Site, method: str, path: str, status: int | None) -> list[str]:
    """The lines of an explanation.

    :param site: the site.
    :param method: the request method as sent.
    :param path: the decoded URL path.
    :param status: the status whose error handler to find, or None for the framework's answer.
    """
    router = Router()
    request_path = split_path(path)
    found = router.resolve(site, request_path, method)
    search = found.route_method
    code = status if status is not None else _FRAMEWORK_STATUS.get(found.outcome)

    lines = [f"{method} {path} on site `{site.site_name}`"]
    matched = request_path.normalized + ("/" if request_path.trailing_slash else "")
    if matched != path:
        lines.append(f"matched as `{matched}`: empty, `.` and `..` segments are dropped")
    if found.refusal is not None:
        lines.append(
            f"the method cannot be routed ({found.refusal}): answered 501 Not Implemented; "
            f"hooks are searched for `{DEFAULT_METHOD}`"
        )
    elif found.head_as_get:
        lines.append("HEAD is routed as GET: no `.ex.head.py` or `.ex.default.py` on the path")
    lines.append("")

    lines += _section(f"early hook, searched for `{search}`:", site, found, Kind.EARLY_HOOK)
    lines += _static_section(site, router, request_path, found)
    if found.outcome is Outcome.STATIC:
        lines += ["handler: not searched, the static file answers", ""]
    elif found.outcome is Outcome.NOT_IMPLEMENTED:
        lines += ["handler: not searched, the method cannot be routed", ""]
    else:
        lines += _section(f"handler, searched for `{search}`:", site, found, Kind.HANDLER)
    lines += _section(f"late hook, searched for `{search}`:", site, found, Kind.LATE_HOOK)
    if code is None:
        lines += ["error handler: no status to look for (give one with `--status CODE`)", ""]
    else:
        lines += _error_section(site, found, code)
    lines += _summary(site, found, code)
    return lines


def _section(title: str, site: Site, found: Resolution, kind: Kind) -> list[str]:
    chosen = {
        Kind.EARLY_HOOK: found.early_hook,
        Kind.HANDLER: found.handler,
        Kind.LATE_HOOK: found.late_hook,
    }[kind]
    candidates = [
        (depth, os.path.join(folder, name))
        for depth, folder, name in iter_candidates(site, found.path, kind, found.route_method)
    ]
    return [title, *_candidate_lines(site, found.levels, candidates, chosen), ""]


def _error_section(site: Site, found: Resolution, code: int) -> list[str]:
    # ``iter_candidates`` names files by method; error handlers are named by status code.
    names = [site.site_name, *found.path.segments]
    folders = [site.site_dir, site.folder]
    for segment in found.path.segments[:-1]:
        folders.append(os.path.join(folders[-1], segment))
    candidates = [
        (depth, os.path.join(folders[depth], f"{names[depth]}.{code}.py"))
        for depth in range(len(names) - 1, -1, -1)
    ]
    chosen = found.error_handler(code)
    title = f"error handler for {code}:"
    return [title, *_candidate_lines(site, found.levels, candidates, chosen), ""]


def _candidate_lines(
    site: Site,
    levels: Sequence[Level],
    candidates: Sequence[tuple[int, str]],
    chosen: RouteFile | None,
) -> list[str]:
    rows: list[list[str]] = []
    for depth, path in candidates:
        state = _state(levels, depth, path)
        mark = "<- chosen" if chosen is not None and chosen.path == path else ""
        rows.append([f"depth {depth}", state, relative(site, path), mark])
    return aligned(rows, indent="  ")


def _state(levels: Sequence[Level], depth: int, path: str) -> str:
    folder, name = os.path.split(path)
    if depth < len(levels):
        return "found" if name in levels[depth].listing.files else "missing"
    if os.path.isdir(folder):
        return "skipped"  # a folder the router does not enter: outside the site, or unsafe
    return "missing"


def _static_section(
    site: Site, router: Router, request_path: RequestPath, found: Resolution
) -> list[str]:
    title = "static file, on an exact match only:"
    refusal = static_refusal(request_path)
    if refusal is not None:
        return [title, f"  none: {refusal}", ""]
    file = router.static_file(site, request_path)
    candidate = relative(site, os.path.join(site.folder, *request_path.segments))
    if file is None:
        return [title, f"  missing  {candidate}", ""]
    if found.outcome is Outcome.STATIC:
        return [title, f"  found    {candidate}  <- chosen", ""]
    return [title, f"  found    {candidate}  (served for GET and HEAD only)", ""]


def _summary(site: Site, found: Resolution, code: int | None) -> list[str]:
    rows = [["early hook", *_chosen(site, found.early_hook, found.head_as_get)]]
    outcome = found.outcome
    if outcome is Outcome.HANDLER:
        rows.append(["handler", *_chosen(site, found.handler, found.head_as_get)])
    elif outcome is Outcome.STATIC:
        assert found.static_file is not None
        rows.append(
            [
                "static file",
                relative(site, found.static_file),
                f"exact match of `{found.path.normalized}`",
            ]
        )
    else:
        rows.append(["answer", *_framework_answer(found)])
    rows.append(["late hook", *_chosen(site, found.late_hook, found.head_as_get)])
    if code is not None:
        handler = found.error_handler(code)
        if handler is None:
            rows.append([f"error {code}", "none", "Werkzeug's default page for the status"])
        else:
            rows.append([f"error {code}", relative(site, handler.path), _depth(handler)])

    lines = ["result:", *aligned(rows, indent="  ")]
    if found.head_as_get:
        lines.append("  HEAD is answered as GET would be, without the body")
    if outcome is Outcome.HANDLER and found.rest:
        lines.append(f"  the handler sees `{'/'.join(found.rest)}` below its prefix")
    return lines


def _chosen(site: Site, route_file: RouteFile | None, head_as_get: bool) -> list[str]:
    if route_file is None:
        return ["none", ""]
    method = route_file.route.method
    if route_file.exact and method != DEFAULT_METHOD:
        why = f"exact method `{method}`"
    else:
        why = f"catch-all `{DEFAULT_METHOD}`"
    why = f"{why}, {_depth(route_file)}"
    if head_as_get:
        why += ", HEAD routed as GET"
    return [relative(site, route_file.path), why]


def _depth(route_file: RouteFile) -> str:
    return f"depth {route_file.depth} (`{route_file.prefix}`)"


def _framework_answer(found: Resolution) -> list[str]:
    outcome = found.outcome
    if outcome is Outcome.OPTIONS:
        return [
            f"204 No Content, Allow: {found.allow_header}",
            "no `.ex.options.py` or `.ex.default.py` on the path",
        ]
    if outcome is Outcome.METHOD_NOT_ALLOWED:
        return [
            f"405 Method Not Allowed, Allow: {found.allow_header}",
            "the path has handlers, but none for this method",
        ]
    if outcome is Outcome.NOT_IMPLEMENTED:
        return ["501 Not Implemented", found.refusal or "the method cannot be routed"]
    return ["404 Not Found", "no handler for any method on the path"]
