"""POST /contact: reads the form that GET /contact shows."""

from html import escape


def main(request, response, abort, log):
    name = request.form.get("name", "").strip()
    if not name:
        abort(400, "The form needs a name.")
    log.info("contact form sent by %s", name)
    response.content_type = "text/html; charset=utf-8"
    response.data = f"<h1>Thank you, {escape(name)}!</h1>"
    return response
