"""Regenerate docs/debug-page.png: the debug page, as a browser shows it, from a real server.

It writes a small site with a bug into a temporary folder, serves it with
``cylinder serve SITE --debug --port 0`` (waitress on 127.0.0.1), asks for the failing page
with headless Chromium, saves the screenshot, and stops the server. Not part of the test suite.

Needs Cylinder installed (``pip install -e packages/...`` as the README says) and Debian's
``chromium`` (``apt-get install -y chromium``). Run it from anywhere::

    python scripts/debug_screenshot.py [--output docs/debug-page.png]
"""

from __future__ import annotations

import argparse
import os
import re
import selectors
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: The demo site: an order page whose helper looks up a key that is not there.
SITE = {
    "webapp1/orders.ex.get.py": '''\
        """GET /orders?id=N: one order, from a table kept in memory."""

        ORDERS = {
            "1": {"item": "teapot", "quantity": 2},
            "2": {"item": "cups", "quantity": 6},
        }


        def describe(order_id):
            order = ORDERS[order_id]
            return f"{order['quantity']} x {order['item']}"


        def main(request, response):
            order_id = request.args.get("id", "1")
            response.set_data(describe(order_id))
            return response
        ''',
}

#: The request the screenshot shows.
PATH = "/orders?id=7"

#: Seconds to wait for the server to start, for Chromium to finish, and for the server to stop.
START_TIMEOUT = 30.0
BROWSER_TIMEOUT = 120.0
STOP_TIMEOUT = 15.0

_URL_LINE = re.compile(r"Serving .+ on (http://127\.0\.0\.1:\d+)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--output", type=Path, default=ROOT / "docs" / "debug-page.png", help="the PNG to write"
    )
    parser.add_argument("--width", type=int, default=1200)
    parser.add_argument("--height", type=int, default=1100)
    args = parser.parse_args()
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        print("debug_screenshot: no `chromium`: apt-get install -y chromium", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="cylinder-debug-") as folder:
        project = Path(folder) / "shop"
        for name, source in SITE.items():
            path = project / "my_webapps" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(source), encoding="utf-8")
        command = [sys.executable, "-m", "cylinder", "serve", "my_webapps/webapp1", "--debug"]
        server = subprocess.Popen(
            [*command, "--port", "0"],
            cwd=project,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            url = _server_url(server) + PATH
            _screenshot(browser, url, args.output, args.width, args.height, Path(folder))
        finally:
            server.terminate()
            try:
                server.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=STOP_TIMEOUT)
            if server.stdout is not None:
                server.stdout.close()
    print(f"wrote {args.output}")
    return 0


def _server_url(server: subprocess.Popen[str]) -> str:
    """The URL in the one line the server prints once it listens."""
    assert server.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(server.stdout, selectors.EVENT_READ)
        if not selector.select(timeout=START_TIMEOUT):
            raise SystemExit(f"debug_screenshot: no server within {START_TIMEOUT} s")
    line = server.stdout.readline()
    match = _URL_LINE.match(line)
    if match is None:
        raise SystemExit(f"debug_screenshot: the server did not start: {line!r}")
    return match[1]


def _screenshot(browser: str, url: str, output: Path, width: int, height: int, home: Path) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    command = [
        browser,
        "--headless",
        "--disable-gpu",
        "--hide-scrollbars",
        f"--user-data-dir={home / 'chromium'}",
        f"--window-size={width},{height}",
        f"--screenshot={output.resolve()}",
        url,
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.insert(1, "--no-sandbox")  # Chromium's sandbox refuses to run as root
    subprocess.run(
        command,
        check=True,
        timeout=BROWSER_TIMEOUT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "HOME": str(home)},
    )


if __name__ == "__main__":
    sys.exit(main())
