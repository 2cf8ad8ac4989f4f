"""Serve one peer on the benchmark site with waitress, for ``real_socket.py``.

Writes the site into ``--site-dir`` (an empty folder), listens on a free port of 127.0.0.1 and
prints ``{"port": N}`` on a line of its own once it does. It runs until it is terminated.

    python benchmarks/_serve.py --app cylinder-warning --site-dir /tmp/empty-folder
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from _apps import CYLINDER_LEVELS, cylinder_app, flask_app
from _bench import build_site, port_of, quiet_waitress, werkzeug_app
from waitress.server import create_server

APPS = ("werkzeug", "flask", *CYLINDER_LEVELS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--app", choices=APPS, required=True)
    parser.add_argument("--site-dir", required=True, help="an empty folder to write the site to")
    parser.add_argument("--threads", type=int, default=4, help="waitress worker threads")
    args = parser.parse_args()
    if os.listdir(args.site_dir):
        sys.exit(f"--site-dir {args.site_dir} is not empty")
    layout = build_site(args.site_dir)
    if args.app == "werkzeug":
        app = werkzeug_app(layout)
    elif args.app == "flask":
        app = flask_app(layout)
    else:
        app = cylinder_app(layout, CYLINDER_LEVELS[args.app])
    quiet_waitress()
    server = create_server(app, host="127.0.0.1", port=0, threads=args.threads)
    print(json.dumps({"port": port_of(server)}), flush=True)
    server.run()


if __name__ == "__main__":
    main()
