"""Property-based tests: hostile paths and methods never lead out of the site or to a Python file,
and resolution agrees with a brute-force search over :func:`iter_candidates`."""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cylinder_router import (
    Kind,
    Outcome,
    Resolution,
    RouteFile,
    Router,
    Site,
    is_inside,
    iter_candidates,
    parse_filename,
)

TreeBuilder = Callable[[Path, Iterable[str]], None]

ERROR_CODES = (400, 404, 405, 500, 501)
REFUSED_SUFFIXES = (".py", ".pyc", ".pyo")

# A site with secrets everywhere an escape could reach: beside site_dir, beside the site folder,
# inside it under dot-names and __pycache__, behind links, and the handlers' own sources.
HOSTILE_TREE = (
    "secret.txt",
    "outside/secret.txt",
    "outside/x.ex.get.py",
    "outside/x.404.py",
    "my_webapps/secret.txt",
    "my_webapps/cylinder_main.py",
    "my_webapps/webapp1.ex.get.py",
    "my_webapps/webapp1.eh.default.py",
    "my_webapps/webapp1.404.py",
    "my_webapps/webapp1.500.py",
    "my_webapps/other.ex.default.py",
    "my_webapps/webapp1/.env",
    "my_webapps/webapp1/.git/config",
    "my_webapps/webapp1/.git/x.ex.get.py",
    "my_webapps/webapp1/__pycache__/foo.cpython-311.pyc",
    "my_webapps/webapp1/__pycache__/x.txt",
    "my_webapps/webapp1/foo.ex.get.py",
    "my_webapps/webapp1/foo.eh.post.py",
    "my_webapps/webapp1/foo.lh.default.py",
    "my_webapps/webapp1/foo.400.py",
    "my_webapps/webapp1/foo/bar.ex.post.py",
    "my_webapps/webapp1/foo/bar.txt",
    "my_webapps/webapp1/foo/bar.py",
    "my_webapps/webapp1/foo/helpers.py",
    "my_webapps/webapp1/foo/x.PYC",
    "my_webapps/webapp1/foo/y.pyo",
    "my_webapps/webapp1/foo/Z.Py",
    "my_webapps/webapp1/public/style.css",
    "my_webapps/webapp1/public/.hidden",
    "my_webapps/webapp1/%2e%2e/x.txt",
    "my_webapps/webapp1/a\\b.txt",
    "my_webapps/webapp1/café/x.txt",
    "my_webapps/webapp1/link.txt -> public/style.css",
    "my_webapps/webapp1/linked -> public",
    "my_webapps/webapp1/out.txt -> ../../secret.txt",
    "my_webapps/webapp1/beside.txt -> ../secret.txt",
    "my_webapps/webapp1/root.txt -> ../webapp1.ex.get.py",
    "my_webapps/webapp1/outdir -> ../../outside",
    "my_webapps/webapp1/sitedir -> ..",
    "my_webapps/webapp1/source.txt -> foo.ex.get.py",
    "my_webapps/webapp1/env.txt -> .env",
    "my_webapps/webapp1/gitdir -> .git",
    "my_webapps/webapp1/cachedir -> __pycache__",
    "my_webapps/webapp1/loop -> .",
    "my_webapps/webapp1/broken.txt -> nowhere",
)

INTERESTING_SEGMENTS = (
    "",
    ".",
    "..",
    "...",
    "%2e%2e",
    "%2E%2E",
    "..%2f",
    "..\\",
    "..\\..\\secret.txt",
    "\\",
    "\x00",
    "\x85",
    "\ud800",
    "\udcff",
    "my_webapps",
    "webapp1",
    "webapp1.ex.get.py",
    "cylinder_main.py",
    "secret.txt",
    "outside",
    ".env",
    ".git",
    "config",
    "__pycache__",
    "foo.cpython-311.pyc",
    "x.txt",
    "x",
    "foo",
    "FOO",
    "bar",
    "bar.txt",
    "bar.py",
    "helpers.py",
    "x.PYC",
    "y.pyo",
    "Z.Py",
    "foo.ex.get.py",
    "public",
    "style.css",
    ".hidden",
    "a\\b.txt",
    "café",
    "link.txt",
    "linked",
    "out.txt",
    "beside.txt",
    "root.txt",
    "outdir",
    "sitedir",
    "source.txt",
    "env.txt",
    "gitdir",
    "cachedir",
    "loop",
    "broken.txt",
)

characters = st.one_of(
    st.characters(),
    st.characters(categories=["Cs", "Cc"]),
    st.sampled_from("/\\.%\x00"),
)
segments = st.one_of(
    st.sampled_from(INTERESTING_SEGMENTS),
    st.lists(characters, max_size=12).map("".join),
)
leads = st.sampled_from(["/", "", "//", "\\"])
trails = st.sampled_from(["", "/", "/.", "/.."])
arbitrary_paths = st.builds(
    lambda lead, parts, trail: lead + "/".join(parts) + trail,
    leads,
    st.lists(segments, max_size=8),
    trails,
)

# Paths that name something in the hostile tree, through links too: arbitrary text almost never
# spells `/gitdir/config` exactly, and these are where an escape would show.
KNOWN_URLS = (
    "foo",
    "foo/bar",
    "foo/bar.txt",
    "foo/bar.py",
    "foo/helpers.py",
    "foo/x.PYC",
    "foo/y.pyo",
    "foo/Z.Py",
    "foo.ex.get.py",
    "public/style.css",
    "public/.hidden",
    ".env",
    ".git/config",
    ".git/x",
    "__pycache__/x.txt",
    "__pycache__/foo.cpython-311.pyc",
    "%2e%2e/x.txt",
    "a\\b.txt",
    "café/x.txt",
    "link.txt",
    "linked/style.css",
    "linked/.hidden",
    "out.txt",
    "abs.txt",
    "beside.txt",
    "root.txt",
    "outdir/secret.txt",
    "outdir/x",
    "sitedir/secret.txt",
    "sitedir/webapp1.ex.get.py",
    "sitedir/webapp1/foo/bar.txt",
    "source.txt",
    "env.txt",
    "gitdir/config",
    "gitdir/x",
    "cachedir/x.txt",
    "loop/source.txt",
    "loop/loop/gitdir/config",
    "loop/foo/bar.txt",
    "loop/linked/style.css",
    "broken.txt",
    "../secret.txt",
    "../../secret.txt",
    "../outside/secret.txt",
)


@st.composite
def near_misses(draw: st.DrawFn) -> str:
    """A known URL, with a few dropped or hostile segments slipped in."""
    parts = draw(st.sampled_from(KNOWN_URLS)).split("/")
    for _ in range(draw(st.integers(0, 3))):
        junk = draw(st.sampled_from(["", ".", "..", "%2e%2e", "..\\", "\x00", "FOO"]))
        parts.insert(draw(st.integers(0, len(parts))), junk)
    return draw(leads) + "/".join(parts) + draw(trails)


paths = st.one_of(near_misses(), arbitrary_paths)
methods = st.one_of(
    st.sampled_from(
        ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "MOVE", "DEFAULT", "default", "get"]
    ),
    st.lists(characters, max_size=70).map("".join),
)


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory: pytest.TempPathFactory, tree_builder: TreeBuilder) -> Site:
    base = tmp_path_factory.mktemp("hostile")
    tree_builder(base, HOSTILE_TREE)
    (base / "my_webapps" / "webapp1" / "abs.txt").symlink_to(base / "outside" / "secret.txt")
    return Site.from_app_map(str(base / "my_webapps"), "webapp1")


@pytest.fixture(scope="module")
def hostile_router() -> Router:
    return Router()


def route_files(found: Resolution) -> list[RouteFile]:
    files = [found.early_hook, found.handler, found.late_hook]
    files += [found.error_handler(code) for code in ERROR_CODES]
    return [file for file in files if file is not None]


def assert_route_file_is_the_sites(site: Site, file: RouteFile) -> None:
    """A route file is one of the site's root files, or lies inside the site folder."""
    name = os.path.basename(file.path)
    assert parse_filename(name) == file.route or file.route.method == "default"
    assert os.path.isfile(file.path)
    if file.depth == 0:
        assert os.path.dirname(file.path) == site.site_dir
        assert name.startswith(site.site_name + ".")
        return
    assert is_inside(file.path, site.folder)
    assert is_inside(os.path.realpath(file.path), os.path.realpath(site.folder))


def assert_static_file_is_servable(site: Site, found: Resolution, file: str) -> None:
    real_root = os.path.realpath(site.folder)
    real = os.path.realpath(file)
    assert is_inside(file, site.folder)
    assert is_inside(real, real_root)
    assert os.path.isfile(file)
    relative = os.path.relpath(file, site.folder).split(os.sep)
    # An exact match: the file is the path, segment for segment.
    assert tuple(relative) == found.path.segments
    assert not found.path.trailing_slash
    for parts in (relative, os.path.relpath(real, real_root).split(os.sep)):
        assert not any(part.startswith(".") for part in parts)
        assert "__pycache__" not in parts
        assert not parts[-1].lower().endswith(REFUSED_SUFFIXES)


@settings(max_examples=600, deadline=None)
@given(path=paths, method=methods)
def test_nothing_resolved_lies_outside_the_site_or_is_a_python_static_file(
    hostile_site: Site, hostile_router: Router, path: str, method: str
) -> None:
    found = hostile_router.resolve(hostile_site, path, method)

    for file in route_files(found):
        assert_route_file_is_the_sites(hostile_site, file)
    if found.static_file is not None:
        assert found.outcome is Outcome.STATIC
        assert method in ("GET", "HEAD", "get", "head")
        assert_static_file_is_servable(hostile_site, found, found.static_file)
    also = hostile_router.static_file(hostile_site, path)
    if also is not None:
        assert_static_file_is_servable(hostile_site, found, also)

    # The facts agree with each other.
    assert (found.outcome is Outcome.HANDLER) == (found.handler is not None)
    assert (found.outcome is Outcome.STATIC) == (found.static_file is not None)
    assert (found.outcome is Outcome.NOT_IMPLEMENTED) == (found.refusal is not None)
    assert "OPTIONS" in found.allowed
    assert all(m.isascii() and m.isalpha() and m.isupper() for m in found.allowed)
    assert found.rest == found.path.segments[len(found.path.segments) - len(found.rest) :]
    if found.handler is not None:
        assert found.prefix == found.handler.prefix
        assert found.rest == found.path.segments[found.handler.depth :]


# Resolution agrees with a brute-force search ---------------------------------------------------

MODEL_NAMES = ("a", "b", "c")
MODEL_FILES = (
    "ex.get",
    "ex.post",
    "ex.head",
    "ex.options",
    "ex.default",
    "eh.get",
    "eh.default",
    "lh.get",
    "lh.post",
    "404",
    "500",
)
MODEL_METHODS = ("GET", "HEAD", "POST", "PUT", "OPTIONS", "MOVE")


def model_tree(seed: int) -> list[str]:
    """A random site without links: nested folders a/b/c, route files, static files."""
    rng = random.Random(seed)
    tree: list[str] = []
    for name in rng.sample(MODEL_FILES, 3):
        tree.append(f"webapp1.{name}.py")

    def fill(folder: str, depth: int) -> None:
        for segment in MODEL_NAMES:
            for name in rng.sample(MODEL_FILES, rng.randint(0, 3)):
                tree.append(f"{folder}/{segment}.{name}.py")
            if rng.random() < 0.3:
                tree.append(f"{folder}/{segment}")  # a static file
            elif depth < 3 and rng.random() < 0.7:
                tree.append(f"{folder}/{segment}/")
                fill(f"{folder}/{segment}", depth + 1)

    fill("webapp1", 1)
    return tree


@pytest.fixture(scope="module")
def model_sites(tmp_path_factory: pytest.TempPathFactory, tree_builder: TreeBuilder) -> list[Site]:
    sites = []
    for seed in range(8):
        base = tmp_path_factory.mktemp(f"model{seed}")
        tree_builder(base, model_tree(seed))
        sites.append(Site.from_app_map(str(base), "webapp1"))
    return sites


def brute_force(site: Site, found: Resolution, kind: Kind, method: str) -> str | None:
    for _, folder, name in iter_candidates(site, found.path, kind, method):
        if os.path.isfile(os.path.join(folder, name)):
            return os.path.join(folder, name)
    return None


def path_of(file: RouteFile | None) -> str | None:
    return None if file is None else file.path


@settings(max_examples=400, deadline=None)
@given(
    index=st.integers(0, 7),
    parts=st.lists(st.sampled_from(MODEL_NAMES), max_size=5),
    trailing=st.booleans(),
    method=st.sampled_from(MODEL_METHODS),
)
def test_resolution_is_the_first_candidate_on_disk(
    model_sites: list[Site], index: int, parts: list[str], trailing: bool, method: str
) -> None:
    site = model_sites[index]
    path = "/" + "/".join(parts) + ("/" if trailing and parts else "")
    found = Router().resolve(site, path, method)
    lowered = method.lower()

    # HEAD falls back to GET exactly when no head or default handler is on the path.
    head_file = brute_force(site, found, Kind.HANDLER, "head")
    assert found.head_as_get == (lowered == "head" and head_file is None)
    route_method = "get" if found.head_as_get else lowered
    assert found.route_method == route_method

    static = os.path.join(site.folder, *parts)
    is_static = bool(parts) and not trailing and os.path.isfile(static)
    handler = brute_force(site, found, Kind.HANDLER, route_method)
    if is_static and lowered in ("get", "head"):
        assert found.outcome is Outcome.STATIC
        assert found.static_file == static
    elif handler is not None:
        assert found.outcome is Outcome.HANDLER
        assert path_of(found.handler) == handler
    elif lowered == "options" and (found.any_method or len(found.allowed) > 1 or is_static):
        assert found.outcome is Outcome.OPTIONS
    else:
        assert found.outcome in (Outcome.METHOD_NOT_ALLOWED, Outcome.NOT_FOUND)
    assert path_of(found.early_hook) == brute_force(site, found, Kind.EARLY_HOOK, route_method)
    assert path_of(found.late_hook) == brute_force(site, found, Kind.LATE_HOOK, route_method)

    # Allow: every method some file on the path handles.
    handled = {
        candidate_method
        for candidate_method in ("get", "post", "head", "options", "put", "move")
        if brute_force(site, found, Kind.HANDLER, candidate_method) is not None
    }
    assert found.any_method == (brute_force(site, found, Kind.HANDLER, "default") is not None)
    if not found.any_method:
        expected = {m.upper() for m in handled} | {"OPTIONS"}
        if "get" in handled or is_static:
            expected |= {"GET", "HEAD"}
        assert found.allowed == expected
        if found.outcome is Outcome.METHOD_NOT_ALLOWED:
            assert method not in expected
        if found.outcome is Outcome.NOT_FOUND:
            assert expected == {"OPTIONS"}
