"""GET /about on the blog. The shop has no /about: there it is a 404."""


def main(response):
    response.content_type = "text/html; charset=utf-8"
    response.data = "<h1>About</h1><p>A blog served by the same process as a shop.</p>"
    return response
