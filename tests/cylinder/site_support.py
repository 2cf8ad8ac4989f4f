"""Writing a test site's files, for the suites that build sites in ``tmp_path`` (pytest.ini puts
this folder on the path of every package's tests)."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path


def write_files(root: Path, files: Mapping[str, str]) -> None:
    """Write ``files`` (relative path -> source, dedented) under ``root``, in UTF-8.

    :param root: the folder the paths are relative to; made with the folders it needs.
    :param files: each file's path under ``root`` and its text; common leading indentation and
        leading blank lines are removed, so that sources can be written indented in a test.
    """
    for relative, source in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source).lstrip("\n"), encoding="utf-8")
