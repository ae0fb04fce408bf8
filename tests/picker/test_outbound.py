"""The outbound-fetch guard, proven against real local HTTP(S) servers.

Only loopback servers are ever contacted. Refusals aimed at other private ranges are pure checks:
the `no_connect` fixture makes any socket connect fail the test.
"""

import ipaddress
import os
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from picker import outbound
from picker.errors import OutboundFailed, OutboundRefused, OutboundStatus, TooLarge
from picker.outbound import check_url, fetch_public_url, is_public_address, request_public_url
from tests.servers import self_signed_cert


@dataclass
class Hit:
    method: str
    path: str
    headers: dict
    body: bytes


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        pass

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.hits.append(Hit(self.command, self.path, dict(self.headers), body))
        self.close_connection = True
        self.server.respond(self)

    do_GET = do_POST = do_HEAD = do_PUT = _handle


class LocalServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, respond, address="127.0.0.1", tls=None):
        self.address_family = socket.AF_INET6 if ":" in address else socket.AF_INET
        super().__init__((address, 0), _Handler)
        self.respond = respond
        self.tls = tls
        self.hits: list[Hit] = []
        self.connections = 0

    @property
    def port(self) -> int:
        return self.server_address[1]

    def url(self, path="/", host="127.0.0.1", scheme="http") -> str:
        return f"{scheme}://{host}:{self.port}{path}"

    def verify_request(self, request, client_address):
        self.connections += 1
        return True

    def finish_request(self, request, client_address):
        if self.tls is not None:
            try:
                request = self.tls.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):
        pass

    def assert_untouched(self):
        assert self.connections == 0
        assert self.hits == []


def send(handler, status=200, body=b"", headers=None):
    handler.send_response(status)
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    if "Content-Length" not in (headers or {}):
        handler.send_header("Content-Length", str(len(body)))
    handler.send_header("Connection", "close")
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(body)


def serve_bytes(body, headers=None):
    return lambda handler: send(handler, body=body, headers=headers)


def redirect_to(location, status=302):
    return lambda handler: send(handler, status, headers={"Location": location})


@dataclass
class Servers:
    started: list = field(default_factory=list)

    def __call__(self, respond=None, address="127.0.0.1", tls=None) -> LocalServer:
        server = LocalServer(respond or serve_bytes(b"hello"), address, tls)
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        thread.start()
        self.started.append(server)
        return server


@pytest.fixture
def serve():
    servers = Servers()
    yield servers
    for server in servers.started:
        server.shutdown()
        server.server_close()


@pytest.fixture
def allow(settings):
    settings.OPENPICKER_OUTBOUND_ALLOW = []

    def add(*entries):
        settings.OPENPICKER_OUTBOUND_ALLOW = [*settings.OPENPICKER_OUTBOUND_ALLOW, *entries]

    return add


@pytest.fixture
def no_connect(monkeypatch):
    """Any socket connect during the test fails it."""

    def refuse(self, address):
        raise AssertionError(f"unexpected connection to {address}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch_all(url, **kwargs) -> tuple[outbound.Fetched, bytes]:
    with fetch_public_url(url, **kwargs) as fetched:
        return fetched, fetched.read()


# The address classifier.

PUBLIC = [
    "8.8.8.8",
    "1.1.1.1",
    "172.32.0.1",
    "100.128.0.1",
    "2606:4700:4700::1111",
    "2001:4860:4860::8888",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
    "2002:808:808::1",
]

NOT_PUBLIC = [
    "127.0.0.1",
    "127.255.255.254",
    "10.0.0.1",
    "10.255.255.255",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "169.254.169.254",
    "169.254.0.1",
    "100.64.0.1",
    "100.127.255.255",
    "0.0.0.0",  # noqa: S104
    "0.1.2.3",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "192.0.2.1",
    "198.18.0.1",
    "::",
    "::1",
    "fe80::1",
    "fc00::1",
    "fd12:3456::1",
    "fec0::1",
    "ff02::1",
    "2001:db8::1",
    "::ffff:127.0.0.1",
    "::ffff:169.254.169.254",
    "::ffff:10.0.0.1",
    "::127.0.0.1",
    "64:ff9b::7f00:1",
    "64:ff9b::a9fe:a9fe",
    "64:ff9b:1::808:808",
    "2002:7f00:1::1",
    "2002:c0a8:101::1",
    "2002:a9fe:a9fe::",
]


@pytest.mark.parametrize("address", PUBLIC)
def test_classifier_public(address):
    assert is_public_address(address)
    assert is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_classifier_not_public(address):
    assert not is_public_address(address)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://8.8.8.8/", ("8.8.8.8", 80, ["8.8.8.8"])),
        ("https://8.8.8.8:8443/x", ("8.8.8.8", 8443, ["8.8.8.8"])),
        (
            "https://[2606:4700:4700::1111]/",
            ("2606:4700:4700::1111", 443, ["2606:4700:4700::1111"]),
        ),
    ],
)
def test_check_url_public_literals(url, expected, no_connect, allow):
    assert check_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://192.168.1.1/",
        "http://172.16.0.1/",
        "http://100.64.0.1/",
        "http://0.0.0.0/",
        "http://0/",
        "http://224.0.0.1/",
        "http://255.255.255.255/",
        "http://[fe80::1]/",
        "http://[fc00::1]/",
        "http://[fd00::1]:8080/",
        "http://[::]/",
        "http://[::ffff:10.0.0.1]/",
        "http://[::ffff:a9fe:a9fe]/",
        "http://[64:ff9b::a9fe:a9fe]/",
        "http://[2002:c0a8:101::1]/",
        "http://0xa9.0xfe.0xa9.0xfe/",
        "http://2852039166/",
        "http://10.1/",
        "https://192.168.0.1:8443/",
    ],
)
def test_private_targets_refused_without_connecting(url, no_connect, allow):
    with pytest.raises(OutboundRefused) as refused:
        check_url(url)
    assert "is not public" in refused.value.detail
    assert refused.value.code == "url_refused"
    assert refused.value.status == 400
    with pytest.raises(OutboundRefused):
        fetch_public_url(url, timeout=1)


def test_refusal_names_the_address(no_connect, allow):
    with pytest.raises(OutboundRefused) as refused:
        check_url("http://169.254.169.254/")
    assert "the address 169.254.169.254 is not public" in refused.value.detail
    with pytest.raises(OutboundRefused) as refused:
        check_url("http://[::ffff:127.0.0.1]/")
    assert "is not public (it embeds 127.0.0.1, it is loopback)" in refused.value.detail


def test_any_private_resolved_address_refuses(monkeypatch, no_connect, allow):
    answers = {
        "public.example": ["93.184.216.34"],
        "mixed.example": ["93.184.216.34", "10.0.0.5"],
        "inner.example": ["192.168.7.7"],
        "v6inner.example": ["fd00::7"],
    }

    def fake_getaddrinfo(host, port, *args, **kwargs):
        family = lambda ip: socket.AF_INET6 if ":" in ip else socket.AF_INET  # noqa: E731
        return [(family(ip), socket.SOCK_STREAM, 6, "", (ip, port)) for ip in answers[host]]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    assert check_url("https://public.example/a") == ("public.example", 443, ["93.184.216.34"])
    for host, bad in [
        ("mixed.example", "10.0.0.5"),
        ("inner.example", "192.168.7.7"),
        ("v6inner.example", "fd00::7"),
    ]:
        with pytest.raises(OutboundRefused, match=f"the address {bad} is not public"):
            check_url(f"http://{host}/")
    allow("inner.example")
    assert check_url("http://inner.example:81/") == ("inner.example", 81, ["192.168.7.7"])


def test_unresolvable_host_fails(monkeypatch, no_connect, allow):
    def fail(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fail)
    with pytest.raises(OutboundFailed, match="could not resolve"):
        check_url("http://nowhere.invalid/")


@pytest.mark.parametrize(
    "url",
    [
        "ftp://8.8.8.8/file",
        "file:///etc/passwd",
        "gopher://8.8.8.8/",
        "javascript:alert(1)",
        "data:text/plain,hello",
        "//8.8.8.8/",
        "8.8.8.8",
        "http:///nohost",
        "http://[::1/",
        "http://8.8.8.8:99999/",
        "http://8.8.8.8:0/",
        "http://bad host/",
        "http://user:pass@8.8.8.8/",
        "http://user@8.8.8.8/",
        "https://:pw@8.8.8.8/",
    ],
)
def test_malformed_and_non_http_refused(url, no_connect, allow):
    with pytest.raises(OutboundRefused):
        check_url(url)


def test_allow_entry_parsing(no_connect, allow):
    allow("[::1]:8080", "fd00::5", "files.internal:9000", "not:a:port:entry:[", "x:abc")
    assert check_url("http://[::1]:8080/")[0] == "::1"
    assert check_url("http://[fd00:0::5]:1234/")[2] == ["fd00::5"]
    with pytest.raises(OutboundRefused):
        check_url("http://[::1]:8081/")


# Real loopback servers.


def test_loopback_refused_without_allow_list(serve, allow):
    server = serve()
    for host in ("127.0.0.1", "localhost"):
        with pytest.raises(OutboundRefused, match="is not public"):
            fetch_public_url(server.url(host=host))
    server.assert_untouched()


def test_allowed_loopback_returns_identical_bytes(serve, allow):
    payload = os.urandom(300_000)
    server = serve(serve_bytes(payload, {"Content-Type": "application/octet-stream"}))
    allow(f"127.0.0.1:{server.port}")
    fetched, body = fetch_all(server.url("/file.bin?x=1"))
    assert body == payload
    assert fetched.status == 200
    assert fetched.content_length == len(payload)
    assert fetched.headers["content-type"] == "application/octet-stream"
    assert fetched.url == server.url("/file.bin?x=1")
    assert len(server.hits) == 1
    assert server.hits[0].path == "/file.bin?x=1"
    assert server.hits[0].headers["Host"] == f"127.0.0.1:{server.port}"


def test_allow_entry_without_port_allows_any_port(serve, allow):
    server = serve()
    allow("127.0.0.1")
    assert fetch_all(server.url())[1] == b"hello"


def test_allow_entry_for_another_port_does_not_open(serve, allow):
    server, other = serve(), serve()
    allow(f"127.0.0.1:{other.port}")
    with pytest.raises(OutboundRefused):
        fetch_public_url(server.url())
    server.assert_untouched()
    other.assert_untouched()


def test_allow_entry_matches_host_as_written(serve, allow):
    server = serve()
    allow(f"127.0.0.1:{server.port}")
    with pytest.raises(OutboundRefused):
        fetch_public_url(server.url(host="localhost"))
    server.assert_untouched()
    allow(f"localhost:{server.port}")
    fetched, body = fetch_all(server.url(host="LocalHost"))
    assert body == b"hello"
    assert server.hits[0].headers["Host"] == f"localhost:{server.port}"


@pytest.mark.parametrize("spelling", ["2130706433", "0177.0.0.1", "0x7f.0.0.1", "127.1", "0x7f.1"])
def test_numeric_loopback_spellings_refused(serve, allow, spelling):
    server = serve()
    with pytest.raises(OutboundRefused, match="the address 127.0.0.1 is not public"):
        fetch_public_url(server.url(host=spelling))
    allow(f"127.0.0.1:{server.port}")
    with pytest.raises(OutboundRefused, match="the address 127.0.0.1 is not public"):
        fetch_public_url(server.url(host=spelling))
    server.assert_untouched()


def test_ipv6_loopback_refused(serve, allow):
    server = serve()
    try:
        server6 = serve(address="::1")
    except OSError:
        server6 = None
    for host in ("[::1]", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "[0:0:0:0:0:0:0:1]"):
        for target in filter(None, (server, server6)):
            with pytest.raises(OutboundRefused, match="is not public"):
                fetch_public_url(target.url(host=host))
    server.assert_untouched()
    if server6 is not None:
        server6.assert_untouched()
        allow(f"[::1]:{server6.port}")
        assert fetch_all(server6.url(host="[::1]"))[1] == b"hello"
        assert server6.hits[0].headers["Host"] == f"[::1]:{server6.port}"


def test_connects_to_vetted_ip_without_second_lookup(serve, allow, monkeypatch):
    server = serve()
    real_getaddrinfo = socket.getaddrinfo
    lookups = []

    def rebinding_getaddrinfo(host, port, *args, **kwargs):
        if host == "files.example":
            lookups.append(host)
            ip = "127.0.0.1" if len(lookups) == 1 else "10.0.0.1"
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port))]
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding_getaddrinfo)
    allow(f"files.example:{server.port}")
    assert fetch_all(f"http://files.example:{server.port}/a")[1] == b"hello"
    assert lookups == ["files.example"]
    assert server.hits[0].headers["Host"] == f"files.example:{server.port}"


# Redirects.


def test_redirect_to_unallowed_loopback_port_refused(serve, allow):
    target = serve()
    start = serve(redirect_to(target.url("/secret")))
    allow(f"127.0.0.1:{start.port}")
    with pytest.raises(OutboundRefused) as refused:
        fetch_public_url(start.url())
    assert refused.value.detail.startswith(f"redirect to {target.url('/secret')} refused: ")
    assert "is not public" in refused.value.detail
    assert len(start.hits) == 1
    target.assert_untouched()


def test_redirect_to_metadata_endpoint_refused(serve, allow):
    start = serve(redirect_to("http://169.254.169.254/latest/meta-data/"))
    allow(f"127.0.0.1:{start.port}")
    with pytest.raises(OutboundRefused) as refused:
        fetch_public_url(start.url())
    assert "redirect to http://169.254.169.254/latest/meta-data/ refused" in refused.value.detail
    assert "the address 169.254.169.254 is not public" in refused.value.detail


def test_redirect_to_decimal_spelling_refused(serve, allow):
    target = serve()
    start = serve(redirect_to(f"http://2130706433:{target.port}/"))
    allow(f"127.0.0.1:{start.port}", f"127.0.0.1:{target.port}")
    with pytest.raises(OutboundRefused, match="redirect to .* refused"):
        fetch_public_url(start.url())
    target.assert_untouched()


@pytest.mark.parametrize("location", ["ftp://8.8.8.8/x", "file:///etc/passwd", "http://u:p@x/"])
def test_redirect_to_bad_scheme_or_credentials_refused(serve, allow, location):
    start = serve(redirect_to(location))
    allow(f"127.0.0.1:{start.port}")
    with pytest.raises(OutboundRefused, match="redirect to .* refused"):
        fetch_public_url(start.url())


def test_relative_redirects_followed_when_allowed(serve, allow):
    def respond(handler):
        routes = {
            "/a/start": redirect_to("next", 301),
            "/a/next": redirect_to("/b/final?q=1", 308),
            "/b/final?q=1": serve_bytes(b"arrived"),
        }
        routes[handler.path](handler)

    server = serve(respond)
    allow(f"127.0.0.1:{server.port}")
    fetched, body = fetch_all(server.url("/a/start"))
    assert body == b"arrived"
    assert fetched.url == server.url("/b/final?q=1")
    assert [hit.path for hit in server.hits] == ["/a/start", "/a/next", "/b/final?q=1"]


def test_redirect_between_allowed_servers_drops_credentials(serve, allow):
    target = serve()
    start = serve(redirect_to(target.url("/x"), 307))
    allow(f"127.0.0.1:{start.port}", f"127.0.0.1:{target.port}")
    headers = {"Authorization": "Bearer s3cret", "X-Trace": "1"}
    assert fetch_all(start.url(), headers=headers)[1] == b"hello"
    assert start.hits[0].headers["Authorization"] == "Bearer s3cret"
    assert "Authorization" not in target.hits[0].headers
    assert target.hits[0].headers["X-Trace"] == "1"
    assert target.hits[0].headers["Host"] == f"127.0.0.1:{target.port}"


def hop_server(serve, allow):
    def respond(handler):
        hop = int(handler.path.strip("/"))
        if hop == 0:
            send(handler, body=b"landed")
        else:
            redirect_to(f"/{hop - 1}")(handler)

    server = serve(respond)
    allow(f"127.0.0.1:{server.port}")
    return server


def test_five_redirects_are_followed(serve, allow):
    server = hop_server(serve, allow)
    assert fetch_all(server.url("/5"))[1] == b"landed"
    assert len(server.hits) == 6


def test_too_many_redirects_fail(serve, allow):
    server = hop_server(serve, allow)
    with pytest.raises(OutboundFailed, match="too many redirects"):
        fetch_public_url(server.url("/6"))
    assert len(server.hits) == 6


def test_redirect_without_location_fails(serve, allow):
    server = serve(lambda handler: send(handler, 302))
    allow(f"127.0.0.1:{server.port}")
    with pytest.raises(OutboundFailed):
        fetch_public_url(server.url())


def test_post_without_following_returns_3xx(serve, allow):
    server = serve(redirect_to("http://169.254.169.254/", 302))
    allow(f"127.0.0.1:{server.port}")
    with fetch_public_url(
        server.url("/hook"),
        method="POST",
        body=b'{"event": "x"}',
        headers={"Content-Type": "application/json"},
        follow_redirects=False,
    ) as fetched:
        assert fetched.status == 302
        assert fetched.headers["Location"] == "http://169.254.169.254/"
        assert fetched.read() == b""
    assert len(server.hits) == 1
    hit = server.hits[0]
    assert (hit.method, hit.body, hit.headers["Content-Type"]) == (
        "POST",
        b'{"event": "x"}',
        "application/json",
    )


def test_post_redirects_303_to_get_and_307_keeps_post(serve, allow):
    def respond(handler):
        if handler.path == "/see-other":
            redirect_to("/landing", 303)(handler)
        elif handler.path == "/temporary":
            redirect_to("/landing", 307)(handler)
        else:
            send(handler, body=handler.command.encode())

    server = serve(respond)
    allow(f"127.0.0.1:{server.port}")
    assert fetch_all(server.url("/see-other"), method="POST", body=b"data")[1] == b"GET"
    assert fetch_all(server.url("/temporary"), method="POST", body=b"data")[1] == b"POST"
    assert [(h.method, h.path, h.body) for h in server.hits] == [
        ("POST", "/see-other", b"data"),
        ("GET", "/landing", b""),
        ("POST", "/temporary", b"data"),
        ("POST", "/landing", b"data"),
    ]


# Status, size and time limits.


@pytest.mark.parametrize("status", [404, 500, 204, 304])
def test_status_handling(serve, allow, status):
    server = serve(
        lambda handler: send(handler, status, body=b"" if status in (204, 304) else b"no")
    )
    allow(f"127.0.0.1:{server.port}")
    if status == 204:
        assert fetch_all(server.url())[0].status == 204
        return
    with pytest.raises(OutboundFailed, match=f"HTTP {status}"):
        fetch_public_url(server.url())


def test_connection_refused_fails(allow):
    port = free_port()
    allow(f"127.0.0.1:{port}")
    with pytest.raises(OutboundFailed):
        fetch_public_url(f"http://127.0.0.1:{port}/", timeout=2)


def test_content_length_over_cap_refused_up_front(serve, allow, settings):
    server = serve(serve_bytes(b"x" * 2000))
    allow(f"127.0.0.1:{server.port}")
    with pytest.raises(TooLarge) as too_large:
        fetch_public_url(server.url(), max_bytes=1999)
    assert too_large.value.status == 413
    assert fetch_all(server.url(), max_bytes=2000)[1] == b"x" * 2000
    settings.OPENPICKER_FETCH_MAX_BYTES = 100
    with pytest.raises(TooLarge):
        fetch_public_url(server.url())


def chunked(handler, chunks):
    handler.send_response(200)
    handler.send_header("Transfer-Encoding", "chunked")
    handler.send_header("Connection", "close")
    handler.end_headers()
    for chunk in chunks:
        handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    handler.wfile.write(b"0\r\n\r\n")


def test_chunked_body_over_cap_aborts_while_streaming(serve, allow):
    server = serve(lambda handler: chunked(handler, [b"y" * 500] * 10))
    allow(f"127.0.0.1:{server.port}")
    with fetch_public_url(server.url(), max_bytes=1200) as fetched:
        assert fetched.content_length is None
        received = b""
        with pytest.raises(TooLarge):
            while chunk := fetched.read(300):
                received += chunk
        assert len(received) <= 1200
    assert fetch_all(server.url(), max_bytes=5000)[1] == b"y" * 5000


def test_unbounded_stream_without_length_aborts_at_cap(serve, allow):
    sent = []

    def endless(handler):
        handler.send_response(200)
        handler.send_header("Connection", "close")
        handler.end_headers()
        try:
            for _ in range(2000):
                handler.wfile.write(b"z" * 65536)
                sent.append(65536)
        except OSError:
            pass

    server = serve(endless)
    allow(f"127.0.0.1:{server.port}")
    with fetch_public_url(server.url(), max_bytes=256 * 1024) as fetched:
        assert fetched.content_length is None
        total = 0
        with pytest.raises(TooLarge, match="larger than 262144 bytes"):
            for chunk in fetched.iter_chunks(64 * 1024):
                total += len(chunk)
        assert total <= 256 * 1024
    time.sleep(0.05)
    assert sum(sent) < 2000 * 65536


def test_response_is_streamed_not_preloaded(serve, allow):
    release = threading.Event()

    def slow_tail(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", "10")
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.wfile.write(b"first")
        handler.wfile.flush()
        release.wait(5)
        handler.wfile.write(b"-last")

    server = serve(slow_tail)
    allow(f"127.0.0.1:{server.port}")
    with fetch_public_url(server.url(), timeout=5) as fetched:
        assert fetched.read(5) == b"first"
        release.set()
        assert fetched.read() == b"-last"
        assert fetched.read(5) == b""


def test_slow_server_hits_deadline(serve, allow):
    server = serve(lambda handler: (time.sleep(3), send(handler, body=b"late")))
    allow(f"127.0.0.1:{server.port}")
    started = time.monotonic()
    with pytest.raises(OutboundFailed, match="took longer than 0.5s"):
        fetch_public_url(server.url(), timeout=0.5)
    assert time.monotonic() - started < 1.5


def test_default_deadline_comes_from_settings(serve, allow, settings):
    server = serve(lambda handler: (time.sleep(3), send(handler, body=b"late")))
    allow(f"127.0.0.1:{server.port}")
    settings.OPENPICKER_FETCH_TIMEOUT = 0.3
    started = time.monotonic()
    with pytest.raises(OutboundFailed):
        fetch_public_url(server.url())
    assert time.monotonic() - started < 1.3


def test_dripping_body_hits_deadline_while_streaming(serve, allow):
    def drip(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", "1000")
        handler.send_header("Connection", "close")
        handler.end_headers()
        try:
            for _ in range(1000):
                handler.wfile.write(b"d")
                handler.wfile.flush()
                time.sleep(0.05)
        except OSError:
            pass

    server = serve(drip)
    allow(f"127.0.0.1:{server.port}")
    started = time.monotonic()
    with fetch_public_url(server.url(), timeout=0.6) as fetched:
        with pytest.raises(OutboundFailed, match="took longer than 0.6s"):
            fetched.read()
    assert time.monotonic() - started < 1.5


def test_truncated_body_fails(serve, allow):
    server = serve(serve_bytes(b"short", {"Content-Length": "100"}))
    allow(f"127.0.0.1:{server.port}")
    with fetch_public_url(server.url()) as fetched, pytest.raises(OutboundFailed):
        fetched.read()


def test_read_after_close_is_an_error(serve, allow):
    server = serve(serve_bytes(b"abcdef"))
    allow(f"127.0.0.1:{server.port}")
    fetched = fetch_public_url(server.url())
    assert fetched.read(2) == b"ab"
    fetched.close()
    fetched.close()
    with pytest.raises(ValueError):
        fetched.read(2)


# TLS verifies the real host name while connecting to the vetted IP.


@pytest.fixture(scope="module")
def localhost_cert(tmp_path_factory):
    """A certificate naming localhost only (not 127.0.0.1)."""
    directory = tmp_path_factory.mktemp("tls")
    cert_path, key_path = self_signed_cert(directory, ips=(), dns=("localhost",))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    return str(cert_path), context


def test_https_verifies_hostname_against_vetted_ip(serve, allow, monkeypatch, localhost_cert):
    cert_path, context = localhost_cert
    server = serve(serve_bytes(b"secure"), tls=context)
    allow(f"localhost:{server.port}", f"127.0.0.1:{server.port}")
    with pytest.raises(OutboundFailed):
        fetch_public_url(server.url(host="localhost", scheme="https"), timeout=3)
    assert server.hits == []
    monkeypatch.setattr(outbound, "_ca_bundle", lambda: cert_path)
    fetched, body = fetch_all(server.url(host="localhost", scheme="https"), timeout=3)
    assert body == b"secure"
    assert server.hits[0].headers["Host"] == f"localhost:{server.port}"
    with pytest.raises(OutboundFailed):
        fetch_public_url(server.url(host="127.0.0.1", scheme="https"), timeout=3)
    assert len(server.hits) == 1


def test_post_over_https_verifies_the_host_name_and_follows_nothing(
    serve, allow, monkeypatch, localhost_cert
):
    cert_path, context = localhost_cert
    server = serve(redirect_to("https://localhost/elsewhere", 307), tls=context)
    allow(f"localhost:{server.port}", f"127.0.0.1:{server.port}")
    monkeypatch.setattr(outbound, "_ca_bundle", lambda: cert_path)
    with pytest.raises(OutboundFailed):
        request_public_url("POST", server.url("/hook", scheme="https"), body=b"{}", timeout=3)
    assert server.hits == []
    with request_public_url(
        "POST", server.url("/hook", host="localhost", scheme="https"), body=b"{}", timeout=3
    ) as reply:
        assert reply.status == 307
    assert [(hit.method, hit.path, hit.body) for hit in server.hits] == [("POST", "/hook", b"{}")]


# Failed fetches carry the status code and the first KB of the reply.


@pytest.mark.parametrize(
    ("status", "reply"),
    [(404, b"no such photo"), (503, bytes(range(256)) * 20), (300, b"choose")],
)
def test_a_failed_fetch_carries_the_status_code_and_the_first_kb(serve, allow, status, reply):
    server = serve(lambda handler: send(handler, status, body=reply))
    allow(f"127.0.0.1:{server.port}")
    with pytest.raises(OutboundStatus) as failed:
        fetch_public_url(server.url())
    assert failed.value.status_code == status
    assert failed.value.reply == reply[:1024]
    assert failed.value.code == "url_fetch_failed" and failed.value.status == 400
    assert f"HTTP {status}" in failed.value.detail


def test_request_public_url_returns_any_status_with_its_reply(serve, allow):
    reply = b"x" * 3000
    server = serve(lambda handler: send(handler, 500, body=reply))
    allow(f"127.0.0.1:{server.port}")
    with request_public_url("POST", server.url("/hook"), body=b"payload") as answer:
        assert answer.status == 500
        assert answer.excerpt() == reply[:1024]
        with pytest.raises(OutboundStatus) as failed:
            answer.raise_for_status()
    assert failed.value.status_code == 500
    assert server.hits[0].body == b"payload"


def test_post_with_a_body_follows_no_redirect_by_default(serve, allow):
    landing = serve()
    server = serve(redirect_to(landing.url("/landing"), 308))
    allow(f"127.0.0.1:{server.port}", f"127.0.0.1:{landing.port}")
    with request_public_url(
        "POST",
        server.url("/hook"),
        body=b'{"action": "fp.upload"}',
        headers={"Content-Type": "application/json", "FS-Signature": "abc"},
    ) as reply:
        assert reply.status == 308
        assert reply.headers["Location"] == landing.url("/landing")
    assert len(server.hits) == 1
    hit = server.hits[0]
    assert (hit.method, hit.body) == ("POST", b'{"action": "fp.upload"}')
    assert hit.headers["Content-Type"] == "application/json"
    assert hit.headers["FS-Signature"] == "abc"
    landing.assert_untouched()


def test_request_public_url_keeps_the_guard(serve, allow, monkeypatch, no_connect):
    with pytest.raises(OutboundRefused):
        request_public_url("POST", "http://169.254.169.254/latest/", body=b"x")
    with pytest.raises(OutboundRefused):
        request_public_url("POST", "http://10.1.2.3:8080/hook", body=b"x")


# The connect timeout is per address, apart from the total deadline.


@pytest.fixture
def black_hole():
    """A loopback listener with a full accept queue: connecting to it hangs (SYNs are dropped)."""
    sockets = []

    def make(port: int = 0, address: str = "127.0.0.2") -> int:
        listener = socket.socket()
        listener.bind((address, port))
        listener.listen(0)
        filler = socket.create_connection(listener.getsockname(), timeout=1)
        sockets.extend([listener, filler])
        probe = socket.socket()
        probe.settimeout(0.2)
        with pytest.raises(TimeoutError):
            probe.connect(listener.getsockname())
        probe.close()
        return listener.getsockname()[1]

    yield make
    for sock in sockets:
        sock.close()


def test_an_address_that_never_accepts_fails_at_the_connect_timeout(black_hole, allow):
    port = black_hole()
    allow(f"127.0.0.2:{port}")
    started = time.monotonic()
    with pytest.raises(OutboundFailed, match="could not connect"):
        fetch_public_url(f"http://127.0.0.2:{port}/", timeout=10, connect_timeout=0.4)
    assert 0.3 < time.monotonic() - started < 2


def test_the_connect_timeout_comes_from_settings(black_hole, allow, settings):
    port = black_hole()
    allow(f"127.0.0.2:{port}")
    settings.OPENPICKER_FETCH_CONNECT_TIMEOUT = 0.3
    settings.OPENPICKER_FETCH_TIMEOUT = 10
    started = time.monotonic()
    with pytest.raises(OutboundFailed, match="could not connect"):
        fetch_public_url(f"http://127.0.0.2:{port}/")
    assert time.monotonic() - started < 1.5


def test_a_dead_address_leaves_the_deadline_to_the_next(serve, black_hole, allow, monkeypatch):
    server = serve(serve_bytes(b"from the second address"))
    black_hole(port=server.port)
    real_getaddrinfo = socket.getaddrinfo

    def two_addresses(host, port, *args, **kwargs):
        if host == "two.example":
            return [
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.2", port)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port)),
            ]
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", two_addresses)
    allow(f"two.example:{server.port}")
    url = f"http://two.example:{server.port}/"
    started = time.monotonic()
    assert fetch_all(url, timeout=10, connect_timeout=0.4)[1] == b"from the second address"
    assert time.monotonic() - started < 2
    # With the connect timeout as long as the deadline, the dead address uses all of it.
    with pytest.raises(OutboundFailed, match="took longer than 0.8s"):
        fetch_public_url(url, timeout=0.8, connect_timeout=5)
    assert len(server.hits) == 1


def test_the_connect_timeout_does_not_cut_a_slow_answer(serve, allow):
    server = serve(lambda handler: (time.sleep(1), send(handler, body=b"worth the wait")))
    allow(f"127.0.0.1:{server.port}")
    assert fetch_all(server.url(), timeout=5, connect_timeout=0.2)[1] == b"worth the wait"
