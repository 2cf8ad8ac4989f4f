"""Spec: "Thread safety" — many threads, per-request g, reload under load."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cylinder

ECHO_G = """
import time

def main(request, response, g):
    g.mine = request.args["n"]
    time.sleep(0.001)
    response.data = g.mine + " " + g.early
    return response
"""

EARLY = """
def main(request, response, g):
    g.early = request.args["n"]
    return response
"""


def test_g_is_never_shared_between_concurrent_requests(
    make_app: Callable[..., cylinder.Application],
) -> None:
    app = make_app({"webapp1.ex.get.py": ECHO_G, "webapp1.eh.get.py": EARLY})

    def one(n: int) -> bool:
        response = app.test_client().get(f"/?n={n}")
        return response.text == f"{n} {n}"

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(one, range(400)))
    assert all(results)


def test_shared_lock_from_app_map_protects_state(
    make_app: Callable[..., cylinder.Application],
) -> None:
    counter = {"n": 0}
    app = make_app(
        {
            "webapp1.ex.post.py": """
            def main(response, lock, counter):
                with lock:
                    value = counter["n"]
                    counter["n"] = value + 1
                return response
        """
        },
        extras={"lock": threading.Lock(), "counter": counter},
    )
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda _: app.test_client().post("/"), range(300)))
    assert counter["n"] == 300


VERSIONED = """
import time
VERSION = {version}
time.sleep(0.002)  # a slow top level: a half-loaded module would show READY False
READY = True

def main(response):
    response.data = f"{{VERSION}} {{READY}}"
    return response
"""


def test_reload_under_concurrent_load_never_gives_a_half_loaded_module(
    make_app: Callable[..., cylinder.Application], sites: Path
) -> None:
    path = sites / "webapp1.ex.get.py"
    app = make_app({"webapp1.ex.get.py": VERSIONED.format(version=0)})
    stop = threading.Event()
    answers: list[tuple[int, str]] = []
    lock = threading.Lock()

    def hammer() -> None:
        client = app.test_client()
        while not stop.is_set():
            response = client.get("/")
            with lock:
                answers.append((response.status_code, response.text))

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    try:
        for version in range(1, 30):
            temporary = sites / "next.tmp"
            temporary.write_text(VERSIONED.format(version=version))
            os.replace(temporary, path)  # an atomic edit, as editors and deploys do
            threading.Event().wait(0.01)
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
    assert answers
    assert {status for status, _ in answers} == {200}
    assert all(text.endswith(" True") for _, text in answers)
    versions = {int(text.split()[0]) for _, text in answers}
    assert len(versions) > 1
    assert app.test_client().get("/").text == "29 True"
