"""Container health check: ``GET /healthz`` on the local server, with no curl in the image.

Usage: ``python deploy/healthcheck.py [PORT]`` (8000, gunicorn's, by default). Django answers
only to a name in ``ALLOWED_HOSTS``, so the probe names the first allowed host (``/healthz``
itself is exempt from the HTTPS redirect). Exit status 0 means healthy (Docker's HEALTHCHECK
contract).
"""

import http.client
import os
import sys

DEFAULT_PORT = 8000


def probe_host() -> str:
    """The first allowed host name, without a subdomain wildcard's leading dot."""
    first = os.environ.get("ALLOWED_HOSTS", "").split(",")[0].strip().lstrip(".")
    return first if first and first != "*" else "localhost"


def main(port: int = DEFAULT_PORT) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=4)
    try:
        connection.request("GET", "/healthz", headers={"Host": probe_host()})
        status = connection.getresponse().status
    except OSError as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1
    finally:
        connection.close()
    if status != 200:
        print(f"unhealthy: /healthz answered {status}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(*map(int, sys.argv[1:2])))
