"""How Cylinder's cost grows: per request as the site grows and the path deepens, and per app.

Resolution through the whole application (environ in, body out; not the router alone, which
``router_resolution.py`` measures): the sites of ``router_resolution.py``, with 10, 1,000 and
10,000 route files, settled, each served by one Cylinder app; ``GET /s1/.../s<depth>`` for depths
1 to 10 answered by a handler at that depth. Microseconds per request (the median run, the sizes
measured in turns at each depth) and the ratio of the 10,000-file site to the 10-file one at the
same depth. The issue's target: within 1.2x.

Memory per app: N apps built and each sent one request (so each has loaded its files and cached
its listings), measured as the growth of the process's resident set and, in a second pass, of
the memory ``tracemalloc`` sees; divided by N. For Cylinder on the benchmark site (``/``), on the
10,000-file site (the depth-10 path) and, for scale, Flask on the benchmark site.

Run from the repository root::

    hatch run bench:growth
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import random
import shlex
import subprocess
import sys
import tempfile
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from _apps import flask_app, source_line
from _bench import (
    ROUTES,
    DiscardHandler,
    Meter,
    SiteLayout,
    build_site,
    fetch,
    machine_line,
    make_environ,
    measure_in_turns,
)
from router_resolution import MAX_DEPTH, SITE_NAME, SIZES, chain, settle
from router_resolution import build_site as build_route_site

import cylinder

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

#: The issue's target: the largest site within this factor of the smallest at the same depth.
TARGET_RATIO = 1.2
LEVELS = {"debug": logging.DEBUG, "warning": logging.WARNING}


def site_app(site_dir: str, site_name: str, level: int) -> cylinder.Application:
    def app_map(request: object) -> tuple[str, str, dict[str, object]]:
        return site_dir, site_name, {}

    return cylinder.get_app(app_map, log_level=level, log_handler=DiscardHandler())


def measure_depths(
    sites: dict[int, str], level: int, runs: int, seconds: float
) -> dict[int, dict[int, float]]:
    """Microseconds per request: depth -> size -> median."""
    apps = {size: site_app(site_dir, SITE_NAME, level) for size, site_dir in sites.items()}
    table: dict[int, dict[int, float]] = {}
    try:
        for depth in range(1, MAX_DEPTH + 1):
            meters: dict[int, Meter] = {}
            for size, app in apps.items():
                environ = make_environ(chain(depth))
                reply = fetch(app, environ)
                if not reply.status.startswith("200"):
                    sys.exit(f"{chain(depth)} on the {size}-file site answered {reply.status}")
                meters[size] = Meter(app, environ, seconds, app.drain_logs)
            measure_in_turns(meters.values(), runs)
            table[depth] = {size: 1e6 / meter.timing().median for size, meter in meters.items()}
    finally:
        for app in apps.values():
            app.close()
    return table


def rss_bytes() -> int:
    """The process's resident set, from ``/proc`` (Linux)."""
    with open("/proc/self/statm", encoding="ascii") as file:
        return int(file.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def memory_per_app(
    build: Callable[[], WSGIApplication], path: str, count: int
) -> tuple[float, float]:
    """Bytes per app: (resident set growth, tracemalloc growth), each over ``count`` apps."""
    environ = make_environ(path)
    results = []
    for traced in (False, True):
        apps: list[WSGIApplication] = []
        gc.collect()
        if traced:
            tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0] if traced else rss_bytes()
        for _ in range(count):
            app = build()
            fetch(app, environ)
            apps.append(app)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0] if traced else rss_bytes()
        if traced:
            tracemalloc.stop()
        results.append((after - before) / count)
        for app in apps:
            close = getattr(app, "close", None)
            if close is not None:
                close()
        del apps
    return results[0], results[1]


#: The memory cases: name -> (what it is, which site, the path of its one request).
MEMORY_CASES = {
    "cylinder-bench": ("cylinder, benchmark site, /", "bench", ROUTES["root"]),
    "cylinder-big": (
        f"cylinder, {SIZES[-1]:,}-file site, depth {MAX_DEPTH}",
        "big",
        chain(MAX_DEPTH),
    ),
    "flask-bench": ("flask, benchmark site, /", "bench", ROUTES["root"]),
}


def memory_case(case: str, site_dir: str, apps: int, level: int) -> tuple[float, float]:
    """Measure one memory case (in this process, which should be fresh)."""
    _, _, path = MEMORY_CASES[case]
    layout = SiteLayout.at(site_dir)

    def build() -> WSGIApplication:
        if case == "flask-bench":
            return flask_app(layout)
        return site_app(site_dir, SITE_NAME, level)

    return memory_per_app(build, path, apps)


def memory_in_subprocess(case: str, site_dir: str, apps: int, level: str) -> tuple[float, float]:
    """Run :func:`memory_case` in a fresh interpreter, so that no case reuses memory another
    freed (which makes resident-set growth meaningless)."""
    command = [
        sys.executable,
        os.path.abspath(__file__),
        "--memory-case",
        case,
        "--site-dir",
        site_dir,
        "--apps",
        str(apps),
        "--level",
        level,
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    rss, traced = json.loads(done.stdout)
    return float(rss), float(traced)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per size and depth")
    parser.add_argument("--seconds", type=float, default=0.2, help="about how long one run is")
    parser.add_argument("--level", choices=sorted(LEVELS), default="warning", help="log level")
    parser.add_argument("--apps", type=int, default=50, help="apps built for the memory figure")
    parser.add_argument("--seed", type=int, default=2024, help="seed for the sites' shapes")
    parser.add_argument("--memory-case", choices=sorted(MEMORY_CASES), help=argparse.SUPPRESS)
    parser.add_argument("--site-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_case:  # the child of memory_in_subprocess
        result = memory_case(args.memory_case, args.site_dir, args.apps, LEVELS[args.level])
        print(json.dumps(result))
        return

    print(f"command: {shlex.join(['python', *sys.argv])}")
    print(machine_line())
    print(source_line())
    with tempfile.TemporaryDirectory(prefix="cylinder-growth-") as temp:
        sites: dict[int, str] = {}
        for size in SIZES:
            site_dir = Path(temp) / f"site{size}"
            build_route_site(site_dir, size, random.Random(args.seed))
            settle(site_dir)
            sites[size] = str(site_dir)
        os.sync()  # write the new files out now, not while the kernel's flusher would compete
        print(
            f"\nwhole-app cost of one GET (log level {args.level.upper()}), microseconds per "
            f"request, median of {args.runs} runs of about {args.seconds}s"
        )
        table = measure_depths(sites, LEVELS[args.level], args.runs, args.seconds)
        big, small = SIZES[-1], SIZES[0]
        header = ["depth", *(f"{size:,} files" for size in SIZES), f"{big:,}/{small:,}"]
        print("".join(f"{cell:>14}" for cell in header))
        ratios = []
        for depth, row in table.items():
            ratio = row[big] / row[small]
            ratios.append(ratio)
            cells = [str(depth), *(f"{row[size]:.1f}" for size in SIZES), f"{ratio:.2f}"]
            print("".join(f"{cell:>14}" for cell in cells))
        worst = max(ratios)
        verdict = "met" if worst <= TARGET_RATIO else "MISSED"
        print(f"target: {big:,}/{small:,} <= {TARGET_RATIO} at every depth: {verdict} ")
        print(f"(worst {worst:.2f}, at depth {ratios.index(worst) + 1})")

        print(f"\nmemory per app: {args.apps} apps built, one request each; KiB per app")
        print(f"{'app':<44}{'RSS growth':>12}{'tracemalloc':>13}")
        bench_dir = os.path.join(temp, "bench-site")
        os.mkdir(bench_dir)
        layout = build_site(bench_dir)
        for case, (label, site, _) in MEMORY_CASES.items():
            case_site = layout.site_dir if site == "bench" else sites[big]
            rss, traced = memory_in_subprocess(case, case_site, args.apps, args.level)
            print(f"{label:<44}{rss / 1024:>12.1f}{traced / 1024:>13.1f}")


if __name__ == "__main__":
    main()
