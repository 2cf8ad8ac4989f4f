"""The guides in docs/ cannot drift from working code.

Every ```python block in docs/*.md and in the package READMEs written for the package index
(``PACKAGE_READMES``) must be an excerpt, verbatim up to a common indentation, of a Python file
under examples/ (each example is run by test_examples.py), and every relative link in them and in
the examples' READMEs must reach an existing file (and heading).
"""

from __future__ import annotations

import re
import textwrap
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
EXAMPLES = ROOT / "examples"
PACKAGE_READMES = [
    ROOT / "packages" / name / "README.md"
    for name in ("cylinder", "cylinder-router", "cylinder-runtime")
]

GUIDES = [
    "routing.md",
    "hooks.md",
    "errors.md",
    "parameters.md",
    "static-files.md",
    "logging.md",
    "testing.md",
    "deployment.md",
    "sessions.md",
    "reload.md",
    "debugging.md",
    "upgrading.md",
]

_FENCE = re.compile(r"^```(\S*)\n(.*?)^```\s*$", re.DOTALL | re.MULTILINE)
_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*$", re.MULTILINE)


def _markdown_files() -> list[Path]:
    return sorted(DOCS.glob("*.md")) + sorted(EXAMPLES.glob("*/README.md")) + PACKAGE_READMES


def _python_blocks() -> list[tuple[str, int, str]]:
    """(guide, line, dedented source) for every Python block in docs/ and the package READMEs."""
    blocks = []
    for guide in sorted(DOCS.glob("*.md")) + PACKAGE_READMES:
        text = guide.read_text(encoding="utf-8")
        name = str(guide.relative_to(ROOT))
        for fence in _FENCE.finditer(text):
            if fence.group(1) == "python":
                line = text.count("\n", 0, fence.start()) + 1
                blocks.append((name, line, textwrap.dedent(fence.group(2)).strip("\n")))
    return blocks


@cache
def _example_sources() -> dict[Path, list[str]]:
    return {path: path.read_text(encoding="utf-8").splitlines() for path in EXAMPLES.rglob("*.py")}


def _excerpt_of(block: list[str], lines: list[str]) -> bool:
    """Whether ``block`` is a run of ``lines``, each carrying the same extra indentation."""
    first = block[0]
    for start in range(len(lines) - len(block) + 1):
        if not lines[start].endswith(first):
            continue
        indent = lines[start][: len(lines[start]) - len(first)]
        if indent.strip():
            continue
        if all(lines[start + n] == (indent + line if line else "") for n, line in enumerate(block)):
            return True
    return False


def test_every_guide_exists() -> None:
    missing = [name for name in GUIDES if not (DOCS / name).is_file()]
    assert not missing


def test_python_blocks_are_all_checked() -> None:
    """A block fenced as ``py`` or ``python3`` would dodge the excerpt check below."""
    for path in _markdown_files():
        for fence in _FENCE.finditer(path.read_text(encoding="utf-8")):
            assert fence.group(1) not in {"py", "py3", "python3", "pycon"}, path.name


@pytest.mark.parametrize(
    ("guide", "line", "source"),
    [pytest.param(*block, id=f"{block[0]}:{block[1]}") for block in _python_blocks()],
)
def test_python_block_is_taken_from_an_example(guide: str, line: int, source: str) -> None:
    compile(source, f"{guide}:{line}", "exec")  # whole statements, not a dangling signature
    block = source.splitlines()
    found = [path for path, lines in _example_sources().items() if _excerpt_of(block, lines)]
    assert found, f"{guide}, line {line}: this block is in no file under examples/:\n{source}"


def _slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = _FENCE.sub("", path.read_text(encoding="utf-8"))
    return {_slug(heading) for heading in _HEADING.findall(text)}


def _broken_links(path: Path) -> list[str]:
    """Relative links in ``path`` whose file, or heading, does not exist."""
    text = _FENCE.sub("", path.read_text(encoding="utf-8"))
    broken = []
    for target in _LINK.findall(text):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
            continue
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        if not linked.exists():
            broken.append(target)
            continue
        if anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
            broken.append(target)
    return broken


@pytest.mark.parametrize("path", _markdown_files(), ids=lambda path: str(path.relative_to(ROOT)))
def test_relative_links_resolve(path: Path) -> None:
    broken = _broken_links(path)
    assert not broken, f"{path.relative_to(ROOT)} links to what does not exist: {broken}"


def test_the_link_check_catches_what_is_missing(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# A `code` heading\n")
    guide = tmp_path / "guide.md"
    guide.write_text(
        "## Here\n[ok](other.md) [ok](other.md#a-code-heading) [ok](#here) [ok](https://x.org)\n"
        "[gone](missing.md) [gone](other.md#nowhere) [gone](#elsewhere)\n"
        "```text\n[ignored](in-a-fence.md)\n```\n"
    )
    assert _broken_links(guide) == ["missing.md", "other.md#nowhere", "#elsewhere"]


def test_the_excerpt_check_is_strict() -> None:
    lines = ["def main(response):", "    response.data = 'x'", "", "    return response"]
    assert _excerpt_of(["response.data = 'x'", "", "return response"], lines)
    assert _excerpt_of(lines, lines)
    assert not _excerpt_of(["response.data = 'y'"], lines)
    assert not _excerpt_of(["response.data = 'x'", "return response"], lines)  # a line skipped
    assert not _excerpt_of(["def main(response):", "response.data = 'x'"], lines)  # re-indented
