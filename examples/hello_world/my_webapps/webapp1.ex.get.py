"""GET / (and every deeper GET path, since no other file claims one)."""


def main(response):
    response.data = "Hello, world!"
    return response
