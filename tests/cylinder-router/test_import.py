"""cylinder-router stands on the standard library alone, and its test environment proves it."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import cylinder_router

PACKAGE_DIR = Path(cylinder_router.__file__).parent
SOURCES = sorted(PACKAGE_DIR.glob("*.py"))


def imported_modules(source: Path) -> set[str]:
    """Top-level names of the absolute imports in a source file."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.partition(".")[0])
    return names


def test_werkzeug_is_not_installed_in_the_router_environment() -> None:
    # If this fails, the hatch matrix installed the runtime (or werkzeug) next to the router,
    # and nothing here proves the router works without it any more.
    assert importlib.util.find_spec("werkzeug") is None


def test_every_module_imports_only_the_standard_library() -> None:
    assert len(SOURCES) >= 9
    for source in SOURCES:
        outside = imported_modules(source) - sys.stdlib_module_names - {"__future__"}
        assert not outside, f"{source.name} imports {sorted(outside)}"


def test_import_loads_nothing_but_the_standard_library() -> None:
    # A fresh interpreter without site-packages: only the package's own folder on the path.
    probe = (
        "import json, sys\n"
        "before = set(sys.modules)\n"
        "import cylinder_router\n"
        "print(json.dumps(sorted(set(sys.modules) - before)))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(PACKAGE_DIR.parent)}
    result = subprocess.run(
        [sys.executable, "-S", "-c", probe], capture_output=True, text=True, env=env, check=True
    )
    loaded = {name.partition(".")[0] for name in json.loads(result.stdout)}
    assert "cylinder_router" in loaded
    assert loaded - sys.stdlib_module_names - {"cylinder_router"} == set()


def test_public_names_are_importable_and_typed() -> None:
    for name in cylinder_router.__all__:
        assert hasattr(cylinder_router, name), name
    assert (PACKAGE_DIR / "py.typed").is_file()
    for module in (
        "errors",
        "filenames",
        "listing",
        "methods",
        "paths",
        "resolve",
        "site",
        "table",
    ):
        imported = importlib.import_module(f"cylinder_router.{module}")
        for name in getattr(imported, "__all__", ()):
            assert hasattr(imported, name), f"cylinder_router.{module}.{name}"


def test_public_names_are_what_a_tool_needs() -> None:
    """A linter, exporter or editor plugin reads sites with these; what only the runtime uses
    to serve requests stays importable by name but is not advertised."""
    for name in ("Site", "Router", "Resolution", "Outcome", "route_table", "parse_filename"):
        assert name in cylinder_router.__all__, name
    for name in ("DirectoryCache", "FolderWatch", "is_inside", "is_lookup_safe", "target_refusal"):
        assert name not in cylinder_router.__all__, name
        assert hasattr(cylinder_router, name), name
    namespace: dict[str, object] = {}
    exec("from cylinder_router import *", namespace)
    assert "FolderWatch" not in namespace
    assert "route_table" in namespace
