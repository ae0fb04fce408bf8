"""A WSGI app that answers the pid of the process serving it (tests/ops/test_workers.py)."""

import os


def application(environ, start_response):
    body = str(os.getpid()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
