"""GET / on the blog."""


def main(request, response, abort):
    if request.path != "/":
        abort(404)
    response.content_type = "text/html; charset=utf-8"
    response.data = '<h1>The blog</h1><p><a href="/about">About this blog</a></p>'
    return response
