"""Early hook for /api/*: the API answers JSON and may be called from any origin.

It runs instead of the site's webapp1.eh.default.py, not after it, so it sets the site's
security headers itself, with the same shared function, before adding its own.
"""


def main(response, security_headers):
    security_headers(response)
    response.access_control_allow_origin = "*"
    return response
