"""GET /: the flash messages waiting, and who is signed in."""

from html import escape


def main(request, response, abort, session):
    if request.path != "/":
        abort(404)
    notes = "".join(
        f'<p class="{escape(category)}">{escape(message)}</p>'
        for category, message in session.flashes()
    )
    if session.user is None:
        body = '<p><a href="/login">Sign in</a></p>'
    else:
        body = f"""<p>Signed in as {escape(session.user)}.</p>
<form method="post" action="/logout">
  <input type="hidden" name="csrf_token" value="{session.csrf_token()}">
  <button>Sign out</button>
</form>"""
    response.content_type = "text/html; charset=utf-8"
    response.data = f"<h1>Home</h1>\n{notes}\n{body}\n"
    return response
