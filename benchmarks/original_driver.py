"""Measures the original Cylinder 0.2.2. Runs only inside its own virtual environment.

``original.py`` makes that environment and runs this script there; never run it where the local
packages are installed, where ``import cylinder`` is the new Cylinder. It refuses to run unless
``cylinder`` is the single-module 0.2.2 distribution.

How the original is driven, from its source (one module, ``cylinder.py``):

- ``get_app(app_map, log_level=DEBUG, log_handler=None, request_id_header=None,
  abort_extra=None)`` returns a WSGI function. Its logger is the process-wide
  ``logging.getLogger("cylinder")`` fed through a module-global queue and listener: each
  ``get_app`` replaces the previous app's, so one app is measured at a time.
- ``app_map`` is called with the parameters it names (``request``, ``response``, ``abort``,
  ``logger``) and returns ``(site_dir, site_name)`` or ``(site_dir, site_name, extras)``; the site
  is ``Path.cwd() / site_dir`` (an absolute ``site_dir`` stays as it is).
- Files are found exactly as the new Cylinder finds them: ``webapp1.ex.get.py``,
  ``webapp1.eh.get.py`` and ``webapp1.lh.get.py`` beside the site folder answer and hook ``/``;
  a file under the site folder that is not ``.py`` is served as is on a GET of its exact path.
  Each request re-executes every file it uses, with ``importlib``, so edits are always seen.

Usage: ``python original_driver.py measure --runs 5 --seconds 0.4 --routes root,deep,static``
prints JSON; ``python original_driver.py serve --site-dir DIR --level warning`` serves the site
with waitress on a free port of 127.0.0.1 and prints ``{"port": N}`` once it listens.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import json
import logging
import os
import shlex
import sys
import tempfile
from typing import Any

from _bench import (
    ROUTES,
    SITE_NAME,
    DiscardHandler,
    Meter,
    SiteLayout,
    build_site,
    check_reply,
    edit_and_check,
    fetch,
    machine_line,
    make_environ,
    measure_in_turns,
    port_of,
    quiet_waitress,
    werkzeug_app,
)

#: The original's single module, untyped: read through ``Any``.
cylinder: Any = importlib.import_module("cylinder")

LEVELS = {"debug": logging.DEBUG, "warning": logging.WARNING}


def check_original() -> None:
    version = importlib.metadata.version("cylinder")
    if version != "0.2.2" or not hasattr(cylinder, "get_processors"):
        sys.exit(
            f"`cylinder` here is {version} from {cylinder.__file__}, not the original 0.2.2: "
            "run this script only through original.py"
        )


def original_app(layout: SiteLayout, level: int) -> Any:
    """The original's WSGI function, with its ``log_queue`` and other attributes."""
    site_dir = layout.site_dir

    def app_map(request: object) -> tuple[str, str, dict[str, object]]:
        return site_dir, SITE_NAME, {}

    return cylinder.get_app(app_map, log_level=level, log_handler=DiscardHandler())


def measure(runs: int, seconds: float, routes: list[str], levels: list[str]) -> dict[str, Any]:
    results: dict[str, Any] = {
        "cylinder_version": importlib.metadata.version("cylinder"),
        "werkzeug_version": importlib.metadata.version("werkzeug"),
        "python": sys.executable,
        "machine": machine_line(),
        "command": shlex.join(["python", *sys.argv]),
        "levels": {},
    }
    for level_name in levels:
        with tempfile.TemporaryDirectory(prefix="cylinder-original-") as temp:
            layout = build_site(temp)
            apps = {
                "original": original_app(layout, LEVELS[level_name]),
                "werkzeug": werkzeug_app(layout),
            }
            for label, app in apps.items():
                for route in routes:
                    problems = check_reply(route, fetch(app, make_environ(ROUTES[route])))
                    if problems:
                        sys.exit(f"{label} answers {ROUTES[route]} wrongly: {'; '.join(problems)}")
            log_queue = apps["original"].log_queue
            meters = {
                (label, route): Meter(
                    app,
                    make_environ(ROUTES[route]),
                    seconds,
                    log_queue.join if label == "original" else None,
                )
                for label, app in apps.items()
                for route in routes
            }
            measure_in_turns(meters.values(), runs)
            figures: dict[str, Any] = {"rates": {}, "runs": {}}
            for (label, route), meter in meters.items():
                timing = meter.timing()
                figures["rates"].setdefault(label, {})[route] = timing.median
                figures["runs"].setdefault(label, {})[route] = list(timing.runs)
            figures["freshness"] = edit_and_check(apps["original"], layout.root_handler, level_name)
            results["levels"][level_name] = figures
    return results


def serve(site_dir: str, level: str, threads: int) -> None:
    from waitress.server import create_server

    layout = build_site(site_dir)
    quiet_waitress()
    app = original_app(layout, LEVELS[level])
    server = create_server(app, host="127.0.0.1", port=0, threads=threads)
    print(json.dumps({"port": port_of(server)}), flush=True)
    server.run()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    measuring = commands.add_parser("measure", help="in-process requests/second, as JSON")
    measuring.add_argument("--runs", type=int, default=5)
    measuring.add_argument("--seconds", type=float, default=0.4)
    measuring.add_argument("--routes", default=",".join(ROUTES))
    measuring.add_argument("--levels", default=",".join(LEVELS))
    serving = commands.add_parser("serve", help="serve the site with waitress on a free port")
    serving.add_argument("--site-dir", required=True, help="an empty folder to write the site to")
    serving.add_argument("--level", choices=sorted(LEVELS), default="warning")
    serving.add_argument("--threads", type=int, default=4, help="waitress worker threads")
    args = parser.parse_args()
    check_original()
    if args.command == "serve":
        if os.listdir(args.site_dir):
            sys.exit(f"--site-dir {args.site_dir} is not empty")
        serve(args.site_dir, args.level, args.threads)
        return
    routes = [route for route in args.routes.split(",") if route]
    levels = [level for level in args.levels.split(",") if level]
    json.dump(measure(args.runs, args.seconds, routes, levels), sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
