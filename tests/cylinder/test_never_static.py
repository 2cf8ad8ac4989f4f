"""DECISIONS.md "The live tree": copies of source and editors' leftovers are never served, end to
end; a site name that is a hidden folder is refused."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest
from conftest import Records
from werkzeug.test import Client

SECRET = "API_KEY = 'sk-live-4242'\n"

ROOT = "def main(response):\n    response.data = 'root handler'\n    return response\n"

#: Every name rule of "The live tree", as editors and tools write them.
REFUSED = (
    "page.ex.get.py~",
    "#page.ex.get.py#",
    "page.ex.get.py.bak",
    "page.ex.get.py.orig",
    "page.ex.get.py.tmp",
    "page.ex.get.py___jb_tmp___",
    "page.ex.get.py___jb_old___",
    "page.ex.get.py.",
    "settings.pyw",
    "types.pyi",
    "settings.PY.save",
    "contact.ex.get",
    "guard.eh.default",
    "notes.txt~",
    "style.css___jb_old___",
)

#: Names that only look like those: served as they are.
SERVED = ("pyramid.svg", "x.python", "a~b.txt", "ex.get", "page.expo.json", "#notes.txt")


@pytest.mark.parametrize("name", REFUSED)
def test_copies_of_source_and_leftovers_are_never_served(
    client_for: Callable[..., Client], name: str
) -> None:
    client = client_for(
        {"webapp1.ex.get.py": ROOT, f"webapp1/{name}": SECRET, f"webapp1/sub/{name}": SECRET}
    )

    for path in (f"/{quote(name)}", f"/sub/{quote(name)}"):
        for method in ("GET", "HEAD"):
            response = client.open(path, method=method)
            assert b"sk-live" not in response.data
            assert response.status_code == 200
            assert response.headers["Content-Length"] == "12"  # the root handler's answer
        assert client.get(path).text == "root handler"


@pytest.mark.parametrize("name", REFUSED)
def test_refused_name_with_no_handler_is_a_404(
    client_for: Callable[..., Client], name: str
) -> None:
    client = client_for({f"webapp1/{name}": SECRET, "webapp1/ok.txt": "fine"})

    response = client.get(f"/{quote(name)}")

    assert response.status_code == 404
    assert b"sk-live" not in response.data
    assert client.get("/ok.txt").text == "fine"


@pytest.mark.parametrize("name", SERVED)
def test_look_alike_names_are_served(client_for: Callable[..., Client], name: str) -> None:
    client = client_for({"webapp1.ex.get.py": ROOT, f"webapp1/{name}": "static text"})

    response = client.get(f"/{quote(name)}")

    assert response.status_code == 200
    assert response.text == "static text"


def test_a_link_to_a_backup_copy_is_not_served(
    client_for: Callable[..., Client], sites: Path
) -> None:
    client = client_for({"webapp1.ex.get.py": ROOT, "webapp1/page.ex.get.py~": SECRET})
    (sites / "webapp1" / "notes.txt").symlink_to("page.ex.get.py~")

    response = client.get("/notes.txt")

    assert response.text == "root handler"


@pytest.mark.parametrize("site_name", [".git", ".env", "__pycache__"])
def test_app_map_may_not_name_a_hidden_folder(
    client_for: Callable[..., Client], sites: Path, records: Records, site_name: str
) -> None:
    (sites / site_name).mkdir()
    (sites / site_name / "config").write_text(SECRET)
    folder = str(sites)

    def app_map(request: object) -> tuple[str, str]:
        return folder, site_name

    client = client_for(app_map=app_map)
    response = client.get("/config")

    assert response.status_code == 500
    assert b"sk-live" not in response.data
    errors = [r for r in records.records if r.exc_info is not None]
    assert errors, records.messages()
    assert "must be a plain folder name: not starting with `.`, not `__pycache__`" in str(
        errors[0].exc_info[1]  # type: ignore[index]
    )
