"""A stand-in Flickr that answers /services/rest with the recorded real replies in
/work/shared/fixtures/flickr/ (optionally edited), over real HTTP, counting what it is asked;
`{url}/photo.jpg` serves PHOTO, for replies edited to point at it."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path("/work/shared/fixtures/flickr")
PHOTO = b"\xff\xd8\xff\xe0 not really a jpeg"


def recorded(name: str) -> dict:
    reply = json.loads((FIXTURES / name).read_text())
    reply.pop("_source", None)
    return reply


class RecordedFlickr:
    def __init__(self, replies: dict[str, dict]):
        self.replies = replies
        self.calls: list[str] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_HEAD(self):
                stub.calls.append(f"HEAD {self.path}")
                self._photo(with_body=False)

            def _photo(self, with_body):
                self.send_response(200)
                self.send_header("Content-Type", "image/jpeg")
                self.send_header("Content-Length", str(len(PHOTO)))
                self.end_headers()
                if with_body:
                    self.wfile.write(PHOTO)

            def do_GET(self):
                if self.path == "/photo.jpg":
                    stub.calls.append(f"GET {self.path}")
                    return self._photo(with_body=True)
                query = parse_qs(urlsplit(self.path).query)
                method = query.get("method", [""])[0]
                stub.calls.append(method)
                reply = stub.replies.get(method, {"stat": "fail", "code": 112, "message": "?"})
                body = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
