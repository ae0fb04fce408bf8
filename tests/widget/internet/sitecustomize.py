"""Imported by the test server's Python processes only (its PYTHONPATH starts here): answers a
public host name from a local HTTPS server, as an /etc/hosts line and a private CA would.

The seeds' export sample names https://www.filestackapi.com/api/file/qHi4LxRh28IeEBdJcFpw,
which cannot be reached from here; the server must still fetch it through its outbound guard
(resolve, vet, pin the IP, verify the certificate for that name). OPENPICKER_TEST_HOST is
`name=ip:port` and OPENPICKER_TEST_CA the certificate to trust besides certifi's bundle.
"""

import os
import socket

_HOST = os.environ.get("OPENPICKER_TEST_HOST", "")
_CA = os.environ.get("OPENPICKER_TEST_CA", "")

if _HOST and _CA:
    import certifi

    _name, _, _target = _HOST.partition("=")
    _ip, _, _port = _target.rpartition(":")
    _real_getaddrinfo = socket.getaddrinfo

    def _getaddrinfo(host, port, *args, **kwargs):
        # The name resolves to the local IP; that IP's HTTPS port is the local server's.
        if host == _name:
            host = _ip
        if host == _ip and str(port) == "443":
            port = int(_port)
        return _real_getaddrinfo(host, port, *args, **kwargs)

    socket.getaddrinfo = _getaddrinfo
    certifi.where = lambda: _CA
