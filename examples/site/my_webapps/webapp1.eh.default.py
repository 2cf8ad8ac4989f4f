"""Early hook for the whole site, every method: the security headers everyone gets.

Hooks do not chain: under /api the nearer api.eh.default.py runs instead of this file. So the
headers are set by ``security_headers``, a function from cylinder_main.py that app_map hands to
every hook, and each early hook of the site calls it.
"""


def main(response, security_headers):
    security_headers(response)
    return response
