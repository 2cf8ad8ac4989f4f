"""GET /blog/first-post: a page named after the last segment of its URL."""


def main(response):
    response.content_type = "text/html; charset=utf-8"
    response.data = "<h1>First post</h1><p>Every page is a file named after its URL.</p>"
    return response
