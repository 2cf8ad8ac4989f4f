"""Application: checks at construction, request ids, its own logger, and closing it."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from records_support import Records
from werkzeug.exceptions import HTTPException

from cylinder_runtime import Application

#: Every wait in these tests gives up after this many seconds.
TIMEOUT = 10.0

HANDLER = """\
def main(request, response, log):
    log.info("handled %s", request.path)
    response.set_data("ok")
    return response
"""


MakeApp = Callable[..., Application]


@pytest.fixture
def site(tmp_path: Path) -> Callable[[], tuple[str, str]]:
    (tmp_path / "site.ex.get.py").write_text(HANDLER, encoding="utf-8")

    def app_map() -> tuple[str, str]:
        return str(tmp_path), "site"

    return app_map


def log_threads(app: Application) -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.endswith(app.logger.name)]


@pytest.mark.parametrize("app_map", [42, "app_map", None, ("dir", "site")])
def test_non_callable_app_map_is_refused(app_map: object) -> None:
    with pytest.raises(TypeError, match=r"^`app_map` must be a callable"):
        Application(app_map)  # type: ignore[arg-type]


def test_app_map_asking_for_an_unknown_parameter_is_refused() -> None:
    def app_map(request: object, database: object) -> tuple[str, str]:
        return ".", "site"

    message = (
        "`app_map` asks for `database`, which no one provides; "
        "available: request, response, log, abort, g"
    )
    with pytest.raises(TypeError, match=re.escape(message) + "$"):
        Application(app_map)


def test_app_map_with_a_misspelt_parameter_gets_a_suggestion() -> None:
    def app_map(requets: object) -> tuple[str, str]:
        return ".", "site"

    with pytest.raises(TypeError, match=r"asks for `requets`.*\(did you mean `request`\?\)"):
        Application(app_map)


def test_app_map_may_not_ask_for_e() -> None:
    def app_map(e: object) -> tuple[str, str]:
        return ".", "site"

    with pytest.raises(TypeError, match=r"`app_map` asks for `e`"):
        Application(app_map)


def test_app_map_without_a_signature_is_refused() -> None:
    with pytest.raises(TypeError, match=r"`app_map`: cannot read the signature"):
        Application(next)


def test_app_map_parameter_with_a_default_is_accepted(make_app: MakeApp, tmp_path: Path) -> None:
    (tmp_path / "site.ex.get.py").write_text(HANDLER, encoding="utf-8")
    seen: list[object] = []

    def app_map(g: object, database: object = "default db") -> tuple[str, str]:
        seen.append(database)
        return str(tmp_path), "site"

    app = make_app(app_map, log_handler=Records())

    with app.test_client().get("/") as response:
        assert response.status_code == 200
    assert seen == ["default db"]


@pytest.mark.parametrize(
    ("abort_extra", "message"),
    [
        ([(507, HTTPException)], "`abort_extra` must be a mapping"),
        ({"507": HTTPException}, "`abort_extra` key '507' must be a status code"),
        ({507: ValueError}, r"`abort_extra\[507\]` must be a subclass"),
    ],
)
def test_bad_abort_extra_is_refused(
    site: Callable[[], tuple[str, str]], abort_extra: object, message: str
) -> None:
    with pytest.raises(TypeError, match=message):
        Application(site, abort_extra=abort_extra)  # type: ignore[arg-type]


@pytest.mark.parametrize("header", ["", 5, None])
def test_bad_request_id_header_is_refused(
    site: Callable[[], tuple[str, str]], header: object
) -> None:
    with pytest.raises(TypeError, match="`request_id_header` must be a header name"):
        Application(site, request_id_header=header)  # type: ignore[arg-type]


def test_refused_application_starts_no_log_thread(site: Callable[[], tuple[str, str]]) -> None:
    before = set(threading.enumerate())

    with pytest.raises(TypeError):
        Application(site, abort_extra=[])  # type: ignore[arg-type]

    assert set(threading.enumerate()) <= before


def test_request_id_header_is_honoured(
    make_app: MakeApp, site: Callable[[], tuple[str, str]]
) -> None:
    collector = Records()
    app = make_app(site, log_handler=collector, request_id_header="X-Trace-Token")

    with app.test_client().get("/", headers={"X-Trace-Token": "trace-42"}) as response:
        assert response.status_code == 200

    assert collector.messages()[0] == "handled /"
    assert re.fullmatch(r"GET / 200 [\d.]+ms", collector.messages()[1])
    assert [record.request_id for record in collector.records] == ["trace-42", "trace-42"]


def test_default_header_is_not_read_when_another_is_configured(
    make_app: MakeApp, site: Callable[[], tuple[str, str]]
) -> None:
    collector = Records()
    app = make_app(site, log_handler=collector, request_id_header="X-Trace-Token")

    with app.test_client().get("/", headers={"X-Request-ID": "not-this-one"}):
        pass

    ids = {record.request_id for record in collector.records}
    assert len(ids) == 1
    assert "not-this-one" not in ids


def test_default_request_id_header(make_app: MakeApp, site: Callable[[], tuple[str, str]]) -> None:
    collector = Records()
    app = make_app(site, log_handler=collector)

    # A server passes on what the client sent; control characters could forge log lines.
    forged = {"HTTP_X_REQUEST_ID": "abc\r\nERROR \x1b[31mforged"}
    with app.test_client().get("/", environ_overrides=forged):
        pass

    assert {record.request_id for record in collector.records} == {"abcERROR [31mforged"}


def test_request_id_is_generated_per_request_without_the_header(
    make_app: MakeApp, site: Callable[[], tuple[str, str]]
) -> None:
    collector = Records()
    app = make_app(site, log_handler=collector)
    client = app.test_client()

    for _ in range(2):
        with client.get("/"):
            pass

    ids = [record.request_id for record in collector.records]
    assert len(ids) == 4
    assert ids[0] == ids[1] != ids[2] == ids[3]
    assert all(re.fullmatch(r"[0-9a-f]{32}", request_id) for request_id in ids)


def test_log_is_the_application_logger(make_app: MakeApp, tmp_path: Path) -> None:
    (tmp_path / "site.ex.get.py").write_text(
        "def main(response, log):\n    response.set_data(log.name)\n    return response\n",
        encoding="utf-8",
    )
    app = make_app(lambda: (str(tmp_path), "site"), log_handler=Records())

    with app.test_client().get("/") as response:
        assert response.get_data(as_text=True) == app.logger.name


def test_close_stops_the_log_thread(make_app: MakeApp, site: Callable[[], tuple[str, str]]) -> None:
    collector = Records()
    app = make_app(site, log_handler=collector)
    assert len(log_threads(app)) == 1
    [thread] = log_threads(app)

    app.logger.info("before close")
    app.close()

    thread.join(TIMEOUT)
    assert not thread.is_alive()
    assert collector.messages() == ["before close"]  # flushed first
    app.logger.info("after close")
    assert collector.messages() == ["before close"]
    assert app.dropped_log_records == 1
    app.close()  # a second close does nothing


def test_two_applications_keep_their_logs_apart(
    make_app: MakeApp, site: Callable[[], tuple[str, str]]
) -> None:
    first, second = Records(), Records()
    app_1 = make_app(site, log_handler=first)
    app_2 = make_app(site, log_handler=second)

    assert app_1.logger is not app_2.logger
    assert app_1.logger.name != app_2.logger.name
    assert log_threads(app_1) != log_threads(app_2)

    with app_1.test_client().get("/", headers={"X-Request-ID": "one"}):
        pass
    with app_2.test_client().get("/", headers={"X-Request-ID": "two"}):
        pass
    app_1.logger.warning("only the first")

    assert app_1.drain_logs(TIMEOUT)
    assert {record.request_id for record in first.records} == {"one", "-"}
    assert {record.request_id for record in second.records} == {"two"}
    # the access records are named after their application's logger too
    for app, collector in ((app_1, first), (app_2, second)):
        names = {record.name for record in collector.records}
        assert f"{app.logger.name}.access" in names
        assert names <= {app.logger.name, f"{app.logger.name}.access"}
    assert "only the first" not in second.messages()


def test_closing_one_application_leaves_the_other_logging(
    make_app: MakeApp, site: Callable[[], tuple[str, str]]
) -> None:
    second = Records()
    app_1 = make_app(site, log_handler=Records())
    app_2 = make_app(site, log_handler=second)

    app_1.close()

    with app_2.test_client().get("/", headers={"X-Request-ID": "two"}):
        pass
    assert {record.request_id for record in second.records} == {"two"}


def test_log_level_applies_to_the_application_logger(
    make_app: MakeApp, site: Callable[[], tuple[str, str]]
) -> None:
    collector = Records()
    app = make_app(site, log_handler=collector, log_level=logging.WARNING)

    with app.test_client().get("/"):
        pass

    assert collector.records == []  # the handler's INFO and the access record are below it


def test_exit_is_not_held_up_by_a_slow_log_handler(tmp_path: Path) -> None:
    script = tmp_path / "slow_exit.py"
    script.write_text(
        textwrap.dedent(
            """\
            import logging
            import time

            import cylinder_logging.service
            from cylinder_runtime import Application

            cylinder_logging.service.EXIT_FLUSH_TIMEOUT = 0.2

            class Slow(logging.Handler):
                def emit(self, record):
                    time.sleep(0.1)

            app = Application(lambda: (".", "site"), log_handler=Slow())
            for n in range(100):  # ten seconds of handling
                app.logger.warning("record %d", n)
            """
        ),
        encoding="utf-8",
    )

    # Bounded, exit takes well under a second; unbounded, ten.
    completed = subprocess.run([sys.executable, str(script)], timeout=4, check=False)

    assert completed.returncode == 0


def inotify_descriptors() -> int:
    """How many inotify instances this process holds open."""
    count = 0
    for name in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{name}") == "anon_inode:inotify"
        except OSError:  # the descriptor of the listing itself, already closed
            continue
    return count


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify is Linux's")
def test_watch_opens_with_the_first_request_and_close_releases_it(
    make_app: MakeApp, site: Callable[[], tuple[str, str]]
) -> None:
    before = inotify_descriptors()
    app = make_app(site, log_handler=Records())
    assert inotify_descriptors() == before  # built, not yet used: nothing opened
    assert app.test_client().get("/").status_code == 200
    assert inotify_descriptors() == before + 1
    app.close()
    assert inotify_descriptors() == before


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify is Linux's")
def test_watch_files_false_opens_no_watch(
    make_app: MakeApp, site: Callable[[], tuple[str, str]]
) -> None:
    before = inotify_descriptors()
    app = make_app(site, log_handler=Records(), watch_files=False)
    assert app.test_client().get("/").status_code == 200
    assert inotify_descriptors() == before


@pytest.mark.parametrize("watch_files", [True, False], ids=["events", "stat"])
def test_every_edit_is_seen_by_the_next_request(
    make_app: MakeApp, tmp_path: Path, watch_files: bool
) -> None:
    root = tmp_path / "sites"
    deep = root / "site" / "a" / "b"
    deep.mkdir(parents=True)

    def page(text: str) -> str:
        return f"def main(response):\n    response.set_data({text!r})\n    return response\n"

    (root / "site.ex.get.py").write_text(page("root v1"), encoding="utf-8")
    app = make_app(lambda: (str(root), "site"), log_handler=Records(), watch_files=watch_files)
    client = app.test_client()

    def body(path: str) -> str:
        return client.get(path).get_data(as_text=True)

    assert body("/a/b/page") == "root v1"
    (deep / "page.ex.get.py").write_text(page("deep v1"), encoding="utf-8")  # a new handler
    assert body("/a/b/page") == "deep v1"
    with (deep / "page.ex.get.py").open("r+", encoding="utf-8") as file:  # in place, same size
        file.write(page("deep v2"))
    assert body("/a/b/page") == "deep v2"
    temporary = deep / "page.tmp"
    temporary.write_text(page("deep v3, renamed over"), encoding="utf-8")
    os.replace(temporary, deep / "page.ex.get.py")
    assert body("/a/b/page") == "deep v3, renamed over"
    (root / "site" / "a").rename(root / "site" / "old")  # the folder moves away
    assert body("/a/b/page") == "root v1"
    (deep).mkdir(parents=True)
    (deep / "page.ex.get.py").write_text(page("deep v4, new folder"), encoding="utf-8")
    assert body("/a/b/page") == "deep v4, new folder"
    (deep / "page.ex.get.py").unlink()
    assert body("/a/b/page") == "root v1"
