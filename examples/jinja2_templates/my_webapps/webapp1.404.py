"""404 for the whole site, rendered from templates/404.html."""


def main(request, response, render_template):
    response.content_type = "text/html; charset=utf-8"
    response.data = render_template("404.html", path=request.path)
    return response
