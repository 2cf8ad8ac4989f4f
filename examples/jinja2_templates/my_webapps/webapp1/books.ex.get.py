"""GET /books: a list rendered with a loop in templates/books.html."""

BOOKS = [
    {"title": "A Pattern Language", "author": "Christopher Alexander", "year": 1977},
    {"title": "The Mythical Man-Month", "author": "Fred Brooks", "year": 1975},
    {"title": "Thinking Forth", "author": "Leo Brodie", "year": 1984},
]


def main(response, render_template):
    response.content_type = "text/html; charset=utf-8"
    response.data = render_template("books.html", books=BOOKS)
    return response
