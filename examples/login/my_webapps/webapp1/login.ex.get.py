"""GET /login: the sign-in form, carrying the session's CSRF token."""

from html import escape


def main(response, session):
    notes = "".join(f"<p>{escape(message)}</p>" for _, message in session.flashes())
    response.content_type = "text/html; charset=utf-8"
    response.data = f"""<h1>Sign in</h1>
{notes}
<form method="post" action="/login">
  <input type="hidden" name="csrf_token" value="{session.csrf_token()}">
  <label>User <input name="user"></label>
  <label>Password <input name="password" type="password"></label>
  <button>Sign in</button>
</form>
"""
    return response
