"""GET /: shows what the application sees of the client once ProxyFix has read the
X-Forwarded-* headers."""


def main(request, response, abort, log):
    if request.path != "/":
        abort(404)
    log.info("home page for %s", request.remote_addr)
    lines = [
        f"client address: {request.remote_addr}",
        f"scheme: {request.scheme}",
        f"host: {request.host}",
    ]
    response.data = "\n".join(lines) + "\n"
    return response
