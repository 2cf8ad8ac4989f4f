"""Requests per second over a real socket: waitress serving each peer, ``wrk`` loading it.

Each peer (the bare Werkzeug app, Flask, Cylinder at DEBUG and at WARNING, and with
``--with-original`` the original Cylinder 0.2.2 from its own virtual environment) is served by
waitress (4 threads, or ``--threads``) in a subprocess of its own, on a free port of 127.0.0.1,
from its own copy of the benchmark site. Every server answers each route correctly before any
load is sent. Then, at each concurrency level and route, ``wrk`` runs against every server in
turn for a few seconds (``-t 2``, or 1 for a single connection). All servers are stopped when
done or on any error. A server's output goes to a file (a pipe nobody reads would fill and stall
it), and waitress's per-request "Task queue depth" warning is silenced for every peer alike.

The load generator runs on the same 2 cores as the server, so these figures are lower than the
in-process ones and the ratios between peers are the point.

Named ``real_socket.py``, not ``socket.py``: run as a script, its folder comes first on the
module path, and a ``socket.py`` there would be imported by every ``import socket``.

Needs ``wrk`` (Debian: ``apt-get update && apt-get install -y wrk``); without it, this says so and
exits. Run from the repository root::

    hatch run bench:socket
    hatch run bench:socket --with-original --duration 2 --repeat 3 --connections 1,8,32
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

from _apps import CYLINDER_LEVELS, source_line
from _bench import ROUTES, Reply, check_reply, machine_line

HERE = os.path.dirname(os.path.abspath(__file__))
PEERS = ("werkzeug", "flask", *CYLINDER_LEVELS)
#: How long a server may take to say which port it listens on.
START_TIMEOUT = 30.0
RATIOS = (
    ("cylinder-debug", "flask"),
    ("cylinder-warning", "flask"),
    ("cylinder-debug", "werkzeug"),
    ("cylinder-warning", "werkzeug"),
    ("flask", "werkzeug"),
    ("cylinder-warning", "original-warning"),
)


@dataclass
class Server:
    label: str
    process: subprocess.Popen[bytes]
    log: str
    port: int = 0


def start_server(
    label: str, command: list[str], log_dir: str, env: dict[str, str] | None = None
) -> Server:
    """Start a server and wait for the line that names its port.

    Its output goes to files in ``log_dir``, never to a pipe: a pipe nobody reads fills up, and
    a server writing to it would stop answering.
    """
    out = os.path.join(log_dir, f"{label}.out")
    log = os.path.join(log_dir, f"{label}.log")
    with open(out, "wb") as stdout, open(log, "wb") as stderr:
        process = subprocess.Popen(command, stdout=stdout, stderr=stderr, env=env)
    server = Server(label, process, log)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        with open(out, encoding="utf-8") as file:
            line = file.readline()
        if line.endswith("\n"):
            server.port = int(json.loads(line)["port"])
            return server
        time.sleep(0.05)
    stop_server(server)
    raise RuntimeError(f"{label} did not start: {shlex.join(command)}\n{log_tail(server)}")


def log_tail(server: Server, lines: int = 20) -> str:
    with open(server.log, encoding="utf-8", errors="replace") as file:
        return "".join(file.readlines()[-lines:])


def stop_server(server: Server) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(5)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(5)


def check_server(server: Server, routes: list[str]) -> None:
    """Every route answers 200 with the right body and both hooks' headers, over the socket."""
    for route in routes:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        try:
            connection.request("GET", ROUTES[route])
            answer = connection.getresponse()
            reply = Reply()
            reply.status = f"{answer.status} {answer.reason}"
            reply.headers = answer.getheaders()
            reply.body = answer.read()
        finally:
            connection.close()
        problems = check_reply(route, reply)
        if problems:
            raise RuntimeError(f"{server.label} answers {ROUTES[route]}: {'; '.join(problems)}")


@dataclass(frozen=True)
class Load:
    rate: float
    errors: str


def run_wrk(port: int, path: str, connections: int, duration: int) -> Load:
    threads = min(2, connections)
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration}s",
        "--timeout",
        "5s",
        f"http://127.0.0.1:{port}{path}",
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=duration + 30, check=True
    )
    found = re.search(r"Requests/sec:\s*([\d.]+)", done.stdout)
    if found is None:
        raise RuntimeError(
            f"no Requests/sec in the output of {shlex.join(command)}:\n{done.stdout}"
        )
    errors = []
    for pattern in (r"Non-2xx or 3xx responses: \d+", r"Socket errors: [^\n]+"):
        match = re.search(pattern, done.stdout)
        if match:
            errors.append(match.group(0))
    return Load(float(found.group(1)), "; ".join(errors))


def original_command(site_dir: str, threads: int) -> tuple[list[str], dict[str, str]] | None:
    from original import _clean_env, driver_command, ensure_venv

    try:
        python = ensure_venv()
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"the original Cylinder is left out: {exc}", file=sys.stderr)
        return None
    command = driver_command(
        python, "serve", "--site-dir", site_dir, "--level", "warning", "--threads", str(threads)
    )
    return command, _clean_env()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--duration", type=int, default=2, help="seconds of load per wrk run")
    parser.add_argument(
        "--repeat", type=int, default=3, help="wrk runs per cell, in turns; the median is shown"
    )
    parser.add_argument("--connections", default="1,8,32", help="concurrency levels")
    parser.add_argument("--routes", default=",".join(ROUTES), help="comma-separated routes")
    parser.add_argument("--threads", type=int, default=4, help="waitress worker threads")
    parser.add_argument("--peers", default=",".join(PEERS), help="comma-separated peers")
    parser.add_argument(
        "--with-original", action="store_true", help="also serve the original Cylinder 0.2.2"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed; on Debian: apt-get update && apt-get install -y wrk")
        print("skipped: no socket measurement was made")
        return
    routes = [route for route in args.routes.split(",") if route]
    levels = [int(level) for level in args.connections.split(",") if level]
    peers = [peer for peer in args.peers.split(",") if peer]
    if unknown := sorted(set(peers) - set(PEERS)):
        parser.error(f"unknown peers {unknown}; choose from {list(PEERS)}")

    print(f"command: {shlex.join(['python', *sys.argv])}")
    print(machine_line())
    print(source_line())
    version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split("\n")[0]
    print(
        f"{version.strip()}; waitress with {args.threads} threads; median of {args.repeat} "
        f"runs of {args.duration}s per cell, taken in turns\n"
    )

    servers: list[Server] = []
    loads: dict[str, dict[tuple[str, int], list[float]]] = {}
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="cylinder-socket-") as temp:
        try:
            for peer in peers:
                site_dir = os.path.join(temp, peer)
                os.mkdir(site_dir)
                command = [
                    sys.executable,
                    os.path.join(HERE, "_serve.py"),
                    "--app",
                    peer,
                    "--site-dir",
                    site_dir,
                    "--threads",
                    str(args.threads),
                ]
                servers.append(start_server(peer, command, temp))
            if args.with_original:
                site_dir = os.path.join(temp, "original")
                os.mkdir(site_dir)
                found = original_command(site_dir, args.threads)
                if found is not None:
                    command, env = found
                    servers.append(start_server("original-warning", command, temp, env))
            for server in servers:
                check_server(server, routes)
            for _ in range(args.repeat):
                for connections in levels:
                    for route in routes:
                        for server in servers:
                            path = ROUTES[route]
                            load = run_wrk(server.port, path, connections, args.duration)
                            cell = loads.setdefault(server.label, {})
                            cell.setdefault((route, connections), []).append(load.rate)
                            where = f"{server.label} {route} c={connections}"
                            if not load.rate:
                                notes.append(f"{where} answered nothing; its log ends:")
                                notes.append(log_tail(server))
                            if load.errors:
                                notes.append(f"{where}: {load.errors}")
        finally:
            for server in servers:
                stop_server(server)

    rates = {
        label: {cell: statistics.median(runs) for cell, runs in row.items()}
        for label, row in loads.items()
    }
    columns = [(route, connections) for connections in levels for route in routes]
    print(f"{'requests/second':<20}" + "".join(f"{r + ' c' + str(c):>13}" for r, c in columns))
    for label, row in rates.items():
        print(f"{label:<20}" + "".join(f"{row[column]:>13,.0f}" for column in columns))
    print(f"\n{'ratio':<36}" + "".join(f"{r + ' c' + str(c):>13}" for r, c in columns))
    for top, bottom in RATIOS:
        if top in rates and bottom in rates:
            cells = "".join(
                f"{rates[top][c] / rates[bottom][c]:>13.2f}" if rates[bottom][c] else f"{'-':>13}"
                for c in columns
            )
            print(f"{top + ' / ' + bottom:<36}{cells}")
    spreads = [
        ((max(runs) - min(runs)) / rates[label][cell], label, cell)
        for label, row in loads.items()
        for cell, runs in row.items()
        if rates[label][cell]
    ]
    if spreads and args.repeat > 1:
        worst, label, (route, connections) = max(spreads)
        print(f"\nwidest spread between runs: {worst:.0%} ({label} {route} c{connections})")
    for note in notes:
        print(f"note: {note}")


if __name__ == "__main__":
    main()
