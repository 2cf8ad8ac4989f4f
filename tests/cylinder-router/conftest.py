"""Fixtures that build sites on disk from a list of relative paths.

A path ending in ``/`` is a folder; ``"name -> target"`` is a symbolic link to ``target``
(relative to the link's folder, as ``ln -s`` takes it); anything else is a file whose content is
its own relative path. Missing parent folders are created, so building is idempotent and a test
can add files to a site it built earlier.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pytest

from cylinder_router import FolderWatch, Site, listing

SITE_NAME = "webapp1"

#: ``make_site(*paths, site_name="webapp1") -> Site``, building under ``tmp_path/my_webapps``.
MakeSite = Callable[..., Site]


def build_tree(root: Path, paths: Iterable[str]) -> None:
    """Create ``paths`` (see the module docstring) below ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    for spec in paths:
        name, arrow, target = spec.partition(" -> ")
        path = root / name.rstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        if arrow:
            path.symlink_to(target)
        elif name.endswith("/"):
            path.mkdir(exist_ok=True)
        else:
            path.write_text(name)


def settle(root: Path, ns: int = 1_000_000_000_000_000_000) -> None:
    """Give every file and folder below ``root`` (and ``root``) an old mtime, so that cached
    listings count as settled. Symbolic links are left alone (their targets are not touched)."""
    for folder, folders, files in os.walk(root, topdown=False):
        for name in files + folders:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                os.utime(path, ns=(ns, ns))
    os.utime(root, ns=(ns, ns))


@pytest.fixture(scope="session")
def tree_builder() -> Callable[[Path, Iterable[str]], None]:
    """:func:`build_tree`, for module-scoped fixtures that cannot use ``make_site``."""
    return build_tree


@pytest.fixture
def site_dir(tmp_path: Path) -> Path:
    """Where ``make_site`` builds: ``tmp_path/my_webapps``."""
    return tmp_path / "my_webapps"


@pytest.fixture
def make_site(site_dir: Path) -> MakeSite:
    """Build paths below ``site_dir`` and return the site named ``site_name`` there."""

    def make(*paths: str, site_name: str = SITE_NAME) -> Site:
        build_tree(site_dir, paths)
        return Site.from_app_map(str(site_dir), site_name)

    return make


@pytest.fixture
def settle_tree() -> Callable[[Path], None]:
    """:func:`settle`: make every mtime below a folder old."""
    return settle


@pytest.fixture
def listed_folders(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every folder the directory cache lists from now on, in order (a spy on
    :func:`cylinder_router.listing.read_listing`)."""
    listed: list[str] = []
    real = listing.read_listing

    def spy(path: str) -> listing.Listing:
        listed.append(path)
        return real(path)

    monkeypatch.setattr(listing, "read_listing", spy)
    return listed


@pytest.fixture
def watch() -> Iterator[FolderWatch]:
    """A folder watch of its own, closed after the test."""
    made = FolderWatch()
    yield made
    made.close()
