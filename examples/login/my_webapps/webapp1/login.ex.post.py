"""POST /login: check the CSRF token and the password, then give the session a new id."""


def main(request, abort, session, check_password):
    session.require_csrf(request)  # 403 unless the form came from this session's page
    user = request.form.get("user", "")
    if not check_password(user, request.form.get("password", "")):
        session.flash("Wrong user name or password.", "error")
        abort(303, "/login")
    session.rotate(user=user)  # a new id at login: an id known before it is worth nothing
    session.flash(f"Welcome, {user}.")
    abort(303, "/")
