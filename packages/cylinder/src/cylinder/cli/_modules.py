"""A Python module given where a site folder is expected: say so, and name the fix.

``cylinder serve cylinder_main`` once served an empty site, because ``cylinder_main.py`` looked
like one of the site's root files. A SITE or TARGET that names a ``.py`` file or an importable
module is a mistake; the message names ``module:name`` for each application or factory the
module's source defines, read from its syntax tree without running it.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import sys

__all__ = ["app_candidates", "module_instead_of_site"]

_MODULE_NAME = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")
#: Calls whose result is an application: ``cylinder.get_app(app_map)``, ``Application(...)``.
_APP_BUILDERS = frozenset({"get_app", "Application"})


def module_instead_of_site(argument: str) -> str | None:
    """The message for a SITE or TARGET that is a Python module, or None when it is not one.

    :param argument: the SITE or TARGET as typed; it names no site folder.
    """
    path = os.path.abspath(argument)
    if argument.endswith(".py") and os.path.isfile(path):
        source, folder = path, os.path.dirname(path)
        module = os.path.basename(path)[: -len(".py")]
    elif os.path.isfile(path + ".py"):
        source, folder = path + ".py", os.path.dirname(path)
        module = os.path.basename(path)
    elif _MODULE_NAME.fullmatch(argument) and not os.path.exists(path):
        found = _find_module(argument)
        if found is None:
            return None
        source, folder, module = found, "", argument
    else:
        return None
    names = app_candidates(source)
    shown = f"`{argument}` is a Python module, not a site folder"
    where = "" if not folder or folder == os.getcwd() else f" (run from `{_shown(folder)}`)"
    if names:
        targets = " or ".join(f"`{module}:{name}`" for name in names)
        return f"{shown}: did you mean {targets}{where}?"
    return (
        f"{shown}: give `{module}:NAME`{where}, NAME being the application it builds "
        "(`cylinder.get_app(app_map)`), a function that returns one, or its `app_map`"
    )


def app_candidates(source_file: str) -> list[str]:
    """Top-level names in a module that look like an application, a factory of one, or an
    ``app_map``, read from its source; nothing is run.

    An application is a name assigned the result of ``get_app(...)``; a factory a function
    with no required parameter whose name holds ``app`` (``create_app``); ``app_map`` a
    function of that name. Factories and applications come first.
    """
    try:
        with open(source_file, "rb") as file:
            tree = ast.parse(file.read(), filename=source_file)
    except (OSError, SyntaxError, ValueError):
        return []
    apps: list[str] = []
    maps: list[str] = []
    for statement in tree.body:
        if isinstance(statement, ast.FunctionDef):
            if statement.name == "app_map":
                maps.append(statement.name)
            elif "app" in statement.name.lower() and _no_required(statement.args):
                apps.append(statement.name)
        elif isinstance(statement, ast.Assign | ast.AnnAssign) and _builds_app(statement.value):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            apps += [target.id for target in targets if isinstance(target, ast.Name)]
    return [*dict.fromkeys(apps), *maps]


def _no_required(arguments: ast.arguments) -> bool:
    positional = [*arguments.posonlyargs, *arguments.args]
    keyword_required = any(default is None for default in arguments.kw_defaults)
    return len(positional) <= len(arguments.defaults) and not keyword_required


def _builds_app(value: ast.expr | None) -> bool:
    if not isinstance(value, ast.Call):
        return False
    func = value.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    return name in _APP_BUILDERS


def _find_module(name: str) -> str | None:
    """The source file of an importable module, looked for as ``serve`` imports it (the current
    folder first), or None. Parent packages of a dotted name are imported to find it."""
    folder = os.getcwd()
    added = folder not in sys.path
    if added:
        sys.path.insert(0, folder)
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    finally:
        if added:
            sys.path.remove(folder)
    origin = spec.origin if spec is not None else None
    if origin is None or not origin.endswith(".py"):
        return None
    return origin


def _shown(folder: str) -> str:
    relative = os.path.relpath(folder)
    return folder if relative.startswith("..") else relative
