"""What goes wrong with a session, as exceptions a handler (or a test) can catch."""

from __future__ import annotations

from werkzeug.exceptions import ServiceUnavailable

__all__ = ["SessionError", "SessionTooLarge", "SessionUnavailable"]


class SessionError(Exception):
    """A session was used in a way that cannot work (a bad store name, a destroyed session)."""


class SessionTooLarge(SessionError):
    """The session's JSON would be larger than the manager's ``max_size``."""


class SessionUnavailable(ServiceUnavailable):
    """The session store cannot be reached: answered with 503 Service Unavailable."""

    description = "The session store is unavailable right now. Please try again in a moment."
