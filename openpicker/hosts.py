"""Host-based aliases: cdn./upload./cloud./process. hosts act as path prefixes, www. as the root.

This is what makes the SDKs' `cname` options work against one OpenPicker deployment.
"""

from django.http import HttpRequest

HOST_PREFIXES = {"cdn": "/cdn", "upload": "/upload", "cloud": "/cloud", "process": "/process"}


def alias_prefix(host: str) -> str:
    """The path prefix a Host header stands for ('' for www. and every other host)."""
    label = host.split(".", 1)[0].lower() if "." in host else ""
    return HOST_PREFIXES.get(label, "")


class HostAliasMiddleware:
    """Rewrite path_info for aliased hosts before URL resolution."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        prefix = alias_prefix(
            request.get_host().rsplit(":", 1)[0] if request.META.get("HTTP_HOST") else ""
        )
        if prefix:
            path = request.path_info
            if path != prefix and not path.startswith(prefix + "/"):
                request.path_info = prefix + path
                request.path = request.META.get("SCRIPT_NAME", "") + request.path_info
        return self.get_response(request)
