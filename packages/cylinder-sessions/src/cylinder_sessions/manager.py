"""The session manager: configuration, the cookie, and the link to a Cylinder application."""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Literal, NoReturn

from werkzeug.wrappers import Request, Response

from .driver import Driver, Record, StoreUnavailable
from .errors import SessionUnavailable
from .session import Session
from .sqlite import SQLiteDriver

if TYPE_CHECKING:
    from cylinder_runtime import Application

__all__ = ["SessionManager"]

#: A store name: a letter, then letters, digits, ``_``, ``.`` or ``-``; 64 characters at most.
_STORE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,63}")


class SessionManager:
    """Sessions for one application: one cookie, several named stores, one driver.

    In ``cylinder_main.py``::

        sessions = SessionManager("sessions.sqlite")  # or a driver: SessionManager(driver)
        app = cylinder.get_app(app_map)
        sessions.install(app)  # handlers now ask for `session`

    :param driver: the store: a :class:`~cylinder_sessions.driver.Driver`, or the path of a
        SQLite file for :class:`~cylinder_sessions.sqlite.SQLiteDriver`.
    :param stores: store name -> lifetime in seconds (None: the session's); when given, only
        these names may be used. When None, any valid name may be, with the session's lifetime.
        A store's contents lapse ``lifetime`` seconds after it was last written.
    :param idle_timeout: seconds without a request after which the session ends.
    :param refresh_interval: how stale the stored idle expiry may get, in seconds; None (the
        default) means a tenth of ``idle_timeout``. Reading a session never writes to the store;
        its expiry is moved (with the request's write, or by one small ``touch`` at the end of
        a request that only read) when more than this has passed since it was last moved. So a
        session ends on the server between ``idle_timeout - refresh_interval`` and
        ``idle_timeout`` seconds after the last request that used it. 0 moves it on every
        request that uses the session (two round trips for a read).
    :param absolute_timeout: seconds after its creation (or last rotation) the session ends,
        however busy; also the cookie's ``Max-Age``.
    :param secure: send the cookie over HTTPS only (and name it ``__Host-<name>`` when it
        qualifies). Set False only to develop over plain http on localhost.
    :param cookie_name: the cookie's name, before any ``__Host-`` prefix.
    :param cookie_path: the cookie's ``Path``.
    :param cookie_domain: the cookie's ``Domain``; None (the default) keeps it to this host.
    :param same_site: the cookie's ``SameSite``: ``Lax`` (default), ``Strict`` or ``None``.
    :param max_size: most bytes of JSON a session may hold, all stores together.
    :param on_outage: when the store is down: ``"error"`` answers 503; ``"empty"`` gives
        handlers an empty, read-only session (a write then answers 503).
    :param parameter: the name handlers ask for.
    :param clock: the time in seconds (tests pass their own).
    :param logger: where outages are logged; the application's logger once installed.
    """

    def __init__(
        self,
        driver: Driver | str | os.PathLike[str],
        *,
        stores: Mapping[str, float | None] | None = None,
        idle_timeout: float = 30 * 60,
        refresh_interval: float | None = None,
        absolute_timeout: float = 8 * 3600,
        secure: bool = True,
        cookie_name: str = "session",
        cookie_path: str = "/",
        cookie_domain: str | None = None,
        same_site: Literal["Lax", "Strict", "None"] = "Lax",
        max_size: int = 64 * 1024,
        on_outage: Literal["error", "empty"] = "error",
        parameter: str = "session",
        clock: Callable[[], float] = time.time,
        logger: logging.Logger | None = None,
    ) -> None:
        if isinstance(driver, str | os.PathLike):
            driver = SQLiteDriver(driver)
        elif not isinstance(driver, Driver):
            raise TypeError(
                f"`driver` must be a session driver or the path of a SQLite file, not {driver!r}"
            )
        if not idle_timeout > 0:
            raise ValueError(f"`idle_timeout` must be more than 0 seconds, not {idle_timeout!r}")
        if not absolute_timeout >= idle_timeout:
            raise ValueError(
                f"`absolute_timeout` ({absolute_timeout!r}) must be at least "
                f"`idle_timeout` ({idle_timeout!r})"
            )
        if refresh_interval is None:
            refresh_interval = idle_timeout / 10
        elif not 0 <= refresh_interval < idle_timeout:
            raise ValueError(
                f"`refresh_interval` must be at least 0 and less than `idle_timeout` "
                f"({idle_timeout!r}) seconds, not {refresh_interval!r}"
            )
        self.stores = None if stores is None else dict(stores)
        for name, lifetime in (self.stores or {}).items():
            self.check_store_name(name, configuring=True)
            if lifetime is not None and not 0 < lifetime <= absolute_timeout:
                raise ValueError(
                    f"store `{name}`: its lifetime must be more than 0 and at most "
                    f"`absolute_timeout` ({absolute_timeout!r}) seconds, not {lifetime!r}"
                )
        if not re.fullmatch(r"[A-Za-z0-9_-]+", cookie_name):
            raise ValueError(f"`cookie_name` must be letters, digits, `_` or `-`: {cookie_name!r}")
        if same_site not in ("Lax", "Strict", "None"):
            raise ValueError(f"`same_site` must be 'Lax', 'Strict' or 'None', not {same_site!r}")
        if same_site == "None" and not secure:
            raise ValueError("`same_site='None'` needs `secure=True`: browsers refuse it otherwise")
        if on_outage not in ("error", "empty"):
            raise ValueError(f"`on_outage` must be 'error' or 'empty', not {on_outage!r}")
        if max_size < 64:
            raise ValueError(f"`max_size` must be at least 64 bytes, not {max_size!r}")
        if not parameter.isidentifier():
            raise ValueError(f"`parameter` must be a parameter name, not {parameter!r}")
        self.driver: Driver = driver
        self.idle_timeout = float(idle_timeout)
        self.refresh_interval = float(refresh_interval)
        self.absolute_timeout = float(absolute_timeout)
        self.secure = secure
        self.cookie_path = cookie_path
        self.cookie_domain = cookie_domain
        self.same_site = same_site
        self.max_size = max_size
        self.on_outage = on_outage
        self.parameter = parameter
        self.clock = clock
        self.logger = logger or logging.getLogger("cylinder_sessions")
        qualifies = secure and cookie_path == "/" and cookie_domain is None
        #: The cookie's name as sent: ``__Host-`` prefixed when it qualifies.
        self.cookie_name = f"__Host-{cookie_name}" if qualifies else cookie_name

    def __repr__(self) -> str:
        return f"SessionManager({self.driver!r}, cookie {self.cookie_name!r})"

    def install(self, app: Application) -> None:
        """Provide ``session`` (or :attr:`parameter`) to every ``main()`` of ``app``, and save
        each request's session after its late hook. Outages are logged on the app's logger."""
        if self.logger.name == "cylinder_sessions":
            self.logger = app.logger
        app.provide(self.parameter, self.begin, _finish)

    def begin(self, request: Request, response: Response | None = None) -> Session:
        """The session of ``request``; nothing is read from the store until it is used.

        Outside Cylinder, call ``session.finish(response)`` once the response is ready.
        """
        return Session(self, request)

    def touch_due(self, record: Record, now: float) -> bool:
        """Whether ``record``'s idle expiry is due to move at ``now``: whether moving it to
        ``min(deadline, now + idle_timeout)`` would put it more than :attr:`refresh_interval`
        later than it is (more than that has passed since it was last moved)."""
        target = min(record.deadline, now + self.idle_timeout)
        return target - record.expires > self.refresh_interval

    def store_lifetime(self, name: str) -> float | None:
        """Seconds the store ``name`` keeps what was written to it, or None (the session's)."""
        return None if self.stores is None else self.stores.get(name)

    def check_store_name(self, name: object, *, configuring: bool = False) -> str:
        """``name`` if it may be used as a store name.

        :raises KeyError: naming the store and the valid ones, when it may not.
        """
        if not isinstance(name, str) or _STORE_NAME.fullmatch(name) is None:
            raise KeyError(
                f"{name!r} is not a valid session store name: a letter, then letters, digits, "
                "`_`, `.` or `-`, 64 characters at most"
            )
        if not configuring and self.stores is not None and name not in self.stores:
            known = ", ".join(f"`{known}`" for known in sorted(self.stores)) or "none"
            raise KeyError(f"no session store `{name}`; the stores configured are {known}")
        return name

    def revoke_user(self, user: str) -> int:
        """End every session of ``user`` (on every device); how many there were."""
        try:
            return self.driver.revoke_user(user)
        except StoreUnavailable as exc:
            self.unavailable(exc)

    def purge(self) -> int:
        """Delete every expired session from the store; how many there were."""
        return self.driver.purge(self.clock())

    def close(self) -> None:
        """Close the driver's connections."""
        self.driver.close()

    def unavailable(self, exc: StoreUnavailable) -> NoReturn:
        """Log an outage and raise the 503 it is answered with."""
        self.logger.error("the session store is unavailable: %s", exc)
        raise SessionUnavailable() from exc

    def set_cookie(self, response: Response, session_id: str, max_age: float) -> None:
        """Send ``session_id`` in the session cookie, for ``max_age`` seconds."""
        response.set_cookie(
            self.cookie_name,
            session_id,
            max_age=max(0, int(max_age)),
            path=self.cookie_path,
            domain=self.cookie_domain,
            secure=self.secure,
            httponly=True,
            samesite=self.same_site,
        )

    def delete_cookie(self, response: Response) -> None:
        """Tell the browser to forget the session cookie."""
        response.delete_cookie(
            self.cookie_name,
            path=self.cookie_path,
            domain=self.cookie_domain,
            secure=self.secure,
            httponly=True,
            samesite=self.same_site,
        )


def _finish(value: object, response: Response, failed: bool) -> None:
    assert isinstance(value, Session)
    value.finish(response, failed=failed)
