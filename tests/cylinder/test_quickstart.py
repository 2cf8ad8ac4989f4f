"""Spec: "Quickstart" and "Implementing pages"."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from server_support import free_port
from werkzeug.test import Client

REPO = Path(__file__).resolve().parents[2]

HELLO = """
def main(response):
    response.data = "Hello World!"
    return response
"""

BAR = """
def main(response):
    response.data = "Hello Bar!"
    return response
"""


def test_root_handler_answers_get_slash(client_for: Callable[..., Client]) -> None:
    client = client_for({"webapp1.ex.get.py": HELLO})
    response = client.get("/")
    assert response.status_code == 200
    assert response.text == "Hello World!"


def test_root_handler_also_answers_deeper_paths(client_for: Callable[..., Client]) -> None:
    client = client_for({"webapp1.ex.get.py": HELLO})
    assert client.get("/foo/bar").text == "Hello World!"


def test_more_specific_file_takes_over_its_path(client_for: Callable[..., Client]) -> None:
    client = client_for({"webapp1.ex.get.py": HELLO, "webapp1/foo/bar.ex.get.py": BAR})
    assert client.get("/foo/bar").text == "Hello Bar!"
    assert client.get("/foo").text == "Hello World!"
    assert client.get("/foo/baz").text == "Hello World!"


def test_site_folder_need_not_exist_for_a_root_only_site(
    client_for: Callable[..., Client], sites: Path
) -> None:
    client = client_for({"webapp1.ex.get.py": HELLO})
    assert not (sites / "webapp1").exists()
    assert client.get("/anything").status_code == 200


def test_quickstart_as_a_newcomer_types_it(tmp_path: Path) -> None:
    """pip install the local packages and waitress into a fresh venv, write cylinder_main.py
    and one handler, and get "Hello World!" over a real socket."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    packages = [
        str(REPO / "packages" / name)
        for name in ("cylinder-router", "cylinder-logging", "cylinder-runtime", "cylinder")
    ]
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", *packages, "waitress"],
        check=True,
        timeout=300,
        env=env,
    )
    shown = subprocess.run(
        [
            str(python),
            "-c",
            "import cylinder, cylinder_runtime; print(cylinder.__version__, "
            "cylinder_runtime.__file__)",
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert shown.startswith("0.3.0 ")  # the local package, never the original 0.2.2 on PyPI
    assert str(venv) in shown

    project = tmp_path / "cylinder_sites"
    (project / "my_webapps").mkdir(parents=True)
    (project / "my_webapps" / "webapp1.ex.get.py").write_text(textwrap.dedent(HELLO))
    port = free_port()
    (project / "cylinder_main.py").write_text(
        textwrap.dedent(f"""
        import cylinder
        import waitress

        def main():
            app = cylinder.get_app(app_map)
            waitress.serve(app, host="127.0.0.1", port={port})

        def app_map(request):
            return "my_webapps", "webapp1", {{}}

        if __name__ == "__main__":
            main()
    """)
    )
    server = subprocess.Popen(
        [str(python), "cylinder_main.py"],
        cwd=project,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        body = b""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as reply:
                    assert reply.status == 200
                    body = reply.read()
                    break
            except OSError:
                time.sleep(0.1)
        assert body == b"Hello World!"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
