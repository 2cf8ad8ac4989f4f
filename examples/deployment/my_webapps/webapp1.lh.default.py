"""Late hook for every response: sends back the request id, the one from the load balancer's
header or the one Cylinder made up, so a client can quote it and the logs can be searched."""

from cylinder_logging import current_request_id


def main(response):
    response.headers["X-Request-ID"] = current_request_id()
    return response
