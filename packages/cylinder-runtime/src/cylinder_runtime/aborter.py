"""``abort``: Werkzeug's, extended with redirects and the application's own exceptions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

from werkzeug.exceptions import Aborter, HTTPException
from werkzeug.sansio.response import Response as SansIOResponse
from werkzeug.utils import redirect

__all__ = ["REDIRECT_CODES", "Abort", "Redirect", "check_abort_extra"]

#: Status codes that ``abort(code, location)`` turns into a redirect.
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})


class Redirect(HTTPException):
    """Raised by ``abort(301|302|303|307|308, location)``. Error-handler files never see it.

    :param code: the redirect status.
    :param location: where to send the client.
    """

    def __init__(self, code: int, location: str) -> None:
        # Built now, in the caller's frame: a target that cannot be a header (CR/LF) fails
        # where abort() was called, as an ordinary exception, not later in the error path.
        super().__init__(
            description=f"Redirecting to {location}", response=redirect(location, code)
        )
        self.code: int = code
        self.location = location


class Abort:
    """The ``abort`` callable handed to handlers: ``abort(404)``, ``abort(400, "why")``,
    ``abort(302, "/login")``, or any code registered with ``abort_extra``.

    :param extra: status code -> exception class, added to Werkzeug's own.
    """

    __slots__ = ("_aborter",)

    def __init__(self, extra: Mapping[int, type[HTTPException]] | None = None) -> None:
        self._aborter = Aborter(extra=dict(extra) if extra else None)

    def __call__(self, code: int | SansIOResponse, *args: Any, **kwargs: Any) -> NoReturn:
        """Raise the HTTP exception for ``code``; never returns.

        :param code: a status code, or a response to send as it is.
        :param args: for a redirect code, the target (``abort(302, "/login")``); otherwise
            passed to the exception (``abort(400, "why")``: the description).
        :raises TypeError: for a redirect code without exactly one string target.
        :raises LookupError: for a code with no exception (``abort(999)``).
        """
        if isinstance(code, int) and code in REDIRECT_CODES and code not in self._aborter.mapping:
            if len(args) != 1 or kwargs or not isinstance(args[0], str):
                raise TypeError(f"abort({code}) needs the redirect target: abort({code}, '/path')")
            raise Redirect(code, args[0])
        self._aborter(code, *args, **kwargs)
        raise AssertionError("unreachable: Aborter always raises")  # pragma: no cover


def check_abort_extra(extra: object) -> Mapping[int, type[HTTPException]] | None:
    """Validate ``get_app(abort_extra=...)`` loudly at start-up.

    :raises TypeError: naming the entry at fault.
    """
    if extra is None:
        return None
    if not isinstance(extra, Mapping):
        raise TypeError(
            f"`abort_extra` must be a mapping of status code to exception class, "
            f"not {type(extra).__name__}"
        )
    for code, exc_class in extra.items():
        if not isinstance(code, int) or isinstance(code, bool) or not 100 <= code <= 599:
            raise TypeError(f"`abort_extra` key {code!r} must be a status code from 100 to 599")
        if not (isinstance(exc_class, type) and issubclass(exc_class, HTTPException)):
            raise TypeError(
                f"`abort_extra[{code}]` must be a subclass of "
                f"`werkzeug.exceptions.HTTPException`, not {exc_class!r}"
            )
        if exc_class.code is None:  # raised, it would answer 200 OK
            raise TypeError(
                f"`abort_extra[{code}]` is `{exc_class.__name__}`, which has no `code`; "
                f"give it `code = {code}`"
            )
        if exc_class.code != code:
            raise TypeError(
                f"`abort_extra[{code}]` is `{exc_class.__name__}`, whose code is {exc_class.code}"
            )
    return extra
