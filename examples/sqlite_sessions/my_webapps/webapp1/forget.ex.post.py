"""POST /forget: empties the session, then sends the browser back to /."""


def main(response, abort, session):
    session.clear()
    abort(303, "/")
