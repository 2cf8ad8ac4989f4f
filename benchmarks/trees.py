"""What a change costs per request: two Cylinder source trees, alternating, in one run.

A change's cost on the request path is a few microseconds, below what requests/second between
separate runs can resolve on a shared machine. Each measurement here is a fresh interpreter that
imports Cylinder from one tree's ``packages/*/src``, builds the benchmark site
(``_bench.build_site``), warms up, and serves each route through the in-process driver. The two
trees take turns, round after round; the report gives each tree's lowest and median round and
the ratios new / old. Three meters (``--meter``):

- ``time``: CPU time of the serving thread (``time.thread_time``, so the log thread and other
  work on the machine matter less than with a wall clock), the lowest of ``--batches``;
- ``callgrind``: instructions per request under valgrind: the same count run after run, even on
  a busy machine, but blind to what the kernel does in a system call;
- ``strace``: system calls per request, all threads (``strace -f -c``).

For the last two, each route is run with ``--count`` requests and with none, after the same
start-up and warm-up, and the difference is divided by ``--count``.

    git worktree add --detach /tmp/old c15bc30
    python benchmarks/trees.py /tmp/old . --meter callgrind --rounds 1 --count 1000

Both trees run with the Werkzeug installed in this interpreter. Log level WARNING (no access
record) unless ``--level DEBUG``; records go to a handler that discards them.
"""

from __future__ import annotations

import argparse
import glob
import json
import logging
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
#: The routes timed: name -> path on the benchmark site.
DEFAULT_ROUTES = ("root", "deep", "static")


def child(tree: str, routes: list[str], count: int, batches: int, level: str, warmup: int) -> None:
    """In a fresh interpreter: time ``routes`` on Cylinder from ``tree``; print JSON."""
    sys.path[:0] = sorted(glob.glob(os.path.join(tree, "packages", "*", "src")))
    sys.path.insert(0, HERE)
    from _bench import ROUTES, SITE_NAME, DiscardHandler, build_site, make_environ, serve_many

    import cylinder

    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as scratch:
        layout = build_site(scratch)

        def app_map(request: object) -> tuple[str, str, dict[str, object]]:
            return layout.site_dir, SITE_NAME, {}

        app = cylinder.get_app(
            app_map, log_level=getattr(logging, level), log_handler=DiscardHandler()
        )
        for route in routes:
            environ = make_environ(ROUTES[route])
            serve_many(app, environ, warmup)  # modules loaded, caches filled
            times = []
            for _ in range(batches):
                started = time.thread_time()
                serve_many(app, environ, count)
                times.append((time.thread_time() - started) / max(count, 1) * 1e6)
            results[route] = min(times)
        close = getattr(app, "close", None)
        if close is not None:
            close()
    print(json.dumps({"tree": tree, "where": cylinder.__file__, "us": results}))


def measure(tree: str, args: argparse.Namespace) -> dict[str, float]:
    """One tree's figure per route: CPU µs, or instructions or system calls per request."""
    if args.meter == "time":
        return dict(run_child(tree, args, args.routes, args.count, args.batches)["us"])
    per_request = {}
    for route in args.routes:
        # The same start-up and warm-up with --count requests and with none: the difference
        # is what the requests cost.
        counts = [
            run_child(tree, args, [route], count, 1, meter=args.meter)["total"]
            for count in (args.count, 0)
        ]
        per_request[route] = (counts[0] - counts[1]) / args.count
    return per_request


def run_child(
    tree: str,
    args: argparse.Namespace,
    routes: list[str],
    count: int,
    batches: int,
    meter: str = "time",
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch:
        counts = os.path.join(scratch, "counts")
        prefix = {
            "time": [],
            "callgrind": ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"],
            "strace": ["strace", "-f", "-c", "-o", counts],
        }[meter]
        command = [
            *prefix,
            sys.executable,
            os.path.abspath(__file__),
            "--child",
            tree,
            "--routes",
            ",".join(routes),
            "--count",
            str(count),
            "--batches",
            str(batches),
            "--warmup",
            str(args.warmup),
            "--level",
            args.level,
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        if meter == "callgrind":
            found = re.search(r"Collected\s*:\s*(\d+)", done.stderr)
            if found is None:
                raise SystemExit(f"callgrind printed no instruction count:\n{done.stderr[-2000:]}")
            answer["total"] = int(found.group(1))
        elif meter == "strace":
            with open(counts, encoding="utf-8") as file:
                # "% time  seconds  usecs/call  calls  [errors]  total": the calls.
                total = r"^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)(?:\s+\d+)?\s+total$"
                found = re.search(total, file.read(), re.M)
            if found is None:
                raise SystemExit(f"strace wrote no total to {counts}")
            answer["total"] = int(found.group(1))
    expected = os.path.realpath(tree)
    if not os.path.realpath(answer["where"]).startswith(expected + os.sep):
        raise SystemExit(f"{tree}: Cylinder was imported from {answer['where']}, not the tree")
    return answer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old", nargs="?", help="the tree to compare against")
    parser.add_argument("new", nargs="?", help="the changed tree")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--count", type=int, default=4000, help="requests per batch")
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2000, help="requests before timing")
    parser.add_argument(
        "--meter",
        choices=("time", "callgrind", "strace"),
        default="time",
        help="time: CPU µs per request; callgrind: instructions per request under valgrind "
        "(repeatable on a busy machine, but the kernel's work is not counted); strace: system "
        "calls per request (all threads)",
    )
    parser.add_argument("--routes", type=lambda text: text.split(","), default=DEFAULT_ROUTES)
    parser.add_argument("--level", default="WARNING", choices=("WARNING", "INFO", "DEBUG"))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, list(args.routes), args.count, args.batches, args.level, args.warmup)
        return
    if not (args.old and args.new):
        parser.error("give the old tree and the new tree")
    runs: dict[str, list[dict[str, float]]] = {"old": [], "new": []}
    for index in range(args.rounds):
        order = ("old", "new") if index % 2 == 0 else ("new", "old")
        for label in order:
            runs[label].append(measure(getattr(args, label), args))
    unit = {"time": "µs of CPU", "callgrind": "instructions", "strace": "system calls"}[args.meter]
    how = (
        f"lowest of {args.batches} batches of {args.count}"
        if args.meter == "time"
        else (f"{args.count} requests against none, after {args.warmup}")
    )
    print(f"{unit} per request ({how}) over")
    print(f"{args.rounds} alternating rounds; level {args.level}; {time.strftime('%H:%M UTC')}")
    print(f"old = {args.old}\nnew = {args.new}\n")
    print(f"| {unit} per request | " + " | ".join(args.routes) + " |")
    print("| --- |" + " ---: |" * len(args.routes))
    summaries = {"lowest": min, "median": statistics.median}
    table = {
        (label, summary): {
            route: pick([run[route] for run in runs[label]]) for route in args.routes
        }
        for label in runs
        for summary, pick in summaries.items()
    }
    for summary in summaries:
        for label in ("old", "new"):
            cells = " | ".join(f"{table[label, summary][route]:,.1f}" for route in args.routes)
            print(f"| {label}, {summary} round | {cells} |")
        ratios = " | ".join(
            f"{table['new', summary][route] / table['old', summary][route]:.3f}"
            for route in args.routes
        )
        print(f"| new / old, {summary} | {ratios} |")


if __name__ == "__main__":
    main()
