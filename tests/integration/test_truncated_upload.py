"""A client that disconnects mid-upload leaves no object and no row (a real server process)."""

import socket
import time
from urllib.parse import urlsplit

from picker.models import App, FileLink
from tests.conftest import all_stored_keys


def test_body_shorter_than_content_length_leaves_nothing(live_api, transactional_db):
    app = App.objects.create(name="truncated")
    before = all_stored_keys()
    url = urlsplit(live_api.url)
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(
            f"POST /api/store/S3?key={app.apikey}&filename=cut.bin HTTP/1.1\r\n"
            f"Host: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n"
            f"Content-Length: 100000\r\nConnection: close\r\n\r\n".encode()
            + b"x" * 30000
        )
        sock.shutdown(socket.SHUT_WR)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    status_line = reply.split(b"\r\n", 1)[0]
    assert b" 400 " in status_line, reply[:300]
    assert b"incomplete_body" in reply
    time.sleep(0.2)
    assert not FileLink.objects.filter(app=app).exists()
    assert all_stored_keys() == before
