"""Where one route's time goes: ``cProfile`` over many requests to one peer, top functions.

The site, the apps and the driver are those of ``inprocess.py``. The peer is warmed up, then
``--requests`` requests are served under the profiler (which slows everything down, evenly
enough to rank costs). Prints the top functions by own time and by cumulative time; ``--out``
also saves the raw profile for ``snakeviz`` or ``pstats``.

Run from the repository root::

    hatch run bench:profile --route root
    hatch run bench:profile --peer cylinder-warning --route static --requests 20000
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import shlex
import sys
import tempfile

from _apps import build_peers, source_line
from _bench import ROUTES, build_site, check_reply, fetch, machine_line, make_environ, serve_many


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--peer", default="cylinder-debug", help="werkzeug, flask, cylinder-...")
    parser.add_argument("--route", choices=sorted(ROUTES), default="root")
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--top", type=int, default=25, help="functions listed per ranking")
    parser.add_argument("--out", help="also save the profile to this file")
    args = parser.parse_args()

    print(f"command: {shlex.join(['python', *sys.argv])}")
    print(machine_line())
    print(source_line())
    with tempfile.TemporaryDirectory(prefix="cylinder-profile-") as temp:
        layout = build_site(temp)
        apps = build_peers(layout)
        if args.peer not in apps:
            parser.error(f"unknown peer {args.peer!r}; choose from {sorted(apps)}")
        app = apps[args.peer]
        environ = make_environ(ROUTES[args.route])
        problems = check_reply(args.route, fetch(app, environ))
        if problems:
            sys.exit(f"{args.peer} answers {ROUTES[args.route]} wrongly: {'; '.join(problems)}")
        serve_many(app, environ, 1000)
        drain = getattr(app, "drain_logs", None)
        profiler = cProfile.Profile()
        profiler.enable()
        serve_many(app, environ, args.requests)
        if drain is not None:
            drain()
        profiler.disable()
        for peer_app in apps.values():
            close = getattr(peer_app, "close", None)
            if close is not None:
                close()

    print(f"\n{args.peer} {ROUTES[args.route]}: {args.requests:,} requests under cProfile")
    stats = pstats.Stats(profiler)
    stats.strip_dirs()
    for key in ("tottime", "cumulative"):
        print(f"\n--- top {args.top} by {key} ---")
        stats.sort_stats(key).print_stats(args.top)
    if args.out:
        profiler.dump_stats(args.out)
        print(f"profile saved to {args.out}")


if __name__ == "__main__":
    main()
