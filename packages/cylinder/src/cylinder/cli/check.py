"""``cylinder check SITE``: find the mistakes a site's file names and sources show.

Route files are compiled and their syntax tree read; none is executed. Errors are mistakes that
break requests for sure; warnings are things that look wrong but may be meant.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import enum
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from cylinder_router import (
    KNOWN_METHODS,
    Kind,
    RejectedFile,
    Rejection,
    RouteRow,
    RouteTable,
    Site,
    route_table,
)
from cylinder_runtime import BUILTIN_NAMES, ERROR_HANDLER_NAMES, REDIRECT_CODES

from ._common import EXIT_OK, EXIT_PROBLEMS, relative
from ._target import add_site_arguments, extra_name, read_target

__all__ = [
    "DESCRIPTION",
    "EXIT_CODES",
    "HELP",
    "Finding",
    "Severity",
    "check_site",
    "configure",
    "run",
]

HELP = "find mistakes in a site's file names and sources"
DESCRIPTION = """\
Lint SITE without running any of its code: route files are compiled and their syntax read.

errors (exit 1):
  names that look like routes but are not (`bar.ex.Get.py`, `bar.ex.f12.py`, `bar.999.py`);
  route files that do not compile, or define no callable `main`;
  `main` asking for `e` outside an error handler (`app_map` extras may not use that name).
warnings (exit 0):
  plain modules named almost like routes (`about.get.py`, `baz.ex.py`, `bar.ex.get.txt.py`),
  with the name that was likely meant; files that are never served though a request may
  name them: copies of source (`page.ex.get.py~`, `x.py.bak`, `x.pyw`), editors' leftovers
  (`#x#`, `x___jb_tmp___`), route files saved without `.py` (`contact.ex.get`);
  `main` parameters that no built-in and no known extra provides; `*args` on `main`, which
  receives nothing; methods that are valid but not registered (`bar.ex.gte.py`);
  hooks with no handler or static file at or below their prefix; static files that share a
  URL with a handler, so that the handler never answers GET; error handlers for redirect
  codes, which never run.

SITE is a site folder, or `module:name` as `cylinder serve` takes it: then the application is
built and its `app_map` asked which site and which extras answer `http://HOST/PATH` (`--host`,
`--path`), and parameters those extras provide are fine. For a site folder, `--extra NAME`
names each extra `app_map` provides; without it, a parameter no built-in provides is a warning
that it must be one.

Each finding is one line, `error|warning: FILE: message`, FILE relative to the folder that
holds the site; a summary line follows."""
EXIT_CODES = """\
exit codes:
  0  no errors (warnings may have been printed)
  1  errors found, or the application failed to import or build, or its `app_map` failed
  2  usage error: no such site or application, or a Python module given as SITE"""

_HOOKS = (Kind.EARLY_HOOK, Kind.LATE_HOOK)
#: Methods whose requests a static file of the same URL takes from a handler.
_STATIC_METHODS = frozenset({"get", "head", "default"})
_LITERALS = (
    ast.Constant,
    ast.JoinedStr,
    ast.List,
    ast.Tuple,
    ast.Dict,
    ast.Set,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
)


class Severity(enum.Enum):
    """How bad a finding is."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem in one file.

    :param severity: error or warning.
    :param file: the file's absolute path.
    :param message: what is wrong, lower-case, names in backticks.
    """

    severity: Severity
    file: str
    message: str


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``cylinder check``."""
    add_site_arguments(parser, path_option=True)
    parser.add_argument(
        "--extra",
        metavar="NAME",
        action="append",
        type=extra_name,
        help="for a site folder: a parameter `app_map` hands to `main()` as an extra; repeat "
        "for each",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print the findings for ``args.site`` and a summary; 1 when any is an error."""
    target = read_target(args.site, args.host, args.path, args.extra)
    site = target.site
    if target.mapped is not None:
        print(target.mapped)
    table = route_table(site)
    findings = check_site(site, table, target.extras)
    for finding in findings:
        print(f"{finding.severity.value}: {relative(site, finding.file)}: {finding.message}")
    errors = sum(finding.severity is Severity.ERROR for finding in findings)
    warnings_ = len(findings) - errors
    if findings:
        print(f"{_count(errors, 'error')}, {_count(warnings_, 'warning')} in `{args.site}`")
    else:
        print(
            f"no problems in `{args.site}`: {_count(len(table.routes), 'route file')} "
            f"and {_count(len(table.static_files), 'static file')} checked"
        )
    return EXIT_PROBLEMS if errors else EXIT_OK


def check_site(
    site: Site, table: RouteTable | None = None, extras: frozenset[str] | None = None
) -> list[Finding]:
    """Every finding for a site, sorted by file.

    :param site: the site.
    :param table: its route table, when already read.
    :param extras: the names of ``app_map``'s extras, when known; None when nothing is known
        of them, so that a name no built-in provides is only a warning that it must be one.
    """
    table = table if table is not None else route_table(site)
    findings = [_check_rejected(item) for item in table.rejected]
    for row in table.routes:
        findings += _check_source(row, extras)
        findings += _check_method(row)
        if row.kind is Kind.ERROR_HANDLER and row.code in REDIRECT_CODES:
            findings.append(
                Finding(
                    Severity.WARNING,
                    row.file,
                    f"error handler for `{row.code}` never runs: redirects skip error handlers",
                )
            )
    findings += _check_orphan_hooks(table)
    findings += _check_shadowing(site, table)
    findings.sort(key=lambda finding: finding.file)
    return findings


def _check_rejected(item: RejectedFile) -> Finding:
    if item.rejection is Rejection.NEAR_MISS:
        return Finding(Severity.WARNING, item.file, f"not a route: {item.reason}")
    if item.rejection is Rejection.NEVER_STATIC:
        return Finding(
            Severity.WARNING,
            item.file,
            f"never served as a static file: {item.reason}; "
            "a request for it is answered as if it were not there",
        )
    return Finding(Severity.ERROR, item.file, f"not a route: {item.reason}")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _check_method(row: RouteRow) -> list[Finding]:
    method = row.method
    if method is None or method in KNOWN_METHODS:
        return []
    close = difflib.get_close_matches(method, sorted(KNOWN_METHODS), n=1, cutoff=0.6)
    hint = f" (did you mean `{close[0]}`?)" if close else ""
    verb = "answers" if row.kind is Kind.HANDLER else "runs around"
    return [
        Finding(
            Severity.WARNING,
            row.file,
            f"method `{method}` is not a registered HTTP method{hint}; "
            f"this {row.kind.label} {verb} `{method.upper()}` requests only",
        )
    ]


def _check_source(row: RouteRow, extras: frozenset[str] | None) -> list[Finding]:
    """Compile one route file and read its ``main`` from the syntax tree; run nothing."""
    path = row.file
    try:
        with open(path, "rb") as file:
            source = file.read()
    except OSError as exc:
        return [Finding(Severity.ERROR, path, f"cannot be read: {exc.strerror or exc}")]
    findings: list[Finding] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            tree = ast.parse(source, filename=path)
            compile(tree, path, "exec", dont_inherit=True)
        except SyntaxError as exc:
            where = f" (line {exc.lineno})" if exc.lineno else ""
            return [
                Finding(
                    Severity.ERROR,
                    path,
                    f"does not compile: {type(exc).__name__}: {exc.msg}{where}",
                )
            ]
        except ValueError as exc:  # NUL bytes in the source
            return [Finding(Severity.ERROR, path, f"does not compile: {exc}")]
    for warning in caught:
        if issubclass(warning.category, SyntaxWarning | DeprecationWarning):
            findings.append(
                Finding(Severity.WARNING, path, f"line {warning.lineno}: {warning.message}")
            )
    return findings + _check_main(row, tree, extras)


def _check_main(row: RouteRow, tree: ast.Module, extras: frozenset[str] | None) -> list[Finding]:
    path = row.file
    binding = _main_binding(tree.body)
    if binding is None:
        return [Finding(Severity.ERROR, path, "defines no top-level `main` function")]
    if isinstance(binding, ast.AsyncFunctionDef):
        return [
            Finding(
                Severity.ERROR,
                path,
                f"`main` (line {binding.lineno}) is `async def`: Cylinder calls `main` and needs "
                "the response back, not a coroutine",
            )
        ]
    if isinstance(binding, _LITERALS):
        return [
            Finding(
                Severity.ERROR,
                path,
                f"`main` is not callable: line {binding.lineno} assigns it "
                f"`{ast.unparse(binding)[:40]}`",
            )
        ]
    if isinstance(binding, ast.FunctionDef | ast.Lambda):
        return _check_parameters(row, binding.args, extras)
    return []  # imported, or made by a call: what it accepts is only known at run time


def _main_binding(body: Sequence[ast.stmt]) -> ast.AST | None:
    """What the module's top level binds to ``main`` last, or None when nothing does.

    A function definition or the value assigned when it can be seen; the binding statement
    itself when ``main`` comes from an import, a loop or anything else.
    """
    binding: ast.AST | None = None
    for statement in _top_level(body):
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            if statement.name == "main":
                binding = statement
        elif isinstance(statement, ast.Assign):
            for target in statement.targets:
                if isinstance(target, ast.Name) and target.id == "main":
                    binding = statement.value
                elif _binds_main(target):
                    binding = statement
        elif isinstance(statement, ast.AnnAssign):
            if _binds_main(statement.target) and statement.value is not None:
                binding = statement.value
        elif isinstance(statement, ast.Import | ast.ImportFrom):
            for alias in statement.names:
                bound = alias.asname or alias.name.partition(".")[0]
                if bound in ("main", "*"):
                    binding = statement
        elif isinstance(statement, ast.AugAssign | ast.For | ast.AsyncFor):
            if _binds_main(statement.target):
                binding = statement
        elif isinstance(statement, ast.With | ast.AsyncWith):
            for item in statement.items:
                if item.optional_vars is not None and _binds_main(item.optional_vars):
                    binding = statement
    return binding


def _top_level(body: Sequence[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements run at import time, in order: compound statements are entered, function and
    class bodies are not."""
    for statement in body:
        yield statement
        if isinstance(statement, ast.If | ast.For | ast.AsyncFor | ast.While):
            yield from _top_level(statement.body)
            yield from _top_level(statement.orelse)
        elif isinstance(statement, ast.With | ast.AsyncWith):
            yield from _top_level(statement.body)
        elif isinstance(statement, ast.Try | ast.TryStar):
            yield from _top_level(statement.body)
            for handler in statement.handlers:
                yield from _top_level(handler.body)
            yield from _top_level(statement.orelse)
            yield from _top_level(statement.finalbody)
        elif isinstance(statement, ast.Match):
            for case in statement.cases:
                yield from _top_level(case.body)


def _binds_main(target: ast.expr) -> bool:
    return any(isinstance(node, ast.Name) and node.id == "main" for node in ast.walk(target))


def _check_parameters(
    row: RouteRow, arguments: ast.arguments, extras: frozenset[str] | None
) -> list[Finding]:
    """Parameters without a default that no built-in (or known extra) provides."""
    is_error_handler = row.kind is Kind.ERROR_HANDLER
    provided = ERROR_HANDLER_NAMES if is_error_handler else BUILTIN_NAMES
    positional = [*arguments.posonlyargs, *arguments.args]
    required = [arg.arg for arg in positional[: len(positional) - len(arguments.defaults)]]
    required += [
        arg.arg
        for arg, default in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True)
        if default is None
    ]
    findings: list[Finding] = []
    if arguments.vararg is not None:
        findings.append(
            Finding(
                Severity.WARNING,
                row.file,
                f"`*{arguments.vararg.arg}` on `main` receives nothing: parameters are passed "
                "by name (`**kwargs` receives every one not named)",
            )
        )
    for name in required:
        if name in provided:
            continue
        if name == "e":
            findings.append(
                Finding(
                    Severity.ERROR,
                    row.file,
                    f"`main` asks for `e`, which only error handlers get, and `app_map` extras "
                    f"may not use that name: every call of this {row.kind.label} fails",
                )
            )
            continue
        if extras is not None and name in extras:
            continue
        available = [*provided, *sorted(extras or ())]
        close = difflib.get_close_matches(name, available, n=1, cutoff=0.6)
        hint = f" (did you mean `{close[0]}`?)" if close else ""
        if extras is None:
            message = (
                f"`main` asks for `{name}`, which no built-in provides{hint}: it must come from "
                f"`app_map` extras; built-ins: {', '.join(provided)}"
            )
        else:
            message = (
                f"`main` asks for `{name}`, which neither a built-in nor an extra provides{hint}: "
                f"a request that runs this {row.kind.label} fails; available: "
                f"{', '.join(available)}"
            )
        findings.append(Finding(Severity.WARNING, row.file, message))
    return findings


def _check_orphan_hooks(table: RouteTable) -> list[Finding]:
    """Hooks with no handler or static file at or below their prefix."""
    answered = [row.prefix for row in table.routes if row.kind is Kind.HANDLER]
    answered += [row.url for row in table.static_files]
    findings: list[Finding] = []
    for row in table.routes:
        if row.kind not in _HOOKS:
            continue
        if not any(_at_or_below(url, row.prefix) for url in answered):
            findings.append(
                Finding(
                    Severity.WARNING,
                    row.file,
                    f"{row.kind.label} has no handler or static file at or below `{row.prefix}` "
                    "to run around",
                )
            )
    return findings


def _at_or_below(url: str, prefix: str) -> bool:
    return prefix == "/" or url == prefix or url.startswith(prefix + "/")


def _check_shadowing(site: Site, table: RouteTable) -> list[Finding]:
    """Static files whose URL is a handler's prefix: the file wins on GET and HEAD."""
    handlers: dict[str, list[RouteRow]] = {}
    for row in table.routes:
        if row.kind is Kind.HANDLER and row.method in _STATIC_METHODS:
            handlers.setdefault(row.prefix, []).append(row)
    return [
        Finding(
            Severity.WARNING,
            static.file,
            f"static file shadows {row.kind.label} `{relative(site, row.file)}`: "
            f"GET and HEAD of `{static.url}` are answered with the file, never by the handler",
        )
        for static in table.static_files
        for row in handlers.get(static.url, [])
    ]
