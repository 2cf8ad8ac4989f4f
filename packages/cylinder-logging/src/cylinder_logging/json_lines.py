"""A formatter for log shippers: each record as one JSON object on one line.

Every attribute of the record becomes a member: the standard ones (``name``, ``levelname``,
``pathname``, ``lineno``, ``created``, ``process``, ``thread`` ...), the merged ``message``,
``request_id``, ``timestamp`` (ISO 8601 with its UTC offset), and whatever else the record
carries, such as the runtime's access attributes or fields given with ``extra=``. A traceback
is text in ``exc_text``; ``exc_info`` names the exception. Values JSON cannot hold are written
as their ``str``. Non-ASCII and control characters are written as ``\\uXXXX`` escapes, so a line
never holds a raw line break or terminal escape, whatever the record's text.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from .formatting import timestamp_of
from .records import NO_REQUEST_ID

__all__ = ["JSONFormatter"]


class JSONFormatter(logging.Formatter):
    """Formats each record as one line of JSON, every attribute a member.

    ``fmt`` and ``style`` do not apply (every field is written); ``datefmt`` sets the
    rendering of ``asctime``, which is added only when a ``datefmt`` is given. Parse a line
    back with :func:`json.loads`.

    :param datefmt: the :func:`time.strftime` format of an ``asctime`` member; none when
        ``None`` (``timestamp`` holds the time in ISO 8601).
    """

    def __init__(self, datefmt: str | None = None) -> None:
        super().__init__(datefmt=datefmt)

    def format(self, record: logging.LogRecord) -> str:
        """Return ``record`` as one line of JSON (no line break at its end).

        :param record: the record; it is not changed.
        """
        fields: dict[str, Any] = dict(record.__dict__)
        fields["msg"] = message = record.getMessage()
        fields["args"] = None
        fields["message"] = message
        if self.datefmt is not None:
            fields["asctime"] = self.formatTime(record, self.datefmt)
        exc_text = record.exc_text
        if record.exc_info and not exc_text:
            exc_text = self.formatException(record.exc_info)
        fields["exc_text"] = exc_text or None
        fields["exc_info"] = _exception_name(record.exc_info)
        if record.stack_info:
            fields["stack_info"] = self.formatStack(record.stack_info)
        fields.setdefault("request_id", NO_REQUEST_ID)
        timestamp = fields.get("timestamp")
        if not isinstance(timestamp, datetime):
            timestamp = timestamp_of(record.created)
        fields["timestamp"] = timestamp.isoformat()
        return json.dumps(fields, default=str)


def _exception_name(exc_info: object) -> str | None:
    """``module.Type: message`` of the record's exception, or ``None`` without one."""
    if not isinstance(exc_info, tuple) or len(exc_info) != 3 or exc_info[1] is None:
        return None
    exc_type, exc = exc_info[0], exc_info[1]
    module = getattr(exc_type, "__module__", "")
    name = getattr(exc_type, "__qualname__", type(exc).__qualname__)
    qualified = name if module in ("builtins", "__main__", "") else f"{module}.{name}"
    text = str(exc)
    return f"{qualified}: {text}" if text else qualified
