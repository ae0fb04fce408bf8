"""The outbound-fetch guard: every server-side fetch of a user-supplied URL goes through here.

A URL is vetted (scheme, no credentials, every resolved address public unless the host is on
OPENPICKER_OUTBOUND_ALLOW), then fetched from the vetted IP itself so a second DNS answer cannot
point the connection elsewhere (HTTPS still verifies the certificate against the host name).
Redirects are followed by hand and vetted hop by hop; the body is streamed under a size cap and a
wall-clock deadline. Each address gets at most the connect timeout, so an address that drops
packets leaves the rest of the deadline to the next one.

`request_public_url` is the general call (any method, a body, redirects not followed unless
asked, any status returned: the webhook sender and the providers use it); `fetch_public_url`
is a GET that follows redirects and raises OutboundStatus, carrying the status code and the
first KB of the reply, unless the answer is a success.
"""

from __future__ import annotations

import http.client
import ipaddress
import logging
import re
import socket
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import TracebackType
from urllib.parse import urljoin, urlsplit

import urllib3
from django.conf import settings
from urllib3.exceptions import ConnectTimeoutError
from urllib3.exceptions import HTTPError as Urllib3Error

from picker.errors import OutboundFailed, OutboundRefused, OutboundStatus, TooLarge

try:
    import certifi
except ImportError:  # pragma: no cover
    certifi = None

logger = logging.getLogger(__name__)

MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
DEFAULT_PORTS = {"http": 80, "https": 443}
USER_AGENT = "OpenPicker/1.0 (+outbound fetch)"
CREDENTIAL_HEADERS = ("authorization", "cookie", "proxy-authorization")
REPLY_EXCERPT_BYTES = 1024

_HOSTNAME_RE = re.compile(r"^[a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_])?\.?$")
_NUMERIC_HOST_RE = re.compile(r"^[0-9a-fx.]+$")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

_NETWORK_ERRORS = (Urllib3Error, http.client.HTTPException, OSError, ValueError)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv4-mapped, NAT64 or 6to4 IPv6 address carries, if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.sixtofour


def _address_problem(ip: Address) -> str | None:
    """Why the address may not be fetched from, or None when it is a public unicast address."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            problem = _address_problem(embedded)
            return f"it embeds {embedded}, {problem}" if problem else None
        if ip in _NAT64_LOCAL:
            return "it is a local-use NAT64 address"
        if ip.is_site_local:
            return "it is site-local"
    checks = (
        (ip.is_unspecified, "it is unspecified"),
        (ip.is_loopback, "it is loopback"),
        (ip.is_link_local, "it is link-local"),
        (ip.is_multicast, "it is multicast"),
        (ip.is_private, "it is private"),
        (ip.is_reserved, "it is reserved"),
        (not ip.is_global, "it is not globally routable"),
    )
    return next((reason for failed, reason in checks if failed), None)


def is_public_address(address: str | Address) -> bool:
    """Whether an IP address (text or ipaddress object) is one the guard will connect to."""
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    return _address_problem(ip) is None


def _ip_literal(host: str) -> Address | None:
    """The address a host written as an IP (any inet_aton spelling for IPv4) stands for."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _NUMERIC_HOST_RE.match(host) and not host.endswith("."):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def _normalise_host(host: str) -> str:
    """A lowercased ASCII host; IPv6 literals compressed and unbracketed. Raises ValueError."""
    host = host.strip().lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if ":" in host:
        return ipaddress.IPv6Address(host.split("%", 1)[0]).compressed
    if not host.isascii():
        host = host.encode("idna").decode("ascii")
    if not _HOSTNAME_RE.match(host):
        raise ValueError(f"invalid host name {host!r}")
    return host


def _parse_allow_entry(entry: str) -> tuple[str, int | None]:
    """An OPENPICKER_OUTBOUND_ALLOW entry (host, host:port, [v6]:port or a bare v6) as a pair."""
    entry = entry.strip()
    port: str | None = None
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"invalid entry {entry!r}")
            port = rest[1:]
    elif entry.count(":") == 1:
        host, port = entry.split(":")
    else:
        host = entry
    number = None
    if port is not None:
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"invalid port in {entry!r}")
        number = int(port)
    return _normalise_host(host), number


def _is_allowed(host: str, port: int) -> bool:
    """Whether host (as written in the URL) and port match an OPENPICKER_OUTBOUND_ALLOW entry."""
    for entry in getattr(settings, "OPENPICKER_OUTBOUND_ALLOW", None) or []:
        try:
            allowed_host, allowed_port = _parse_allow_entry(entry)
        except ValueError:
            logger.warning("ignoring malformed OPENPICKER_OUTBOUND_ALLOW entry %r", entry)
            continue
        if allowed_host == host and allowed_port in (None, port):
            return True
    return False


def _resolve(host: str, port: int) -> list[Address]:
    """Every address the host resolves to, in resolver order, without duplicates."""
    literal = _ip_literal(host)
    if literal is not None:
        return [literal]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise OutboundFailed(f"could not resolve {host}: {exc}") from None
    addresses: list[Address] = []
    for *_, sockaddr in infos:
        ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if ip not in addresses:
            addresses.append(ip)
    if not addresses:
        raise OutboundFailed(f"could not resolve {host}")
    return addresses


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str
    port: int
    ips: list[str]
    target: str

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"


def _vet(url: str) -> _Target:
    """Parse and vet a URL; raises OutboundRefused, or OutboundFailed if the host won't resolve."""
    try:
        parts = urlsplit(url)
        port = parts.port
        raw_host = parts.hostname
    except ValueError as exc:
        raise OutboundRefused(f"the URL is malformed: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise OutboundRefused(f"only http and https URLs can be fetched, not {scheme or 'none'!r}")
    if "@" in parts.netloc:
        raise OutboundRefused("URLs with credentials (user:password@) cannot be fetched")
    if not raw_host:
        raise OutboundRefused("the URL has no host")
    try:
        host = _normalise_host(raw_host)
    except (ValueError, UnicodeError):
        raise OutboundRefused(f"the host {raw_host!r} is not valid") from None
    if port is None:
        port = DEFAULT_PORTS[scheme]
    elif port == 0:
        raise OutboundRefused("port 0 cannot be fetched")
    addresses = _resolve(host, port)
    if not _is_allowed(host, port):
        for ip in addresses:
            problem = _address_problem(ip)
            if problem:
                raise OutboundRefused(f"the address {ip} is not public ({problem})")
    target = parts.path or "/"
    if parts.query:
        target = f"{target}?{parts.query}"
    return _Target(scheme, host, port, [str(ip) for ip in addresses], target)


def check_url(url: str) -> tuple[str, int, list[str]]:
    """Vet a URL and return (host, port, vetted IPs); raises OutboundRefused when it may not go."""
    target = _vet(url)
    return target.host, target.port, target.ips


def _ca_bundle() -> str | None:
    """The CA bundle HTTPS fetches verify against (certifi's, else the system default)."""
    return certifi.where() if certifi is not None else None


def _pool(
    target: _Target, ip: str, timeout: float, connect_timeout: float
) -> urllib3.HTTPConnectionPool:
    """A single-connection pool pinned to a vetted IP."""
    options = {
        "timeout": urllib3.Timeout(connect=min(connect_timeout, timeout), read=timeout),
        "maxsize": 1,
        "retries": False,
    }
    if target.scheme == "http":
        return urllib3.HTTPConnectionPool(ip, target.port, **options)
    return urllib3.HTTPSConnectionPool(
        ip,
        target.port,
        server_hostname=target.host,
        assert_hostname=target.host,
        cert_reqs="CERT_REQUIRED",
        ca_certs=_ca_bundle(),
        **options,
    )


def _shorten(url: str, limit: int = 200) -> str:
    return url if len(url) <= limit else url[: limit - 3] + "..."


class Fetched:
    """A streamed response from fetch_public_url; reads enforce the size cap and the deadline."""

    def __init__(
        self,
        url: str,
        response: urllib3.BaseHTTPResponse,
        pool: urllib3.HTTPConnectionPool,
        max_bytes: int,
        deadline: float,
        timeout: float,
    ):
        self.url = url
        self.status: int = response.status
        self.headers: Mapping[str, str] = response.headers
        self.content_length = self._declared_length(response.headers)
        self._response = response
        self._pool = pool
        self._max_bytes = max_bytes
        self._deadline = deadline
        self._timeout = timeout
        self._received = 0
        self._eof = False
        self._closed = False

    @staticmethod
    def _declared_length(headers: Mapping[str, str]) -> int | None:
        """The Content-Length header as an int, or None when absent, invalid or chunked."""
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return None
        value = headers.get("content-length", "").strip()
        return int(value) if value.isdigit() else None

    def __enter__(self) -> Fetched:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the connection; safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        try:
            self._response.close()
        except _NETWORK_ERRORS:
            pass
        self._pool.close()

    def _remaining(self) -> float:
        """Seconds left before the deadline; closes and raises OutboundFailed once it has passed."""
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            self.close()
            raise OutboundFailed(
                f"fetching {_shorten(self.url)} took longer than {self._timeout:g}s"
            )
        return remaining

    def _tighten_socket_timeout(self, remaining: float) -> None:
        """Make the next socket read give up when the deadline passes."""
        connection = self._response.connection
        sock = getattr(connection, "sock", None)
        if sock is not None:
            sock.settimeout(remaining)

    def read(self, n: int = -1) -> bytes:
        """Up to n bytes of the body (all of it when n < 0); b"" at the end."""
        if n is None or n < 0:
            return b"".join(self.iter_chunks())
        if self._eof or n == 0:
            return b""
        if self._closed:
            raise ValueError("read from a closed Fetched response")
        remaining = self._remaining()
        try:
            self._tighten_socket_timeout(remaining)
            data = self._response.read1(min(n, self._max_bytes - self._received + 1)) or b""
        except _NETWORK_ERRORS as exc:
            self.close()
            if time.monotonic() >= self._deadline:
                raise OutboundFailed(
                    f"fetching {_shorten(self.url)} took longer than {self._timeout:g}s"
                ) from None
            raise OutboundFailed(f"reading {_shorten(self.url)} failed: {exc}") from None
        self._received += len(data)
        if self._received > self._max_bytes:
            self.close()
            raise TooLarge(f"the response is larger than {self._max_bytes} bytes")
        if not data:
            self._eof = True
            self.close()
        return data

    def iter_chunks(self, size: int = 1 << 20) -> Iterator[bytes]:
        """Yield the body in chunks of at most size bytes."""
        while chunk := self.read(size):
            yield chunk

    def excerpt(self, limit: int = REPLY_EXCERPT_BYTES) -> bytes:
        """Up to `limit` bytes of the body (what an error or a delivery log keeps of a reply)."""
        parts: list[bytes] = []
        got = 0
        try:
            while got < limit and (chunk := self.read(limit - got)):
                parts.append(chunk)
                got += len(chunk)
        except (OutboundFailed, TooLarge):
            pass
        return b"".join(parts)

    def raise_for_status(self) -> None:
        """Raise OutboundStatus (status code, first KB of the reply) unless the answer is 2xx."""
        if 200 <= self.status < 300:
            return
        reply = self.excerpt()
        self.close()
        raise OutboundStatus(
            f"{_shorten(self.url)} answered HTTP {self.status}",
            status_code=self.status,
            reply=reply,
        )


def _open(
    target: _Target,
    url: str,
    method: str,
    body: bytes | None,
    headers: urllib3.HTTPHeaderDict,
    deadline: float,
    timeout: float,
    connect_timeout: float,
) -> tuple[urllib3.BaseHTTPResponse, urllib3.HTTPConnectionPool]:
    """Send one request to the first vetted IP that accepts a connection in time."""
    last_error: BaseException | None = None
    for ip in target.ips:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        pool = _pool(target, ip, remaining, connect_timeout)
        try:
            response = pool.urlopen(
                method,
                target.target,
                body=body,
                headers=headers,
                redirect=False,
                retries=False,
                preload_content=False,
                decode_content=False,
                release_conn=False,
                assert_same_host=False,
            )
        except ConnectTimeoutError as exc:  # refused (NewConnectionError) or timed out
            pool.close()
            last_error = exc
            continue
        except _NETWORK_ERRORS as exc:
            pool.close()
            if time.monotonic() >= deadline:
                break
            raise OutboundFailed(f"fetching {_shorten(url)} failed: {exc}") from None
        return response, pool
    if last_error is not None and time.monotonic() < deadline:
        raise OutboundFailed(f"could not connect to {_shorten(url)}: {last_error}")
    raise OutboundFailed(f"fetching {_shorten(url)} took longer than {timeout:g}s")


def _request_headers(extra: dict | None, target: _Target) -> urllib3.HTTPHeaderDict:
    """The caller's headers plus our defaults, with Host set to the vetted host."""
    merged = urllib3.HTTPHeaderDict({"User-Agent": USER_AGENT, "Accept-Encoding": "identity"})
    for name, value in (extra or {}).items():
        merged[name] = value
    merged["Host"] = target.host_header
    return merged


def request_public_url(
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    headers: dict | None = None,
    follow_redirects: bool = False,
    max_bytes: int | None = None,
    timeout: float | None = None,
    connect_timeout: float | None = None,
) -> Fetched:
    """Send a request to a user-supplied URL through the guard; the response, whatever its status.

    Redirects are not followed unless asked (a webhook is delivered to the URL given, never to
    where it points); when they are, each hop is vetted and credentials stay with their host.
    """
    limit = settings.OPENPICKER_FETCH_MAX_BYTES if max_bytes is None else max_bytes
    seconds = float(settings.OPENPICKER_FETCH_TIMEOUT if timeout is None else timeout)
    connect_seconds = float(
        settings.OPENPICKER_FETCH_CONNECT_TIMEOUT if connect_timeout is None else connect_timeout
    )
    deadline = time.monotonic() + seconds
    method = method.upper()
    extra = dict(headers or {})
    target = _vet(url)
    redirects = 0
    while True:
        response, pool = _open(
            target,
            url,
            method,
            body,
            _request_headers(extra, target),
            deadline,
            seconds,
            connect_seconds,
        )
        fetched = Fetched(url, response, pool, limit, deadline, seconds)
        if not (follow_redirects and fetched.status in REDIRECT_STATUSES):
            return fetched
        location = fetched.headers.get("location")
        fetched.close()
        if not location:
            raise OutboundFailed(f"{_shorten(url)} redirected without a Location")
        if redirects == MAX_REDIRECTS:
            raise OutboundFailed(f"too many redirects (more than {MAX_REDIRECTS})")
        redirects += 1
        next_url = urljoin(url, location.strip())
        try:
            next_target = _vet(next_url)
        except OutboundRefused as exc:
            raise OutboundRefused(
                f"redirect to {_shorten(next_url)} refused: {exc.detail}"
            ) from None
        if fetched.status == 303 or (fetched.status in (301, 302) and method == "POST"):
            method = "HEAD" if method == "HEAD" else "GET"
            body = None
            extra = {k: v for k, v in extra.items() if k.lower() != "content-type"}
        if (next_target.host, next_target.port) != (target.host, target.port):
            extra = {k: v for k, v in extra.items() if k.lower() not in CREDENTIAL_HEADERS}
        url, target = next_url, next_target


def fetch_public_url(
    url: str,
    *,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict | None = None,
    max_bytes: int | None = None,
    timeout: float | None = None,
    connect_timeout: float | None = None,
    follow_redirects: bool = True,
) -> Fetched:
    """Fetch a user-supplied URL through the guard: the streamed answer, if it is a success.

    Anything else raises: OutboundStatus (with the status code and the first KB of the reply)
    for a 4xx/5xx, or a 3xx that was to be followed; TooLarge for a declared length over the cap.
    """
    limit = settings.OPENPICKER_FETCH_MAX_BYTES if max_bytes is None else max_bytes
    fetched = request_public_url(
        method,
        url,
        body=body,
        headers=headers,
        follow_redirects=follow_redirects,
        max_bytes=limit,
        timeout=timeout,
        connect_timeout=connect_timeout,
    )
    if not (not follow_redirects and 300 <= fetched.status < 400):
        fetched.raise_for_status()
    if fetched.content_length is not None and fetched.content_length > limit:
        fetched.close()
        raise TooLarge(f"the response is {fetched.content_length} bytes, over {limit}")
    return fetched
