"""GET /countdown?from=N: one line per tick, N down to 0, then "liftoff".

The body is a generator: the server sends each line as it is yielded, so the client sees
the first one at once. The total length is not known in advance, so no Content-Length.

``tick_seconds`` keeps its default unless ``app_map`` provides an extra of that name.
"""

import time


def main(request, response, log, tick_seconds=0.1):
    start = request.args.get("from", 10, type=int)
    response.mimetype = "text/plain"
    response.response = countdown(min(max(start, 0), 100), tick_seconds, log)
    del response.headers["Content-Length"]
    return response


def countdown(start, tick_seconds, log):
    for number in range(start, -1, -1):
        yield f"{number}\n"
        time.sleep(tick_seconds)
    log.info("countdown from %d done", start)
    yield "liftoff\n"
