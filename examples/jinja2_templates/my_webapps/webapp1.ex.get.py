"""GET /: a greeting rendered from templates/hello.html. Jinja2 escapes the name."""


def main(request, response, abort, render_template):
    if request.path != "/":
        abort(404)
    name = request.args.get("name", "Developer")
    response.content_type = "text/html; charset=utf-8"
    response.data = render_template("hello.html", name=name)
    return response
