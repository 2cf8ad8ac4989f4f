"""404 for the whole site, as an HTML page. /api has its own, api.404.py."""

from html import escape


def main(request, response):
    response.content_type = "text/html; charset=utf-8"
    response.data = (
        f"<h1>Page not found</h1><p>There is nothing at <code>{escape(request.path)}</code>."
        ' <a href="/">Back home</a></p>'
    )
    return response
