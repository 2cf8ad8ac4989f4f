"""Spec: "Why there are no index files" — a segment is both a folder and a file name."""

from __future__ import annotations

from collections.abc import Callable

from werkzeug.test import Client


def test_each_level_is_handled_by_a_file_named_after_it(
    client_for: Callable[..., Client], answer: Callable[[str], str]
) -> None:
    client = client_for(
        {
            "webapp1.ex.get.py": answer("root"),
            "webapp1/API/v2/reports.ex.get.py": answer("reports"),
            "webapp1/API/v2/reports/company.ex.get.py": answer("company"),
            "webapp1/API/v2/reports/company/payments.ex.get.py": answer("payments"),
        }
    )
    assert client.get("/API/v2/reports").text == "reports"
    assert client.get("/API/v2/reports/company").text == "company"
    assert client.get("/API/v2/reports/company/payments").text == "payments"
    assert client.get("/API/v2").text == "root"


def test_put_file_or_default_beside_payments(
    client_for: Callable[..., Client], answer: Callable[[str], str]
) -> None:
    client = client_for(
        {
            "webapp1/API/v2/reports/company/payments.ex.get.py": answer("get"),
            "webapp1/API/v2/reports/company/payments.ex.put.py": answer("put"),
        }
    )
    assert client.put("/API/v2/reports/company/payments").text == "put"


def test_an_index_file_is_just_a_segment_named_index(
    client_for: Callable[..., Client], answer: Callable[[str], str]
) -> None:
    client = client_for(
        {
            "webapp1/docs.ex.get.py": answer("docs"),
            "webapp1/docs/index.ex.get.py": answer("index"),
        }
    )
    assert client.get("/docs").text == "docs"
    assert client.get("/docs/").text == "docs"
    assert client.get("/docs/index").text == "index"
