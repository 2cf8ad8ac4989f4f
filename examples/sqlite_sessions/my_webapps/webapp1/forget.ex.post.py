"""POST /forget: ends the session, then sends the browser back to /."""


def main(response, abort, session):
    session.destroy()
    abort(303, "/")
