"""Requests per second in one process: Cylinder against Flask and a bare Werkzeug app.

Every peer does the same work on the same three routes (see ``_bench.py``): ``/`` (a handler),
``/a/b/c/d/e/deep`` (a handler five folders down) and ``/static/style.css`` (a small file), each
with an early and a late hook that add a header. Cylinder serves a site written to a temporary
folder and settled (every mtime old), configured twice: with ``get_app``'s default level, DEBUG,
so one access record per request goes through its log queue to a handler that discards it, and
with WARNING, which filters that record out.

The driver plays the server, without sockets: a prebuilt environ, copied for each request; the
body read to the end and closed. Each app and route is warmed up, then timed in several runs
taken in turns with the others; the figure is the median run. At the end the root handler is
edited between two requests, twice, and each Cylinder app must show the edit at once (freshness).

With ``--with-original`` the original Cylinder 0.2.2 is measured too, in a virtual environment
of its own (see ``original.py``), on the same routes and site layout, in a second process.

Run from the repository root::

    hatch run bench:run
    hatch run bench:run --with-original --json results.json
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
from typing import Any

from _apps import CYLINDER_LEVELS, build_peers, source_line
from _bench import (
    ROUTES,
    Meter,
    build_site,
    check_reply,
    edit_and_check,
    fetch,
    machine_line,
    make_environ,
    measure_in_turns,
)

#: Ratios printed: (numerator, denominator).
RATIOS = (
    ("cylinder-debug", "flask-access"),
    ("cylinder-warning", "flask"),
    ("cylinder-debug", "flask"),
    ("flask-access", "flask"),
    ("cylinder-debug", "werkzeug"),
    ("cylinder-warning", "werkzeug"),
    ("flask", "werkzeug"),
    ("cylinder-debug", "original-debug"),
    ("cylinder-warning", "original-warning"),
)
#: The issue's target: Cylinder at least this many times Flask's requests per second.
TARGET_VS_FLASK = 1.5
#: Each Cylinder configuration against Flask doing the same work: at WARNING no record is
#: logged; at DEBUG (the default) Cylinder logs one access record per request, and so does
#: ``flask-access``, through the standard library's queue handler and listener thread.
SAME_WORK = {"cylinder-warning": "flask", "cylinder-debug": "flask-access"}


def measure(runs: int, seconds: float, routes: list[str]) -> dict[str, Any]:
    """Build the site and the peers, check their answers, time them, check freshness."""
    results: dict[str, Any] = {"rates": {}, "runs": {}, "freshness": {}, "dropped_logs": {}}
    with tempfile.TemporaryDirectory(prefix="cylinder-bench-") as temp:
        layout = build_site(temp)
        apps = build_peers(layout)
        for label, app in apps.items():
            for route in routes:
                problems = check_reply(route, fetch(app, make_environ(ROUTES[route])))
                if problems:
                    sys.exit(f"{label} answers {ROUTES[route]} wrongly: {'; '.join(problems)}")

        meters: dict[tuple[str, str], Meter] = {}
        for label, app in apps.items():
            drain = getattr(app, "drain_logs", None)  # pay for the records each run queued
            for route in routes:
                meters[label, route] = Meter(app, make_environ(ROUTES[route]), seconds, drain)
        measure_in_turns(meters.values(), runs)
        for (label, route), meter in meters.items():
            timing = meter.timing()
            results["rates"].setdefault(label, {})[route] = timing.median
            results["runs"].setdefault(label, {})[route] = list(timing.runs)

        for label in CYLINDER_LEVELS:
            app = apps[label]
            results["freshness"][label] = edit_and_check(app, layout.root_handler, label)
            results["dropped_logs"][label] = app.dropped_log_records  # type: ignore[attr-defined]
            app.close()  # type: ignore[attr-defined]
        close = getattr(apps["flask-access"], "close", None)
        if close is not None:
            close()
    return results


def merge_original(results: dict[str, Any], original: dict[str, Any]) -> None:
    """Add the original Cylinder's figures (from ``original.py``) to ``results``."""
    for level, figures in original["levels"].items():
        label = f"original-{level}"
        results["rates"][label] = figures["rates"]["original"]
        results["runs"][label] = figures["runs"]["original"]
        results["freshness"][label] = figures["freshness"]
    results["original"] = {
        key: value for key, value in original.items() if key not in ("levels",)
    } | {
        "werkzeug_in_its_process": {
            level: figures["rates"]["werkzeug"] for level, figures in original["levels"].items()
        }
    }


def print_report(results: dict[str, Any], routes: list[str], command: str) -> None:
    rates: dict[str, dict[str, float]] = results["rates"]
    labels = list(rates)
    print(f"command: {command}")
    print(machine_line())
    print(source_line())
    print(
        f"in-process WSGI, median of {results['settings']['runs']} runs of about "
        f"{results['settings']['seconds']}s each, after warm-up; requests/second\n"
    )
    print(f"{'requests/second':<20}" + "".join(f"{route:>10}" for route in routes))
    for label in labels:
        print(f"{label:<20}" + "".join(f"{rates[label][route]:>10,.0f}" for route in routes))

    ratios = [(top, bottom) for top, bottom in RATIOS if top in rates and bottom in rates]
    print(f"\n{'ratio':<36}" + "".join(f"{route:>8}" for route in routes))
    for top, bottom in ratios:
        cells = "".join(f"{rates[top][route] / rates[bottom][route]:>8.2f}" for route in routes)
        print(f"{top + ' / ' + bottom:<36}{cells}")

    print(
        f"\ntarget: every Cylinder configuration >= {TARGET_VS_FLASK}x Flask doing the same work,"
        " on every route"
    )
    for label in CYLINDER_LEVELS:
        peer = SAME_WORK[label]
        verdicts = []
        for route in routes:
            ratio = rates[label][route] / rates[peer][route]
            verdicts.append(
                f"{route} {ratio:.2f}x {'met' if ratio >= TARGET_VS_FLASK else 'MISSED'}"
            )
        print(f"  {label} / {peer}: {', '.join(verdicts)}")

    spreads = [
        (label, route, (max(runs) - min(runs)) / rates[label][route])
        for label, per_route in results["runs"].items()
        for route, runs in per_route.items()
    ]
    label, route, worst = max(spreads, key=lambda item: item[2])
    print(f"\nwidest spread between runs: {worst:.0%} ({label} {route})")

    print("\nfreshness: the root handler edited between two requests, twice in a row")
    for label, problems in results["freshness"].items():
        print(f"  {label}: {'PASS' if not problems else 'FAIL: ' + '; '.join(problems)}")
    for label, dropped in results["dropped_logs"].items():
        if dropped:
            print(f"  note: {label} dropped {dropped} log records (queue full)")
    if "original" in results:
        original = results["original"]
        print(
            f"\noriginal: cylinder {original['cylinder_version']} with werkzeug "
            f"{original['werkzeug_version']}, measured by {original['command']}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per app and route")
    parser.add_argument("--seconds", type=float, default=0.4, help="about how long one run is")
    parser.add_argument("--routes", default=",".join(ROUTES), help="comma-separated routes")
    parser.add_argument(
        "--with-original",
        action="store_true",
        help="also measure Cylinder 0.2.2 in its own virtual environment (see original.py)",
    )
    parser.add_argument(
        "--json", metavar="PATH", help="also write the results as JSON ('-': stdout)"
    )
    args = parser.parse_args()
    routes = [route for route in args.routes.split(",") if route]
    unknown = sorted(set(routes) - set(ROUTES))
    if unknown:
        parser.error(f"unknown routes {unknown}; choose from {sorted(ROUTES)}")

    command = shlex.join(["python", *sys.argv])
    results = measure(args.runs, args.seconds, routes)
    results["settings"] = {"runs": args.runs, "seconds": args.seconds, "routes": routes}
    results["command"] = command
    results["machine"] = machine_line()
    results["source"] = source_line()
    if args.with_original:
        from original import run_original

        original = run_original(args.runs, args.seconds, routes)
        if original is None:
            print("the original Cylinder could not be measured: see the message above\n")
        else:
            merge_original(results, original)

    if args.json == "-":
        json.dump(results, sys.stdout, indent=2)
        print()
    else:
        print_report(results, routes, command)
        if args.json:
            with open(args.json, "w", encoding="utf-8") as file:
                json.dump(results, file, indent=2)
            print(f"\nJSON written to {args.json}")
    failed = [label for label, problems in results["freshness"].items() if problems]
    if failed and any(label.startswith("cylinder") for label in failed):
        sys.exit(1)


if __name__ == "__main__":
    main()
