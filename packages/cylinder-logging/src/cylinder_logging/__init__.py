"""cylinder-logging: queue logging with request ids, for Cylinder applications.

Each application owns a :class:`LogService`: its own logger, a bounded queue, and a listener
thread feeding the application's handler, so that a slow handler never slows a request. Every
record carries the id of the request that logged it. Standard library only::

    import logging
    from cylinder_logging import LogService, request_scope, sanitize_request_id

    with LogService("shop", level=logging.INFO, queue_length=1000) as logs:
        request_id = sanitize_request_id(environ.get("HTTP_X_REQUEST_ID"))
        with request_scope(request_id):
            logs.logger.info("order %s paid", order_id)  # returns at once
        logs.drain(timeout=1.0)  # wait until those records were written

A call site hot enough to matter (an access line) can describe itself once as a
:class:`CallSite` and log with :meth:`LogService.log_deferred`: the listener then builds the
record, the same one ``logger.info`` would have queued.

Formats may use ``%(request_id)s`` (``-`` outside a request) and ``%(timestamp)s`` (a
timezone-aware ``datetime``); :func:`default_formatter` returns Cylinder's default format.
:class:`JSONFormatter` writes each record as one line of JSON, for log shippers.

Text that came from a request is passed through :func:`escape_controls` before it goes into a
record, so that it cannot forge log lines.
"""

from __future__ import annotations

from .context import current_request_id, request_scope
from .deferred import CallSite
from .escaping import escape_controls
from .formatting import default_formatter
from .ids import new_request_id, sanitize_request_id
from .json_lines import JSONFormatter
from .service import LogService

__all__ = [
    "CallSite",
    "JSONFormatter",
    "LogService",
    "current_request_id",
    "default_formatter",
    "escape_controls",
    "new_request_id",
    "request_scope",
    "sanitize_request_id",
]
