"""POST /logout: end the session on the server, then say so on the next page."""


def main(request, abort, session):
    session.require_csrf(request)
    session.destroy()  # the record is deleted: the old cookie opens nothing any more
    session.flash("You are signed out.")  # kept in a new, anonymous session
    abort(303, "/")
