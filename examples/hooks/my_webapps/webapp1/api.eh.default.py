"""Early hook for /api and everything below it, every method: CORS.

It runs before the handler. For a preflight (OPTIONS with Access-Control-Request-Method)
Cylinder answers 204 itself when no handler takes OPTIONS, and this hook still runs first, so
the headers it sets are on that answer too.
"""


def main(request, response, cors_origins):
    response.vary.add("Origin")
    origin = request.headers.get("Origin")
    if origin not in cors_origins:
        return response  # no CORS headers: the browser keeps the answer from the page
    response.access_control_allow_origin = origin
    if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
        response.access_control_allow_methods = ["GET"]
        response.access_control_allow_headers = ["Content-Type"]
        response.access_control_max_age = 600
    return response
