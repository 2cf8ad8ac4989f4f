"""Spec: "How requests are matched" — the worked example, flows and error-handler choice."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from werkzeug.test import Client

TRACE = """
def main(response, g):
    g.trace = [*getattr(g, "trace", []), {name!r}]
    response.headers["X-Trace"] = ",".join(g.trace)
    return response
"""

ANSWER = """
def main(response, g, request, abort):
    g.trace = [*getattr(g, "trace", []), {name!r}]
    response.headers["X-Trace"] = ",".join(g.trace)
    if request.args.get("fail"):
        abort(400)
    response.data = {name!r}
    return response
"""

ERROR = """
def main(response, g, e):
    g.trace = [*getattr(g, "trace", []), {name!r}]
    response.headers["X-Trace"] = ",".join(g.trace)
    response.data = {name!r} + " " + str(e.code)
    return response
"""

SITE = {
    "webapp1.ex.get.py": ANSWER.format(name="webapp1.ex.get"),
    "webapp1.400.py": ERROR.format(name="webapp1.400"),
    "webapp1/foo.eh.get.py": TRACE.format(name="foo.eh.get"),
    "webapp1/foo.ex.default.py": ANSWER.format(name="foo.ex.default"),
    "webapp1/foo.lh.get.py": TRACE.format(name="foo.lh.get"),
    "webapp1/foo/bar.ex.get.py": ANSWER.format(name="bar.ex.get"),
    "webapp1/foo/bar.ex.post.py": ANSWER.format(name="bar.ex.post"),
    "webapp1/foo/bar.txt": "a static file\n",
    "webapp1/foo/bar.400.py": ERROR.format(name="bar.400"),
}


def test_example_requests_match_as_listed(client_for: Callable[..., Client]) -> None:
    client = client_for(SITE)
    assert client.get("/foo/bar").text == "bar.ex.get"
    assert client.post("/foo/bar").text == "bar.ex.post"
    assert client.put("/foo/bar").text == "foo.ex.default"
    assert client.get("/foo/bar.txt").text == "a static file\n"
    assert client.get("/anything-else").text == "webapp1.ex.get"


def test_full_flow_of_get_foo_bar(client_for: Callable[..., Client]) -> None:
    response = client_for(SITE).get("/foo/bar")
    assert response.headers["X-Trace"] == "foo.eh.get,bar.ex.get,foo.lh.get"


def test_abort_400_uses_most_specific_400_handler(client_for: Callable[..., Client]) -> None:
    response = client_for(SITE).get("/foo/bar?fail=1")
    assert response.status_code == 400
    assert response.text == "bar.400 400"
    assert response.headers["X-Trace"] == "foo.eh.get,bar.ex.get,bar.400,foo.lh.get"


def test_without_bar_400_the_site_400_handles_it(
    client_for: Callable[..., Client], sites: Path
) -> None:
    client = client_for(SITE)
    (sites / "webapp1" / "foo" / "bar.400.py").unlink()
    response = client.get("/foo/bar?fail=1")
    assert response.status_code == 400
    assert response.text == "webapp1.400 400"


def test_hooks_run_around_static_files(client_for: Callable[..., Client]) -> None:
    with client_for(SITE).get("/foo/bar.txt") as response:
        assert response.headers["X-Trace"] == "foo.eh.get,foo.lh.get"


def test_more_specific_path_wins_and_exact_method_beats_default(
    client_for: Callable[..., Client],
) -> None:
    client = client_for({**SITE, "webapp1/foo.ex.put.py": ANSWER.format(name="foo.ex.put")})
    assert client.put("/foo/bar").text == "foo.ex.put"
    assert client.delete("/foo/bar").text == "foo.ex.default"
