"""System calls per request of a server under load, for ``real_socket.py``.

Two counters, both run from outside the server while a load of ``_load.py`` runs:

- ``perf stat`` on the ``syscalls:sys_enter_*`` tracepoints: the kernel counts, the server's
  threads never stop, so what is counted is what the server does without it. Needs ``perf``
  (Debian: ``linux-perf``) and tracepoints this user may read (root, or a low
  ``kernel.perf_event_paranoid``). It counts the threads there when it starts (the runner warms
  every server up first), not ones started during the load.
- ``strace -c -f``, where ``perf`` cannot count: every system call stops the thread for the
  tracer, so the server runs several times slower and its GIL hand-offs are contended far more
  than without it. Its ``futex`` counts are mostly strace's (measured on waitress, root, 8
  connections: 27-45 per request under strace, 3-5 under perf); compare them between peers only.

``perf`` is started with its counters off and turned on through its control FIFO once it has
attached to every thread, so no request runs uncounted and nothing from before the load counts.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from _load import LoadResult

#: How long ``perf`` may take to attach to every thread (thousands of counters) or to stop.
PERF_TIMEOUT = 120.0


@dataclass
class Syscalls:
    """System calls per request: ``total``, and by name; ``tool`` says which counter counted."""

    tool: str
    total: float = 0.0
    names: dict[str, float] = field(default_factory=dict)


def tool() -> str | None:
    """``perf`` where it can count system calls here, else ``strace`` where installed, else
    ``None``."""
    if shutil.which("perf") and _perf_works():
        return "perf"
    return "strace" if shutil.which("strace") else None


def _perf_works() -> bool:
    try:
        done = subprocess.run(
            ["perf", "stat", "-x", ",", "-e", "syscalls:sys_enter_getpid", "true"],
            capture_output=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and b"syscalls:sys_enter_getpid" in done.stderr


def count(pids: list[int], load: Callable[[], LoadResult], counter: str) -> Syscalls:
    """Run ``load`` while ``counter`` (``perf`` or ``strace``) counts the system calls of
    ``pids`` (every thread of each); per request of the load.

    :raises RuntimeError: when the counter could not attach or stop, with what it said.
    """
    with tempfile.TemporaryDirectory(prefix="cylinder-syscalls-") as temp:
        if counter == "perf":
            calls, result = _perf(pids, load, temp)
        else:
            calls, result = _strace(pids, load, temp)
    requests = result.requests or 1
    total = calls.pop("total", sum(calls.values()))
    return Syscalls(counter, total / requests, {name: n / requests for name, n in calls.items()})


def _perf(
    pids: list[int], load: Callable[[], LoadResult], temp: str
) -> tuple[dict[str, int], LoadResult]:
    control, ack, out = (os.path.join(temp, name) for name in ("control", "ack", "out"))
    os.mkfifo(control)
    os.mkfifo(ack)
    command = [
        "perf", "stat", "-x", ",", "-o", out, "-D", "-1", "--control", f"fifo:{control},{ack}",
        "-e", "syscalls:sys_enter_*", "-p", ",".join(map(str, pids)),
    ]  # fmt: skip
    # Opened read-write, neither open waits for perf; perf opens them the same way.
    control_fd = os.open(control, os.O_RDWR)
    ack_fd = os.open(ack, os.O_RDWR | os.O_NONBLOCK)
    counter = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:

        def tell(what: str) -> None:
            os.write(control_fd, f"{what}\n".encode())
            deadline = time.monotonic() + PERF_TIMEOUT
            answer = b""
            while b"ack" not in answer:
                left = deadline - time.monotonic()
                if left <= 0 or counter.poll() is not None:
                    raise RuntimeError(f"perf did not {what} its counters: {command}")
                if select.select([ack_fd], [], [], min(left, 0.5))[0]:
                    answer += os.read(ack_fd, 64)

        tell("enable")  # answered once perf has attached to every thread
        result = load()
        tell("disable")
    finally:
        counter.send_signal(signal.SIGINT)
        try:
            _, errors = counter.communicate(timeout=PERF_TIMEOUT)
        except subprocess.TimeoutExpired:
            counter.kill()
            _, errors = counter.communicate()
        os.close(control_fd)
        os.close(ack_fd)
    calls: dict[str, int] = {}
    prefix = "syscalls:sys_enter_"
    with open(out, encoding="utf-8", errors="replace") as file:
        for line in file:
            parts = line.strip().split(",")
            counted = len(parts) > 2 and parts[0].isdigit() and parts[2].startswith(prefix)
            if counted and int(parts[0]):
                calls[parts[2].removeprefix(prefix)] = int(parts[0])
    if not calls:
        raise RuntimeError(f"perf counted nothing: {command}\n{errors.decode()[-500:]}")
    return calls, result


def _strace(
    pids: list[int], load: Callable[[], LoadResult], temp: str
) -> tuple[dict[str, int], LoadResult]:
    summary = os.path.join(temp, "strace")
    command = ["strace", "-c", "-f", "-o", summary]
    for pid in pids:
        command += ["-p", str(pid)]
    tracer = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.0)  # attached to every thread
        result = load()
    finally:
        tracer.send_signal(signal.SIGINT)
        try:
            tracer.wait(30)
        except subprocess.TimeoutExpired:
            tracer.kill()
            tracer.wait(5)
    calls: dict[str, int] = {}
    with open(summary, encoding="utf-8", errors="replace") as file:
        for line in file:
            parts = line.split()
            if len(parts) >= 5 and parts[0].replace(".", "").isdigit() and parts[3].isdigit():
                calls[parts[-1]] = int(parts[3])
    return calls, result
