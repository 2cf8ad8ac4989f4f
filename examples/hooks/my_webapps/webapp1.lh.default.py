"""Late hook for the whole site, every method: it runs after the handler, static file or
error handler, so these headers are on every response whatever came before."""


def main(response):
    response.headers["Content-Security-Policy"] = "default-src 'self'; frame-ancestors 'none'"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
