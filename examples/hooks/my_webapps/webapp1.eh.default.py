"""Early hook for the whole site, every method: notes in ``g`` when the request started.

Under /api the nearer api.eh.default.py runs instead of this one, since only the nearest
early hook runs: the late hook cannot count on ``g.started``.
"""

import time


def main(response, g):
    g.started = time.perf_counter()
    return response
