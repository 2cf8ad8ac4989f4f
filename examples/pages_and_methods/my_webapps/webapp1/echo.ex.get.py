"""GET /echo. An exact method file wins over echo.ex.default.py beside it."""


def main(response):
    response.data = "Send /echo any method but GET and it is echoed back.\n"
    return response
