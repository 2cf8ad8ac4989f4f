"""How long one resolution takes, by path depth and site size.

Builds three sites in a temporary folder, with 10, 1,000 and 10,000 route files spread over
nested folders, and times ``Router.resolve`` of a GET at path depths 1 to 10 with a settled cache
(every file and folder given an old mtime, so the racy window does not apply and each folder on
the path costs one ``stat``). Prints microseconds per resolution, the median of several runs, and
the ratio of the largest site to the smallest at the same depth: it should stay near 1, since the
cost grows with depth, not with the number of files.

Two tables: ``stat``, a router whose cache checks each folder with ``stat`` (``Router()``, the
portable way), and ``events``, a router whose cache has a ``FolderWatch`` (inotify), each
resolution preceded by the ``poll()`` an application makes once per request.

Run with ``cylinder_router`` importable, e.g.::

    hatch -e hatch-test.cylinder-router run python benchmarks/router_resolution.py
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from cylinder_router import DirectoryCache, FolderWatch, Outcome, Router, Site

SITE_NAME = "webapp1"
SIZES = (10, 1_000, 10_000)
MAX_DEPTH = 10
#: Route files per folder, on average, in the larger sites.
FILES_PER_FOLDER = 25
#: What a page's files look like: most pages have a GET handler, some more.
PAGE_FILES = (
    ("ex.get",),
    ("ex.get", "ex.post"),
    ("ex.get", "eh.get"),
    ("ex.default",),
    ("ex.get", "ex.put", "ex.delete"),
    ("ex.get", "lh.get", "404"),
)
OLD_NS = 1_000_000_000_000_000_000  # 2001-09-09


def chain(depth: int) -> str:
    """The URL path of the measured page at ``depth``: ``/s1/s2/.../s<depth>``."""
    return "".join(f"/s{level}" for level in range(1, depth + 1))


def build_site(site_dir: Path, route_files: int, rng: random.Random) -> int:
    """Write a site with ``route_files`` route files; return how many folders it has.

    The measured chain ``s1/s2/.../s10`` holds one handler per level (10 files); the rest are
    pages in a random tree of folders no deeper than :data:`MAX_DEPTH`, the chain's folders
    included, so the measured path runs through crowded folders.
    """
    folder = site_dir / SITE_NAME
    folders: list[tuple[Path, int]] = []
    for level in range(1, MAX_DEPTH + 1):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"s{level}.ex.get.py").write_text("def main(response):\n    return response\n")
        folders.append((folder, level))
        folder = folder / f"s{level}"

    remaining = route_files - MAX_DEPTH
    wanted_folders = max(0, remaining // FILES_PER_FOLDER - len(folders))
    for index in range(wanted_folders):
        parent, depth = rng.choice([entry for entry in folders if entry[1] < MAX_DEPTH])
        child = parent / f"d{index}"
        child.mkdir()
        folders.append((child, depth + 1))

    page = 0
    while remaining > 0:
        parent, _ = rng.choice(folders)
        for suffix in rng.choice(PAGE_FILES)[:remaining]:
            (parent / f"page{page}.{suffix}.py").write_text(
                "def main(response):\n    return response\n"
            )
            remaining -= 1
        page += 1
    return len(folders)


def settle(root: Path) -> None:
    """Give every file and folder an old mtime, folders last (writing a file touches its folder)."""
    for current, folders, files in os.walk(root, topdown=False):
        for name in files + folders:
            os.utime(os.path.join(current, name), ns=(OLD_NS, OLD_NS))
    os.utime(root, ns=(OLD_NS, OLD_NS))


def count_route_files(root: Path) -> int:
    return sum(1 for path in root.rglob("*.py"))


def time_resolution(
    router: Router, site: Site, path: str, iterations: int, runs: int, poll: Callable[[], None]
) -> float:
    """Median microseconds per ``poll(); resolve(site, path, "GET")`` over ``runs`` runs."""
    resolve = router.resolve
    for _ in range(max(100, iterations // 10)):  # warm-up: listings cached, code paths hot
        poll()
        resolve(site, path, "GET")
    per_call = []
    for _ in range(runs):
        started = time.perf_counter_ns()
        for _ in range(iterations):
            poll()
            resolve(site, path, "GET")
        per_call.append((time.perf_counter_ns() - started) / iterations / 1000)
    return statistics.median(per_call)


def time_stat(path: str, iterations: int, runs: int) -> float:
    """Median microseconds per ``os.stat`` of a folder, for scale."""
    stat = os.stat
    per_call = []
    for _ in range(runs):
        started = time.perf_counter_ns()
        for _ in range(iterations):
            stat(path)
        per_call.append((time.perf_counter_ns() - started) / iterations / 1000)
    return statistics.median(per_call)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--iterations", type=int, default=2000, help="resolutions per run")
    parser.add_argument("--runs", type=int, default=7, help="runs per measurement (median)")
    parser.add_argument("--seed", type=int, default=2024, help="seed for the sites' shapes")
    parser.add_argument(
        "--checks", default="stat,events", help="which caches to time: stat, events (inotify)"
    )
    args = parser.parse_args()
    checks = [name.strip() for name in args.checks.split(",") if name.strip()]
    if not checks or set(checks) - {"stat", "events"}:
        parser.error(f"--checks takes stat and/or events, not {args.checks!r}")

    print("cylinder-router: one resolution (GET, settled cache), microseconds")
    print(f"python {platform.python_version()} on {platform.system()} {platform.machine()}")
    print(f"median of {args.runs} runs of {args.iterations} resolutions each\n")

    with tempfile.TemporaryDirectory(prefix="cylinder-bench-") as temp:
        sites: dict[int, Site] = {}
        for size in SIZES:
            site_dir = Path(temp) / f"site{size}"
            folders = build_site(site_dir, size, random.Random(args.seed))
            settle(site_dir)
            sites[size] = Site.from_app_map(str(site_dir), SITE_NAME)
            files = count_route_files(site_dir)
            print(f"site with {files:>6,} route files in {folders:>4,} folders")
        stat_us = time_stat(sites[SIZES[-1]].folder, args.iterations, args.runs)
        print(f"\nfor scale, one os.stat of a folder: {stat_us:.2f} µs\n")

        for check in checks:
            print(f"{check}: " + ("a stat per folder" if check == "stat" else "one poll, no stat"))
            time_table(sites, check, args.iterations, args.runs)
            print()


def time_table(sites: dict[int, Site], check: str, iterations: int, runs: int) -> None:
    """Print one row per depth: microseconds per resolution on each site, and the ratio."""
    header = ["depth", *(f"{size:,} files" for size in SIZES), f"{SIZES[-1]:,}/{SIZES[0]:,}"]
    print("".join(f"{cell:>15}" for cell in header))
    for depth in range(1, MAX_DEPTH + 1):
        path = chain(depth)
        row: list[float] = []
        for size in SIZES:
            watch = FolderWatch(enabled=check == "events")
            router = Router(DirectoryCache(watch=watch if check == "events" else None))
            found = router.resolve(sites[size], path, "GET")
            expected = os.path.join(sites[size].folder, *path.split("/")[1:-1])
            if found.outcome is not Outcome.HANDLER or found.handler is None:
                sys.exit(f"{path} on the {size}-file site did not resolve to a handler")
            if os.path.dirname(found.handler.path) != expected:
                sys.exit(f"{path} on the {size}-file site resolved to {found.handler.path}")
            if check == "events" and not watch.watched:
                sys.exit(f"nothing could be watched: {watch.failure}")
            row.append(time_resolution(router, sites[size], path, iterations, runs, watch.poll))
            watch.close()
        cells = [str(depth), *(f"{value:.1f}" for value in row), f"{row[-1] / row[0]:.2f}"]
        print("".join(f"{cell:>15}" for cell in cells))


if __name__ == "__main__":
    main()
