"""Spec: "Hooks" — nearest early and late hook run around the handler."""

from __future__ import annotations

from collections.abc import Callable

from werkzeug.test import Client

MARK = """
def main(response, g):
    g.trace = [*getattr(g, "trace", []), {name!r}]
    response.headers["X-Trace"] = ",".join(g.trace)
    return response
"""

SITE = {
    "webapp1.ex.get.py": MARK.format(name="webapp1.ex.get"),
    "webapp1/API/v2.lh.get.py": MARK.format(name="v2.lh.get"),
    "webapp1/API/v2/reports.eh.get.py": MARK.format(name="reports.eh.get"),
    "webapp1/API/v2/reports.ex.get.py": MARK.format(name="reports.ex.get"),
    "webapp1/API/v2/reports/company.ex.get.py": MARK.format(name="company.ex.get"),
    "webapp1/API/v2/reports/company/payments.ex.get.py": MARK.format(name="payments.ex.get"),
    "webapp1/API/v2/users.ex.get.py": MARK.format(name="users.ex.get"),
}


def test_flow_under_reports_company(client_for: Callable[..., Client]) -> None:
    client = client_for(SITE)
    trace = client.get("/API/v2/reports/company/anything").headers["X-Trace"]
    assert trace == "reports.eh.get,company.ex.get,v2.lh.get"


def test_flow_for_users(client_for: Callable[..., Client]) -> None:
    client = client_for(SITE)
    assert client.get("/API/v2/users").headers["X-Trace"] == "users.ex.get,v2.lh.get"


def test_hooks_do_not_chain_nearest_runs_alone(client_for: Callable[..., Client]) -> None:
    client = client_for(
        {
            **SITE,
            "webapp1.eh.get.py": MARK.format(name="root.eh.get"),
            "webapp1/API/v2/reports/company.eh.get.py": MARK.format(name="company.eh.get"),
        }
    )
    trace = client.get("/API/v2/reports/company/payments").headers["X-Trace"]
    assert trace == "company.eh.get,payments.ex.get,v2.lh.get"
    assert client.get("/").headers["X-Trace"] == "root.eh.get,webapp1.ex.get"


def test_hooks_follow_the_method(client_for: Callable[..., Client]) -> None:
    client = client_for(
        {
            **SITE,
            "webapp1/API/v2/users.ex.post.py": MARK.format(name="users.ex.post"),
            "webapp1/API/v2.lh.post.py": MARK.format(name="v2.lh.post"),
        }
    )
    assert client.post("/API/v2/users").headers["X-Trace"] == "users.ex.post,v2.lh.post"


def test_late_hook_gets_the_last_word(client_for: Callable[..., Client]) -> None:
    client = client_for(
        {
            "webapp1/API/v2.lh.get.py": """
            def main(response):
                response.headers["Content-Security-Policy"] = "default-src 'self';"
                return response
        """,
            "webapp1/API/v2/reports/company.ex.get.py": """
            def main(response):
                response.headers["Content-Security-Policy"] = "default-src *"
                return response
        """,
        }
    )
    response = client.get("/API/v2/reports/company")
    assert response.headers.getlist("Content-Security-Policy") == ["default-src 'self';"]
