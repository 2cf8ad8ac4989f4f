"""Early hook for the whole site, every method: security headers everyone gets."""


def main(response):
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response
