"""Helpers shared by the `cylinder` command's tests (on sys.path through pytest.ini)."""

from __future__ import annotations

import re
import selectors
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

HANDLER = "def main(response):\n    return response\n"

#: The layout of the spec's "How requests are matched" example, below `my_webapps/`.
SPEC_SITE = (
    "webapp1.ex.get.py",
    "webapp1.400.py",
    "webapp1/foo.eh.get.py",
    "webapp1/foo.ex.default.py",
    "webapp1/foo.lh.get.py",
    "webapp1/foo/bar.ex.get.py",
    "webapp1/foo/bar.ex.post.py",
    "webapp1/foo/bar.txt",
    "webapp1/foo/bar.400.py",
)


def cylinder(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run `python -m cylinder ARGS` to the end, within a minute."""
    return subprocess.run(
        [sys.executable, "-m", "cylinder", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def build(root: Path, names: Iterable[str]) -> Path:
    """Create each file below `root`: a `.py` file as a minimal `main`, others as text."""
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(HANDLER if name.endswith(".py") else f"{name}\n")
    return root


#: Seconds to wait for a server to print its URL, and to stop after a signal.
STARTUP_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0

URL_LINE = re.compile(r"Serving (?P<target>.+) on (?P<url>http://127\.0\.0\.1:(?P<port>\d+))\n")


@contextmanager
def serving(
    *args: str | Path, cwd: Path | None = None, log: Path
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Start `cylinder serve ARGS --port 0`; yield the process and the URL it printed.

    The server's stderr goes to `log`. Whatever happens, the process is gone on exit.
    """
    with (
        log.open("w") as stderr,
        subprocess.Popen(
            [sys.executable, "-m", "cylinder", "serve", *map(str, args), "--port", "0"],
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        ) as process,
    ):
        try:
            yield process, read_url(process, log)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=STOP_TIMEOUT)


def read_url(process: subprocess.Popen[str], log: Path) -> str:
    """The URL in the first line the server prints, waiting at most `STARTUP_TIMEOUT`."""
    assert process.stdout is not None
    deadline = time.monotonic() + STARTUP_TIMEOUT
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while (left := deadline - time.monotonic()) > 0:
            if selector.select(timeout=left):
                line = process.stdout.readline()
                assert line, f"the server exited with {process.wait()}: {log.read_text()}"
                match = URL_LINE.fullmatch(line)
                assert match is not None, f"unexpected first line {line!r}"
                return match["url"]
    raise AssertionError(f"no URL printed within {STARTUP_TIMEOUT} s: {log.read_text()}")


def stop(process: subprocess.Popen[str], signum: int) -> int:
    """Send `signum` and return the exit code, which must come within `STOP_TIMEOUT`."""
    process.send_signal(signum)
    return process.wait(timeout=STOP_TIMEOUT)
