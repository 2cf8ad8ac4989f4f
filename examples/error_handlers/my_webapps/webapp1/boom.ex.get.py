"""GET /boom: a bug, to show the site's 500 page."""


def main(response):
    raise RuntimeError("the HTML page broke")
