"""Helpers shared by the `cylinder` command's tests (on sys.path through pytest.ini)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

HANDLER = "def main(response):\n    return response\n"

#: The layout of the spec's "How requests are matched" example, below `my_webapps/`.
SPEC_SITE = (
    "webapp1.ex.get.py",
    "webapp1.400.py",
    "webapp1/foo.eh.get.py",
    "webapp1/foo.ex.default.py",
    "webapp1/foo.lh.get.py",
    "webapp1/foo/bar.ex.get.py",
    "webapp1/foo/bar.ex.post.py",
    "webapp1/foo/bar.txt",
    "webapp1/foo/bar.400.py",
)


def cylinder(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run `python -m cylinder ARGS` to the end, within a minute."""
    return subprocess.run(
        [sys.executable, "-m", "cylinder", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def build(root: Path, names: Iterable[str]) -> Path:
    """Create each file below `root`: a `.py` file as a minimal `main`, others as text."""
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(HANDLER if name.endswith(".py") else f"{name}\n")
    return root
