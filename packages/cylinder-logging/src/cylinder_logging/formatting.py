"""The default log format, and what the ``timestamp`` field holds.

Records logged through a :class:`~cylinder_logging.LogService` carry two fields beyond the
standard ones, so formats may use them:

``%(request_id)s``
    the id of the request that logged the record, ``-`` outside a request.
``%(timestamp)s``
    the record's creation time (the same instant as ``created``) as a timezone-aware
    :class:`~datetime.datetime` in the local time zone, printed in ISO 8601 with a space,
    e.g. ``2025-01-31 14:02:07.123456+01:00``: date, time and UTC offset, which is what the
    default ``datefmt`` asks of ``%(asctime)s``. A formatter's ``datefmt`` applies to
    ``%(asctime)s`` only; handlers and formatters that want another rendering can call
    ``record.timestamp.strftime(...)``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

__all__ = [
    "DEFAULT_DATE_FORMAT",
    "DEFAULT_FORMAT",
    "default_formatter",
    "formats_as_default",
    "timestamp_of",
]

#: The format of :func:`default_formatter`, as given in Cylinder's documentation.
DEFAULT_FORMAT = (
    "%(levelname)s %(timestamp)s %(filename)s:%(lineno)s %(request_id)s\n %(message)s\n"
)

#: The date format of :func:`default_formatter` (used by ``%(asctime)s``).
DEFAULT_DATE_FORMAT = "%Y-%m-%d %H:%M:%S%z"


def default_formatter() -> logging.Formatter:
    """Return a new formatter with Cylinder's default format.

    Written by a ``StreamHandler``, a record takes three lines: level, time, file and line, and
    request id; the message, indented by one space; and a blank one, since the format ends with
    a line break and the handler adds its own. A traceback follows the message line and ends
    the record, with no blank line after it.

    Each call returns a new object, so changing one never changes another application's.
    """
    return logging.Formatter(DEFAULT_FORMAT, DEFAULT_DATE_FORMAT)


def formats_as_default(formatter: logging.Formatter | None) -> bool:
    """Return whether ``formatter`` is a plain :class:`logging.Formatter` with
    :data:`DEFAULT_FORMAT`, as :func:`default_formatter` makes it: one whose text for a record
    without a traceback or stack is ``DEFAULT_FORMAT % record.__dict__``, so the listener may
    write that text without making the record.

    :param formatter: a handler's formatter, or ``None``.
    """
    if type(formatter) is not logging.Formatter:
        return False
    style = formatter._style
    return (
        type(style) is logging.PercentStyle
        and formatter._fmt == DEFAULT_FORMAT
        and style._fmt == DEFAULT_FORMAT
        and "format" not in vars(formatter)
        and "formatMessage" not in vars(formatter)
    )


def timestamp_of(created: float) -> datetime:
    """Return the timezone-aware local time of ``created`` (seconds since the epoch).

    :param created: a record's ``created`` attribute.
    """
    return datetime.fromtimestamp(created, UTC).astimezone()
