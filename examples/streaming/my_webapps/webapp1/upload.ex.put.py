"""PUT /upload: counts and hashes the body as it arrives, never holding more than one chunk.

``request.stream`` is read directly; ``request.data``, ``request.form`` or
``request.get_json()`` would read the whole body into memory first. Chunked uploads work when
the server ends the stream itself, as waitress does.
"""

import hashlib

CHUNK_SIZE = 64 * 1024


def main(request, response, log):
    digest = hashlib.sha256()
    received = 0
    while chunk := request.stream.read(CHUNK_SIZE):
        digest.update(chunk)
        received += len(chunk)
    log.info("upload of %d bytes", received)
    response.data = f"{received} bytes, sha256 {digest.hexdigest()}\n"
    return response
