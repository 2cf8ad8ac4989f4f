"""Late hook for the whole site, every method: it runs after the handler, static file or
error handler, so these headers are on every response whatever came before."""

import time


def main(response, g):
    response.headers["Content-Security-Policy"] = "default-src 'self'; frame-ancestors 'none'"
    response.headers["X-Content-Type-Options"] = "nosniff"
    started = getattr(g, "started", None)  # set by the early hook, when it was the one to run
    if started is not None:
        elapsed_ms = (time.perf_counter() - started) * 1000
        response.headers["Server-Timing"] = f"app;dur={elapsed_ms:.1f}"
    return response
