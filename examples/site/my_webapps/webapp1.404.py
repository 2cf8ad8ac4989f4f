"""404 for the whole site: an HTML page (the API has its own, in api.404.py)."""

from html import escape


def main(request, response):
    response.content_type = "text/html; charset=utf-8"
    response.data = f"<h1>Not found</h1><p>Nothing lives at {escape(request.path)}.</p>"
    return response
