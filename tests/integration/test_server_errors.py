"""An unexpected exception in a view is a JSON 500 over HTTP, with DEBUG off (as deployed).

The server here is gunicorn on a database that has no tables: every view that reads a row
fails with an error no code path expects (sqlite3.OperationalError), in DRF views and in
plain Django views alike.
"""

from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

import pytest

from tests.servers import OpenPickerServer

HANDLE = "A" * 20


@pytest.fixture(scope="module")
def broken_api(tmp_path_factory):
    empty_db = tmp_path_factory.mktemp("broken") / "no-tables.sqlite3"
    empty_db.touch()
    server = OpenPickerServer(
        {"DATABASE_URL": f"sqlite:///{empty_db}", "OPENPICKER_DEBUG": "false"}, workers=1
    )
    yield server
    server.stop()


def raw_request(server, request: str) -> tuple[int, dict, bytes]:
    """Send one raw HTTP/1.1 request (Connection: close); the status, headers and body as sent."""
    url = urlsplit(server.url)
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        sock.sendall(request.replace("\n", "\r\n").encode())
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    head, _, rest = reply.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, rest


@pytest.mark.parametrize(
    "request_line",
    [
        f"GET /api/file/{HANDLE} HTTP/1.1",  # DRF view
        f"GET /api/file/{HANDLE}/metadata HTTP/1.1",
        f"GET /cdn/resize=width:10/{HANDLE} HTTP/1.1",  # CDN chain
        "POST /api/store/S3?key=somekey HTTP/1.1",
        "GET /api/client/flickr/auth/open?key=somekey HTTP/1.1",  # plain Django view
    ],
)
def test_unexpected_errors_are_json_500s(broken_api, request_line):
    status, headers, body = raw_request(
        broken_api,
        f"{request_line}\nHost: 127.0.0.1\nContent-Length: 0\nConnection: close\n\n",
    )
    assert status == 500, body[:300]
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {
        "error": "server_error",
        "detail": "the server failed; the error was logged",
    }
    for leak in (b"<html", b"Traceback", b"OperationalError", b"no such table"):
        assert leak not in body
