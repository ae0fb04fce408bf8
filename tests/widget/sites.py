"""Real HTTP(S) servers for the browser tests: the integrator's site (a second origin holding the
seeds' sample code) and a stand-in for the public file the seeds' export sample names."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class Site:
    """A web server on 127.0.0.1 serving the pages put into it (path → (type, bytes))."""

    def __init__(self, host: str = "127.0.0.1", tls: tuple[Path, Path] | None = None):
        self.pages: dict[str, tuple[str, bytes]] = {}
        self.hits: list[str] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                site.hits.append(self.path)
                found = site.pages.get(self.path.split("?")[0])
                if found is None:
                    self.send_error(404)
                    return
                content_type, body = found
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Access-Control-Allow-Origin", "*")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.server.daemon_threads = True
        if tls is not None:
            import ssl

            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        scheme = "https" if tls else "http"
        self.origin = f"{scheme}://{host}:{self.port}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def put(self, path: str, body: bytes | str, content_type: str = "text/html; charset=utf-8"):
        self.pages[path] = (content_type, body.encode() if isinstance(body, str) else body)
        return f"{self.origin}{path}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
