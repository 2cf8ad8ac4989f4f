"""Requests per second over a real socket, with latency, context switches and system calls.

Every peer (bare Werkzeug, Flask, Flask with an access log, Cylinder at WARNING and at its
default level DEBUG) is served by each WSGI server installed (waitress, gunicorn's sync and
gthread workers, granian's WSGI interface) in a subprocess of its own, on a free port of
127.0.0.1, from its own copy of the benchmark site. The peers that log write to their server's
stderr, which goes to a file. Every route is checked over the socket before any load is sent.

The load comes from ``_load.py``: this process, one thread, N keep-alive HTTP/1.1 connections
(no system package needed). Each cell (route, connections) is loaded against every peer in turn,
in both placements in turn, ``--rounds`` times; the median round is shown:

- ``pinned``: the server (every thread of every process) on core 0, the load on core 1;
- ``shared``: both free to use every core, as the scheduler likes.

Next to requests/second: p50 and p99 latency, and per request of the server (all its threads,
from ``/proc``) its context switches (``voluntary_ctxt_switches`` +
``nonvoluntary_ctxt_switches``) and its CPU time (``schedstat``). Under each placement: how much
CPU the machine's other processes took during the cells, since a busy machine makes every figure
noise. Then one more short run per peer (the root route, 8 connections, pinned where there are
2 cores, since shared waitress's own loop would be counted too) counts the server's system calls
per request with ``perf stat`` where it can, else ``strace -c -f`` (see ``_syscalls.py``: under
``strace`` the ``futex`` counts are mostly strace's own).

**waitress, shared, 8 and 32 connections.** There waitress's I/O thread can spin: its
``HTTPChannel.writable()`` is true while a response waits in the channel's output buffer, even
while the worker thread that wrote it holds the buffer's lock to send it itself, so ``select``
returns at once, ``handle_write`` cannot take the lock and does nothing, and the loop goes round
again. Each round drops and takes back the GIL; with the server's threads on two cores, the
worker woken on the other core mostly finds it taken again, and it needs the GIL to finish the
send and let go of the lock (at worst CPython's switch interval, 5 ms, forces the hand-off).
Some cells then drop to a few hundred requests a second, with hundreds of context switches and
milliseconds of server CPU per request: that is the server, not the application, and the shared
table names the cells where the server's CPU per request is more than twice its pinned figure.
No waitress setting stops it (``threads`` 1 to 8, ``asyncore_use_poll``,
``channel_request_lookahead`` were tried). With the server on one core the loop goes round a
few times per request and costs little, wherever the load generator runs; with the load
generator pinned and the server free, it spins as much as shared. See benchmarks/README.md.

Named ``real_socket.py``, not ``socket.py``: run as a script, its folder comes first on the
module path, and a ``socket.py`` there would be imported by every ``import socket``.

    hatch run bench:socket
    hatch run bench:socket --servers waitress,gunicorn-gthread --routes root --rounds 5
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.client
import importlib.util
import json
import os
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

from _apps import source_line
from _bench import ROUTES, Reply, check_reply, machine_line
from _load import run_load
from _serve import APPS, SERVERS
from _syscalls import Syscalls, count, tool

HERE = os.path.dirname(os.path.abspath(__file__))
PLACEMENTS = ("pinned", "shared")
#: How long a server may take to answer its first request.
START_TIMEOUT = 30.0
#: Ratios shown under each table: (top, bottom).
RATIOS = (
    ("cylinder-warning", "flask"),
    ("cylinder-debug", "flask-access"),
    ("cylinder-debug", "flask"),
    ("flask", "werkzeug"),
    ("cylinder-warning", "werkzeug"),
)
#: Which module each server needs.
SERVER_MODULES = {
    "waitress": "waitress",
    "gunicorn-sync": "gunicorn",
    "gunicorn-gthread": "gunicorn",
    "granian": "granian",
}


@dataclass
class Server:
    label: str
    process: subprocess.Popen[bytes]
    log: str
    port: int


@dataclass
class Cell:
    rates: list[float] = field(default_factory=list)
    p50: list[float] = field(default_factory=list)
    p99: list[float] = field(default_factory=list)
    switches: list[float] = field(default_factory=list)
    server_cpu_us: list[float] = field(default_factory=list)
    load_cpu_us: list[float] = field(default_factory=list)
    #: CPU time the machine's other processes took during each run, in cores.
    other_cores: list[float] = field(default_factory=list)
    errors: int = 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(kind: str, peer: str, temp: str, threads: int) -> Server:
    site_dir = os.path.join(temp, f"{kind}-{peer}")
    os.mkdir(site_dir)
    port = free_port()
    command = [
        sys.executable,
        os.path.join(HERE, "_serve.py"),
        f"--server={kind}",
        f"--app={peer}",
        f"--site-dir={site_dir}",
        f"--port={port}",
        f"--threads={threads}",
    ]
    log = os.path.join(temp, f"{kind}-{peer}.log")
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(peer, process, log, port)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        try:
            fetch(port, "/")
            return server
        except OSError:
            time.sleep(0.1)
    stop_server(server)
    raise RuntimeError(f"{kind} {peer} did not start: {shlex.join(command)}\n{log_tail(server)}")


def log_tail(server: Server, lines: int = 20) -> str:
    with open(server.log, encoding="utf-8", errors="replace") as file:
        return "".join(file.readlines()[-lines:])


def stop_server(server: Server) -> None:
    """Stop the server and every process it started (its own session)."""
    if server.process.poll() is None:
        server.process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.process.wait(10)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.process.pid, signal.SIGKILL)  # workers left behind, if any
    server.process.wait(10)


def fetch(port: int, path: str) -> Reply:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path)
        answer = connection.getresponse()
        reply = Reply()
        reply.status = f"{answer.status} {answer.reason}"
        reply.headers = answer.getheaders()
        reply.body = answer.read()
    finally:
        connection.close()
    return reply


def check_server(kind: str, server: Server, routes: list[str]) -> None:
    """Every route answers 200 with the right body and both hooks' headers, over the socket."""
    for route in routes:
        problems = check_reply(route, fetch(server.port, ROUTES[route]))
        if problems:
            raise RuntimeError(
                f"{kind} {server.label} answers {ROUTES[route]}: {'; '.join(problems)}"
            )


def process_tree(pid: int) -> list[int]:
    """``pid`` and every process below it."""
    parents: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", encoding="ascii", errors="replace") as file:
                stat = file.read()
        except OSError:
            continue
        ppid = int(stat.rpartition(")")[2].split()[1])
        parents.setdefault(ppid, []).append(int(name))
    found: list[int] = []
    todo = [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(parents.get(current, []))
    return found


def tasks(pids: list[int]) -> list[tuple[int, int]]:
    """Every (process, thread) of ``pids``."""
    found: list[tuple[int, int]] = []
    for pid in pids:
        try:
            found.extend((pid, int(tid)) for tid in os.listdir(f"/proc/{pid}/task"))
        except OSError:
            continue
    return found


def thread_counters(pids: list[int]) -> dict[int, tuple[int, int]]:
    """Context switches and CPU nanoseconds so far of each thread of ``pids``."""
    counts = {}
    for pid, tid in tasks(pids):
        try:
            with open(f"/proc/{pid}/task/{tid}/status", encoding="ascii") as file:
                total = 0
                for line in file:
                    if line.startswith(("voluntary_ctxt", "nonvoluntary_ctxt")):
                        total += int(line.split()[1])
            with open(f"/proc/{pid}/task/{tid}/schedstat", encoding="ascii") as file:
                cpu_ns = int(file.read().split()[0])
            counts[tid] = (total, cpu_ns)
        except (OSError, ValueError, IndexError):
            continue
    return counts


def machine_cpu_ns() -> int:
    """CPU time all processes have used so far (``/proc/stat``: user to steal), in ns."""
    with open("/proc/stat", encoding="ascii") as file:
        fields = file.readline().split()[1:]
    # user nice system idle iowait irq softirq steal: user, nice, system and steal (time the
    # hypervisor gave to others); interrupts are left out, loopback traffic is handled there
    busy = sum(int(fields[index]) for index in (0, 1, 2, 7) if index < len(fields))
    return busy * 1_000_000_000 // os.sysconf("SC_CLK_TCK")


def place(pids: list[int], placement: str) -> None:
    """Pin the server to core 0 and this process to core 1, or let both use every core."""
    every = set(range(os.cpu_count() or 1))
    server_cores, load_cores = ({0}, {1}) if placement == "pinned" else (every, every)
    for _, tid in tasks(pids):
        try:
            os.sched_setaffinity(tid, server_cores)
        except OSError:
            continue
    os.sched_setaffinity(0, load_cores)


def measure(server: Server, path: str, connections: int, duration: float, cell: Cell) -> None:
    pids = process_tree(server.process.pid)
    before = thread_counters(pids)
    machine = machine_cpu_ns()
    cpu = time.process_time_ns()
    wall = time.perf_counter_ns()
    result = run_load(server.port, path, connections, duration)
    wall = time.perf_counter_ns() - wall
    cpu = time.process_time_ns() - cpu
    machine = machine_cpu_ns() - machine
    after = thread_counters(pids)
    common = [tid for tid in after if tid in before]
    switched = sum(after[tid][0] - before[tid][0] for tid in common)
    server_ns = sum(after[tid][1] - before[tid][1] for tid in common)
    requests = result.requests or 1
    cell.rates.append(result.rate)
    cell.p50.append(result.percentile_ms(0.50))
    cell.p99.append(result.percentile_ms(0.99))
    cell.switches.append(switched / requests)
    cell.server_cpu_us.append(server_ns / 1e3 / requests)
    cell.load_cpu_us.append(cpu / 1e3 / requests)
    cell.other_cores.append(max(0, machine - server_ns - cpu) / wall)
    cell.errors += result.errors


def installed(kind: str) -> bool:
    return importlib.util.find_spec(SERVER_MODULES[kind]) is not None


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def print_tables(
    kind: str,
    cells: dict[tuple[str, str, str, int], Cell],
    peers: list[str],
    routes: list[str],
    levels: list[int],
    placements: list[str],
) -> None:
    columns = [(route, level) for level in levels for route in routes]
    head = "".join(f" {route} c{level} |" for route, level in columns)
    rule = "| --- |" + " ---: |" * len(columns)
    for placement in placements:
        print(f"\n#### {kind}, {placement}\n")
        print(f"| requests/second |{head}\n{rule}")
        for peer in peers:
            row = "".join(
                f" {median(cells[placement, peer, r, c].rates):,.0f} |" for r, c in columns
            )
            print(f"| {peer} |{row}")
        for top, bottom in RATIOS:
            if top in peers and bottom in peers:
                row = ""
                for route, level in columns:
                    low = median(cells[placement, bottom, route, level].rates)
                    high = median(cells[placement, top, route, level].rates)
                    row += f" **{high / low:.2f}** |" if low else " - |"
                print(f"| {top} / {bottom} |{row}")
        print(f"\n| p50 / p99 ms |{head}\n{rule}")
        for peer in peers:
            row = "".join(
                f" {median(cells[placement, peer, r, c].p50):.2f} / "
                f"{median(cells[placement, peer, r, c].p99):.2f} |"
                for r, c in columns
            )
            print(f"| {peer} |{row}")
        print(f"\n| context switches / request |{head}\n{rule}")
        for peer in peers:
            row = "".join(
                f" {median(cells[placement, peer, r, c].switches):.1f} |" for r, c in columns
            )
            print(f"| {peer} |{row}")
        print(f"\n| server CPU µs / request |{head}\n{rule}")
        for peer in peers:
            row = "".join(
                f" {median(cells[placement, peer, r, c].server_cpu_us):,.0f} |" for r, c in columns
            )
            print(f"| {peer} |{row}")
        if placement != "pinned" and "pinned" in placements:
            spinning = [
                f"{peer} {route} c{level}"
                for peer in peers
                for route, level in columns
                if median(cells[placement, peer, route, level].server_cpu_us)
                > 2 * median(cells["pinned", peer, route, level].server_cpu_us)
            ]
            if spinning:
                print(
                    "\nthe server used more than twice its pinned CPU per request (the server's "
                    f"own loop, not the application; read no ratio there): {', '.join(spinning)}"
                )
        errors = {
            f"{peer} {route} c{level}": cell.errors
            for (where, peer, route, level), cell in cells.items()
            if where == placement and cell.errors
        }
        if errors:
            print(f"\nerrors (non-200 answers, broken or unanswered requests): {errors}")
        spreads = [
            (max(cell.rates) - min(cell.rates)) / median(cell.rates)
            for (where, *_), cell in cells.items()
            if where == placement and len(cell.rates) > 1 and median(cell.rates)
        ]
        if spreads:
            print(f"\nwidest spread of requests/second between rounds: {max(spreads):.0%}")
        load_cpu = [
            median(cell.load_cpu_us) for (where, *_), cell in cells.items() if where == placement
        ]
        print(
            f"load generator CPU per request: {min(load_cpu):.0f} to {max(load_cpu):.0f} µs "
            "(the medians of the cells)"
        )
        other = sorted(
            share
            for (where, *_), cell in cells.items()
            if where == placement
            for share in cell.other_cores
        )
        if other:
            print(
                f"other processes on the machine during the runs: median {median(other):.2f} "
                f"cores, at most {other[-1]:.2f} (over 0.1, the figures above are not a quiet "
                "machine's)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--servers", default=",".join(SERVERS), help="comma-separated servers")
    parser.add_argument("--peers", default=",".join(APPS), help="comma-separated peers")
    parser.add_argument("--routes", default=",".join(ROUTES), help="comma-separated routes")
    parser.add_argument("--connections", default="1,8,32", help="concurrency levels")
    parser.add_argument("--placements", default=",".join(PLACEMENTS), help="pinned,shared")
    parser.add_argument("--duration", type=float, default=1.0, help="seconds of load per run")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; the median is shown")
    parser.add_argument("--threads", type=int, default=4, help="server threads (sync: workers)")
    parser.add_argument(
        "--syscall-seconds",
        "--strace-seconds",
        dest="syscall_seconds",
        type=float,
        default=1.0,
        help="seconds of load while system calls are counted; 0: none",
    )
    parser.add_argument("--json", help="also write every run's figures to this file")
    args = parser.parse_args()
    kinds = [kind for kind in args.servers.split(",") if kind]
    peers = [peer for peer in args.peers.split(",") if peer]
    routes = [route for route in args.routes.split(",") if route]
    levels = [int(level) for level in args.connections.split(",") if level]
    placements = [placement for placement in args.placements.split(",") if placement]
    for given, known, what in (
        (kinds, SERVERS, "servers"),
        (peers, APPS, "peers"),
        (routes, ROUTES, "routes"),
        (placements, PLACEMENTS, "placements"),
    ):
        if unknown := sorted(set(given) - set(known)):
            parser.error(f"unknown {what} {unknown}; choose from {list(known)}")
    if "pinned" in placements and (os.cpu_count() or 1) < 2:
        parser.error("pinning needs 2 cores or more")
    missing = [kind for kind in kinds if not installed(kind)]
    kinds = [kind for kind in kinds if kind not in missing]
    counter = tool() if args.syscall_seconds > 0 else None
    # where waitress's loop does not spin (see above), so its calls are the application's
    counted_in = "pinned" if (os.cpu_count() or 1) >= 2 else "shared"

    print(f"command: {shlex.join(['python', *sys.argv])}")
    print(machine_line())
    print(source_line())
    print(
        f"load: benchmarks/_load.py, keep-alive, 1 thread; {args.threads} server threads "
        f"(gunicorn-sync: {args.threads} workers); median of {args.rounds} rounds of "
        f"{args.duration}s per cell, peers and placements in turns"
    )
    if missing:
        print(f"not installed, left out: {', '.join(missing)}")
    if args.syscall_seconds > 0 and counter is None:
        print(
            "neither perf nor strace can count system calls here (Debian: apt-get install -y "
            "linux-perf, or strace): no system calls"
        )

    everything: dict[str, object] = {}
    for kind in kinds:
        cells: dict[tuple[str, str, str, int], Cell] = {}
        syscalls: dict[str, Syscalls] = {}
        servers: list[Server] = []
        with tempfile.TemporaryDirectory(prefix="cylinder-socket-") as temp:
            try:
                for peer in peers:
                    servers.append(start_server(kind, peer, temp, args.threads))
                for server in servers:
                    check_server(kind, server, routes)
                    for route in routes:  # warm up
                        run_load(server.port, ROUTES[route], 8, 0.2)
                for _ in range(args.rounds):
                    for placement in placements:
                        for server in servers:
                            place(process_tree(server.process.pid), placement)
                        for level in levels:
                            for route in routes:
                                for server in servers:
                                    key = (placement, server.label, route, level)
                                    cell = cells.setdefault(key, Cell())
                                    measure(server, ROUTES[route], level, args.duration, cell)
                if counter:
                    for server in servers:
                        pids = process_tree(server.process.pid)
                        place(pids, counted_in)
                        load = functools.partial(
                            run_load, server.port, ROUTES["root"], 8, args.syscall_seconds, 20
                        )
                        syscalls[server.label] = count(pids, load, counter)
            finally:
                os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
                for server in servers:
                    stop_server(server)
        print_tables(kind, cells, peers, routes, levels, placements)
        if syscalls:
            print(
                f"\n| {kind}: system calls / request (root, c8, {counted_in}, {counter}) "
                "| all | futex |\n| --- | ---: | ---: |"
            )
            for peer, calls in syscalls.items():
                top = sorted(calls.names.items(), key=lambda item: -item[1])[:5]
                shown = ", ".join(f"{name} {number:.1f}" for name, number in top)
                futex = calls.names.get("futex", 0.0)
                print(f"| {peer}: {shown} | {calls.total:.1f} | {futex:.1f} |")
        everything[kind] = {
            "cells": {" ".join(map(str, key)): cell.__dict__ for key, cell in cells.items()},
            "syscalls": {peer: calls.__dict__ for peer, calls in syscalls.items()},
        }
    if args.json:
        with open(args.json, "w", encoding="utf-8") as file:
            json.dump(everything, file, indent=1)


if __name__ == "__main__":
    main()
