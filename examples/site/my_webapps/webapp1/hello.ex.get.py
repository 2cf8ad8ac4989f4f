"""GET /hello?name=...: greets by name."""

from html import escape


def main(request, response, log):
    name = request.args.get("name", "stranger")
    log.info("greeting %s", name)
    response.content_type = "text/html; charset=utf-8"
    response.data = f"<h1>Hello, {escape(name)}!</h1>"
    return response
