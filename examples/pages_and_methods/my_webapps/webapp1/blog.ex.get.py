"""GET /blog. The folder ``blog/`` beside this file holds the pages below /blog."""


def main(response):
    response.content_type = "text/html; charset=utf-8"
    response.data = '<h1>Blog</h1><p><a href="/blog/first-post">First post</a></p>'
    return response
