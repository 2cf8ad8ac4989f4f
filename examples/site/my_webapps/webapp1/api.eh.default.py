"""Early hook for /api/*: the API answers JSON and may be called from any origin."""


def main(response):
    response.access_control_allow_origin = "*"
    return response
