"""PURGE /cache: a method HTTP does not define, routed like any other (as caching proxies
use it). Any method made of letters can have a file: ``<segment>.ex.<method>.py``."""


def main(request, response, log):
    log.info("cache purge asked by %s", request.remote_addr)
    response.data = "purged\n"
    return response
