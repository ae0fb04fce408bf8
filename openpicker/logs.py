"""Structured logs: one JSON line per request and per task, secrets scrubbed from every line.

- `RequestLogMiddleware` (first in MIDDLEWARE) gives each request an id (a sane incoming
  `X-Request-ID`, else a new one), answers it in `X-Request-ID`, and writes one line: request
  id, app id, route (the URL pattern, never the path or query, which can carry a policy or a
  CDN `security=` task), method, status, duration. It also times the request for /metrics.
- The request id travels in the headers of every Celery task published while it is current
  (`before_task_publish`), and the worker makes it current again while the task runs, so the
  task's own line, and the tasks it queues, carry it (`connect_celery`).
- `JsonFormatter` is python-json-logger's, with `scrub()` applied to the finished line: query
  parameters and fields named like credentials, CDN security tasks, Authorization headers and
  passwords in URLs are replaced by "[redacted]", whatever logger wrote them.
- `GunicornLogger`: gunicorn's own lines through the same formatter; its access log, when an
  operator turns it on, is a JSON line without the query string.
"""

from __future__ import annotations

import contextvars
import logging
import re
import time
import uuid

from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

REDACTED = "[redacted]"
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "openpicker_request_id", default=None
)
HEADER = "openpicker_request_id"  # the Celery message header carrying it
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

_CREDENTIAL_NAMES = (
    r"policy|signature|secret|client_secret|password|passwd|token|access_token|refresh_token"
    r"|id_token|oauth_token|oauth_token_secret|oauth_verifier|oauth_signature|code|state"
    r"|apikey|key|sig|x-amz-signature|x-amz-credential|x-amz-security-token"
)
_PATTERNS = [
    # CDN security task: security=p:…,s:… or security=policy:…,signature:… up to the next /.
    (re.compile(r"(security=)[^/\s\"'\\]+", re.I), r"\1" + REDACTED),
    # Authorization / Proxy-Authorization header values (Basic, Bearer, anything).
    (
        re.compile(r"((?:proxy-)?authorization[\"']?\s*[:=]\s*[\"']?)[^\"'\r\n\\]+", re.I),
        r"\1" + REDACTED,
    ),
    (re.compile(r"\b(Basic|Bearer)\s+[A-Za-z0-9._~+/=-]{6,}", re.I), r"\1 " + REDACTED),
    # user:password@ in URLs.
    (re.compile(r"(://)[^/@\s\"']+:[^/@\s\"']*@"), r"\1" + REDACTED + "@"),
    # name=value in query strings, forms and key=value text.
    (
        re.compile(rf"(?<![A-Za-z0-9_-])({_CREDENTIAL_NAMES})=[^&\s\"'\\,;]+", re.I),
        r"\1=" + REDACTED,
    ),
    # "name": "value" in JSON text (a logged body or dict).
    (
        re.compile(rf"([\"']({_CREDENTIAL_NAMES})[\"']\s*:\s*[\"'])[^\"']*", re.I),
        r"\1" + REDACTED,
    ),
]


def scrub(text: str) -> str:
    """The text with every credential-looking value replaced by [redacted]."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RequestIdFilter(logging.Filter):
    """Adds the current request id (if any) to every record, and keeps task arguments out of
    Celery's "received" lines (a task's arguments are not the log's business)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id.get()
        if isinstance(record.args, dict) and ("args" in record.args or "kwargs" in record.args):
            record.args = {k: v for k, v in record.args.items() if k not in {"args", "kwargs"}}
        return True


class JsonFormatter(_JsonFormatter):
    """One JSON object per line; the finished line is scrubbed of credentials."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("fmt", "%(asctime)s %(levelname)s %(name)s %(message)s")
        kwargs.setdefault("rename_fields", {"asctime": "time", "levelname": "level"})
        kwargs.setdefault("timestamp", False)
        super().__init__(*args, **kwargs)

    def formatTime(self, record, datefmt=None):  # noqa: N802 - logging's name
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + (
            f".{int(record.msecs):03d}Z"
        )

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


# --- requests -----------------------------------------------------------------------------

request_logger = logging.getLogger("openpicker.request")
task_logger = logging.getLogger("openpicker.task")


def route_of(request) -> str:
    match = getattr(request, "resolver_match", None)
    if match is not None and match.route:
        return "/" + match.route.lstrip("^").rstrip("$")
    return getattr(request, "probe_route", None) or "unmatched"


class RequestLogMiddleware:
    """One JSON line per request, with a request id carried into the tasks it queues."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from openpicker import metrics
        from picker.access import acting_app

        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        rid = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        rid_token = request_id.set(rid)
        app_token = acting_app.set(None)
        started = time.perf_counter()
        status = 500
        try:
            response = self.get_response(request)
            status = response.status_code
            response["X-Request-ID"] = rid
            return response
        finally:
            duration = time.perf_counter() - started
            route = route_of(request)
            metrics.observe_request(route, request.method, status, duration)
            request_logger.info(
                "request",
                extra={
                    "request_id": rid,
                    "app_id": acting_app.get(),
                    "method": request.method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(duration * 1000, 1),
                },
            )
            acting_app.reset(app_token)
            request_id.reset(rid_token)


# --- tasks --------------------------------------------------------------------------------

_task_state = {}  # task id -> (started perf_counter, contextvar token)


def connect_celery() -> None:
    """Carry request ids into tasks and write one line per task (and time it for /metrics)."""
    from celery import signals

    signals.before_task_publish.connect(_on_publish, weak=False, dispatch_uid="openpicker.rid")
    signals.task_prerun.connect(_on_prerun, weak=False, dispatch_uid="openpicker.prerun")
    signals.task_postrun.connect(_on_postrun, weak=False, dispatch_uid="openpicker.postrun")
    # Celery keeps its hands off logging: Django's LOGGING (JSON, scrubbed) applies as is.
    signals.setup_logging.connect(_keep_django_logging, weak=False, dispatch_uid="openpicker.log")


def _keep_django_logging(**kwargs) -> None:
    return None


def _on_publish(headers=None, **kwargs) -> None:
    if headers is None:
        return
    rid = request_id.get()
    if rid and HEADER not in headers:
        headers[HEADER] = rid
    headers.setdefault("openpicker_sent_at", time.time())


def _on_prerun(task_id=None, task=None, **kwargs) -> None:
    request = task.request
    rid = getattr(request, HEADER, None) or (request.headers or {}).get(HEADER)
    token = request_id.set(rid or task_id)
    sent_at = getattr(request, "openpicker_sent_at", None) or (request.headers or {}).get(
        "openpicker_sent_at"
    )
    wait = max(0.0, time.time() - float(sent_at)) if sent_at else None
    _task_state[task_id] = (time.perf_counter(), token, wait)


def _counts(value) -> bool:
    """A return value safe and useful to log: a count, or a dict of counts."""
    if isinstance(value, dict):
        return all(isinstance(item, int) for item in value.values())
    return isinstance(value, int) and not isinstance(value, bool)


def _on_postrun(task_id=None, task=None, state=None, args=None, retval=None, **extra) -> None:
    from openpicker import metrics

    started, token, wait = _task_state.pop(task_id, (None, None, None))
    duration = time.perf_counter() - started if started is not None else 0.0
    try:
        metrics.observe_task(task.name, state or "UNKNOWN", duration, wait, args or ())
        fields = {
            "task": task.name,
            "task_id": task_id,
            "result": state,
            "queue_wait_ms": round(wait * 1000, 1) if wait is not None else None,
            "duration_ms": round(duration * 1000, 1),
        }
        if state == "SUCCESS" and _counts(retval):
            fields["returned"] = retval
        task_logger.info("task", extra=fields)
    finally:
        if token is not None:
            request_id.reset(token)


# --- gunicorn -----------------------------------------------------------------------------

try:
    from gunicorn.glogging import Logger as _GunicornBase
except ImportError:  # pragma: no cover - gunicorn is a runtime dependency
    _GunicornBase = object


class GunicornLogger(_GunicornBase):
    """gunicorn's lines as scrubbed JSON; its access line without the query string."""

    def setup(self, cfg):
        super().setup(cfg)
        formatter = JsonFormatter()
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(formatter)

    def access(self, resp, req, environ, request_time):
        if not (self.cfg.accesslog or self.cfg.logconfig or self.cfg.syslog):
            return
        self.access_log.info(
            "access",
            extra={
                "method": environ.get("REQUEST_METHOD"),
                "path": scrub(environ.get("PATH_INFO", "")),
                "status": getattr(resp, "status_code", None) or str(resp.status).split()[0],
                "duration_ms": round(request_time.total_seconds() * 1000, 1),
                "remote": environ.get("REMOTE_ADDR"),
            },
        )
