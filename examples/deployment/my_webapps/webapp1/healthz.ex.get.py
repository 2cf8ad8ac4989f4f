"""GET /healthz: the load balancer's health check. It answers while this process can take
requests; check what the application depends on (a database, say) here if failing those
should take the process out of rotation."""


def main(response):
    response.headers["Cache-Control"] = "no-store"
    response.data = "ok\n"
    return response
