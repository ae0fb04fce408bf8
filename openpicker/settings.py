"""Django settings: everything comes from the environment (DESIGN.md §5), with embedded defaults."""

import os
from pathlib import Path

import dj_database_url

from openpicker.environment import (
    allowed_hosts,
    cache_config,
    encryption_keys,
    env_bool,
    env_list,
    secret_key,
)

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("OPENPICKER_DATA_DIR") or BASE_DIR / "var").resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

OPENPICKER_BASE_URL = os.environ.get("OPENPICKER_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
SECRET_KEY = secret_key(DATA_DIR)
OPENPICKER_ENCRYPTION_KEYS = encryption_keys(DATA_DIR)
DEBUG = env_bool("OPENPICKER_DEBUG")
ALLOWED_HOSTS = allowed_hosts(OPENPICKER_BASE_URL)

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "openpicker",
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    "picker",
    "providers",
    "conversions",
    "webhooks",
    "portal",
    "widget",
]

MIDDLEWARE = [
    "openpicker.logs.RequestLogMiddleware",  # a JSON line per request (openpicker/logs.py)
    "openpicker.probes.ProbeMiddleware",  # /healthz, /readyz, /metrics before host checks
    "openpicker.hosts.HostAliasMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "picker.http.errors.JSONErrorMiddleware",
    # Listed after the JSON mapper so that its process_exception runs first: /portal/ is HTML.
    "portal.errors.PortalPagesMiddleware",
]

ROOT_URLCONF = "openpicker.urls"
WSGI_APPLICATION = "openpicker.wsgi.application"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

# Database: DATABASE_URL, else SQLite in the data dir. The SQLite test database is a file too,
# so that a server started in a subprocess by the tests sees the same rows.
_database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'openpicker.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=60)}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Kept open across requests (per thread): opening a SQLite connection (and registering
    # Django's functions on it) was about a tenth of a metadata request (benchmarks/README.md).
    DATABASES["default"]["CONN_MAX_AGE"] = 60
    # WAL: readers never wait for a writer, and a commit appends to the log instead of
    # rewriting pages through a rollback journal (one fsync at checkpoints with synchronous
    # NORMAL). The price, in SQLite's words: a commit may roll back after a power loss or an
    # OS crash (never after the process dies), and the database stays consistent.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test-openpicker.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": cache_config(os.environ.get("CACHE_URL", "locmem://"))}

# File storage: the filesystem in the data dir, or S3 through django-storages/boto3.
OPENPICKER_STORAGE = os.environ.get("OPENPICKER_STORAGE", "file")
if OPENPICKER_STORAGE == "s3":
    _default_storage = {
        "BACKEND": "picker.s3.S3Storage",  # django-storages', one client per process
        "OPTIONS": {
            "bucket_name": os.environ.get("AWS_STORAGE_BUCKET_NAME", "openpicker"),
            "endpoint_url": os.environ.get("AWS_S3_ENDPOINT_URL") or None,
            "region_name": os.environ.get("AWS_S3_REGION_NAME") or None,
            "access_key": os.environ.get("AWS_ACCESS_KEY_ID") or None,
            "secret_key": os.environ.get("AWS_SECRET_ACCESS_KEY") or None,
            "file_overwrite": True,
            "default_acl": None,
            "querystring_auth": False,
        },
    }
elif OPENPICKER_STORAGE == "file":
    _default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(DATA_DIR / "files")},
    }
else:
    raise ValueError(f"OPENPICKER_STORAGE must be 'file' or 's3', not {OPENPICKER_STORAGE!r}")
STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Where a form upload (multipart `fileUpload`) larger than FILE_UPLOAD_MAX_MEMORY_SIZE is
# spooled, never past the cap that applies to it (the file API's body reader); None = the system's.
FILE_UPLOAD_TEMP_DIR = os.environ.get("OPENPICKER_UPLOAD_TEMP_DIR") or None
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# The largest body of a call that is not a file upload (JSON, forms), refused by its
# Content-Length before a byte is read (picker.http.parsers).
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("OPENPICKER_BODY_MAX_BYTES", 2 * 1024 * 1024))
# Deeper JSON bodies are a 400 (picker.http.parsers).
OPENPICKER_JSON_MAX_DEPTH = 32
# A request body must arrive within this many seconds of the request's start, and no read of it
# may wait longer than the read timeout (openpicker.wsgi); past either, a 408.
OPENPICKER_BODY_DEADLINE = float(os.environ.get("OPENPICKER_BODY_DEADLINE", 300))
OPENPICKER_BODY_READ_TIMEOUT = float(os.environ.get("OPENPICKER_BODY_READ_TIMEOUT", 30))

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"

# Celery: a persistent local broker (kombu's SQLAlchemy transport on SQLite) unless told otherwise.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or (
    f"sqla+sqlite:///{DATA_DIR / 'celery-broker.sqlite3'}"
)
CELERY_TASK_ACKS_LATE = True
# A task whose worker process dies goes back to the broker (acks_late), where the broker can take
# it back: Redis and RabbitMQ can. kombu's SQL transport (the embedded broker) cannot: requeueing
# from the pool's result thread deadlocks the worker (measured: its main process waits on a lock
# and never runs a task again). There each task's own recovery path brings lost work back (stale
# renditions are queued again by the next request, the webhook sweeper claims expired leases).
CELERY_TASK_REJECT_ON_WORKER_LOST = not CELERY_BROKER_URL.startswith("sqla+")
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Celery closes a worker's database connections around every task unless this is set; it then
# closes them every this many tasks, and openpicker/celery.py closes old or broken ones as
# Django does after a request (CONN_MAX_AGE).
CELERY_DB_REUSE_MAX = 1000
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ROUTES = {
    "conversions.*": {"queue": "conversions"},
    # Webhook attempts on a queue and worker of their own: a slow receiver delays no conversion.
    "webhooks.*": {"queue": "webhooks"},
}
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")

# What the file API accepts and fetches.
OPENPICKER_OUTBOUND_ALLOW = env_list("OPENPICKER_OUTBOUND_ALLOW")
OPENPICKER_SANDBOX = env_bool("OPENPICKER_SANDBOX")
OPENPICKER_MAX_UPLOAD_BYTES = int(os.environ.get("OPENPICKER_MAX_UPLOAD_BYTES", 5 * 1024**3))
OPENPICKER_FETCH_MAX_BYTES = int(os.environ.get("OPENPICKER_FETCH_MAX_BYTES", 1024**3))
OPENPICKER_FETCH_TIMEOUT = float(os.environ.get("OPENPICKER_FETCH_TIMEOUT", 30))
# Each address of a host gets this long to accept the connection (within the total deadline
# above), so one address that drops packets does not use up the whole deadline.
OPENPICKER_FETCH_CONNECT_TIMEOUT = float(os.environ.get("OPENPICKER_FETCH_CONNECT_TIMEOUT", 5))
# Webhooks (DESIGN.md §4): each attempt gets 5 s to connect and 15 s in all; a claimed delivery
# is held for the lease before the sweeper, run every SWEEP_EVERY seconds, takes it for lost.
OPENPICKER_WEBHOOK_CONNECT_TIMEOUT = float(os.environ.get("OPENPICKER_WEBHOOK_CONNECT_TIMEOUT", 5))
OPENPICKER_WEBHOOK_TIMEOUT = float(os.environ.get("OPENPICKER_WEBHOOK_TIMEOUT", 15))
OPENPICKER_WEBHOOK_LEASE = float(os.environ.get("OPENPICKER_WEBHOOK_LEASE", 120))
OPENPICKER_WEBHOOK_SWEEP_EVERY = float(os.environ.get("OPENPICKER_WEBHOOK_SWEEP_EVERY", 30))
OPENPICKER_WEBHOOK_SWEEP_BATCH = int(os.environ.get("OPENPICKER_WEBHOOK_SWEEP_BATCH", 500))
OPENPICKER_MAX_PIXELS = int(os.environ.get("OPENPICKER_MAX_PIXELS", 80_000_000))
OPENPICKER_CONVERT_WAIT = float(os.environ.get("OPENPICKER_CONVERT_WAIT", 20))
OPENPICKER_CONVERT_STALE = float(os.environ.get("OPENPICKER_CONVERT_STALE", 300))
# Bounded conversions: tasks in a CDN chain, pixels a chain may process in all (the source plus
# every step's result), attempts before a job whose worker keeps dying is given up.
OPENPICKER_CDN_MAX_TASKS = int(os.environ.get("OPENPICKER_CDN_MAX_TASKS", 20))
OPENPICKER_CONVERT_PIXEL_BUDGET = int(
    os.environ.get("OPENPICKER_CONVERT_PIXEL_BUDGET", 250_000_000)
)
OPENPICKER_CONVERT_ATTEMPTS = int(os.environ.get("OPENPICKER_CONVERT_ATTEMPTS", 3))
# Uncached renditions a web process computes itself at once (one per core by default); a request
# that finds them all busy waits up to OPENPICKER_CONVERT_QUEUE_AFTER seconds for one, then hands
# its rendition to the conversions queue. 0: every rendition goes to the queue.
OPENPICKER_CONVERT_INLINE = int(os.environ.get("OPENPICKER_CONVERT_INLINE", os.cpu_count() or 1))
OPENPICKER_CONVERT_QUEUE_AFTER = float(os.environ.get("OPENPICKER_CONVERT_QUEUE_AFTER", 1))
OPENPICKER_MULTIPART_TTL_HOURS = int(os.environ.get("OPENPICKER_MULTIPART_TTL_HOURS", 24))
# Bytes of small objects (each up to 128 KiB) of the instance's S3 storage a web process keeps in
# memory, so reading one again costs no GET (picker/objectcache.py). 0: off.
OPENPICKER_SMALL_OBJECT_CACHE = int(
    os.environ.get("OPENPICKER_SMALL_OBJECT_CACHE", 16 * 1024 * 1024)
)

CORS_ALLOW_ALL_ORIGINS = True
CORS_URLS_REGEX = r"^/(api|upload|cloud|cdn|process)(/.*)?$"
CORS_EXPOSE_HEADERS = ["ETag", "Content-Disposition", "Content-Range", "Accept-Ranges"]
CORS_ALLOW_HEADERS = [
    "accept",
    "authorization",
    "content-type",
    "content-md5",
    "range",
    "filestack-source",
    "filestack-trace-id",
    "filestack-trace-span",
    "filestack-upload-region",
]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # Bounded parsers: these bodies are read before the API key in them is known.
    "DEFAULT_PARSER_CLASSES": [
        "picker.http.parsers.JSONParser",
        "picker.http.parsers.FormParser",
        "picker.http.parsers.FieldsOnlyMultiPartParser",
    ],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "picker.http.negotiation.AlwaysJSONNegotiation",
    "EXCEPTION_HANDLER": "picker.http.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "OpenPicker API",
    "DESCRIPTION": "Self-hosted, Filestack-compatible file API.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = OPENPICKER_BASE_URL.startswith("https://")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# The developer portal (portal/): its log-in pages, its own 403 for a refused CSRF token, and
# email (password resets) on the console unless OPENPICKER_EMAIL_URL names an SMTP server
# (smtp://user:password@host:587/?tls=True, or smtps://… for implicit TLS).
LOGIN_URL = "portal:login"
LOGIN_REDIRECT_URL = "portal:home"
LOGOUT_REDIRECT_URL = "portal:login"
CSRF_FAILURE_VIEW = "portal.errors.csrf_failure"
_email_url = os.environ.get("OPENPICKER_EMAIL_URL", "")
if _email_url:
    import dj_email_url

    globals().update(dj_email_url.parse(_email_url))
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = os.environ.get("OPENPICKER_EMAIL_FROM", "openpicker@localhost")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

# Logs: one JSON line per record on stderr, credentials scrubbed (openpicker/logs.py); one line
# per request (openpicker.request) and per task (openpicker.task). Celery's "succeeded" lines
# are left out (ours carry the request id and duration); its "received" lines stay.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "openpicker.logs.RequestIdFilter"}},
    "formatters": {"json": {"()": "openpicker.logs.JsonFormatter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("OPENPICKER_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.request": {"level": "ERROR"},
        "celery.app.trace": {"level": "WARNING"},
    },
}

# Operations (openpicker/health.py, metrics.py): readiness checks' deadline (s); the metrics
# token (unset: /metrics is a 404); the per-node folder of prometheus_client's multiprocess
# files, wiped by `manage.py serve` at start.
OPENPICKER_READY_TIMEOUT = float(os.environ.get("OPENPICKER_READY_TIMEOUT", 2))
OPENPICKER_METRICS_TOKEN = os.environ.get("OPENPICKER_METRICS_TOKEN", "")
OPENPICKER_METRICS_DIR = Path(os.environ.get("OPENPICKER_METRICS_DIR") or DATA_DIR / "metrics")
OPENPICKER_METRICS_DIR.mkdir(parents=True, exist_ok=True)
os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(OPENPICKER_METRICS_DIR)
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# Flickr (providers.flickr): instance-wide default OAuth app and service bases. With the
# sandbox on, they point at the fake Flickr under /sandbox/flickr and its fixed keys, and the
# sandbox's host is exempt from the outbound private-address refusal.
OPENPICKER_SANDBOX_FLICKR_BASE = f"{OPENPICKER_BASE_URL}/sandbox/flickr"


def _service_settings(service: str, sandbox: dict[str, str], real: dict[str, str]) -> dict:
    """OPENPICKER_<SERVICE>_<NAME> for each name: from the environment, else the sandbox's value
    (OPENPICKER_SANDBOX=1) or the real service's. Bases (`*_BASE`) lose a trailing slash."""
    values = {}
    for name, default in (sandbox if OPENPICKER_SANDBOX else real).items():
        value = os.environ.get(f"OPENPICKER_{service}_{name}", default)
        values[f"OPENPICKER_{service}_{name}"] = (
            value.rstrip("/") if name.endswith("BASE") else value
        )
    return values


# OPENPICKER_FLICKR_KEY, _SECRET, _WWW_BASE, _API_BASE, _UPLOAD_BASE:
globals().update(
    _service_settings(
        "FLICKR",
        sandbox={
            "KEY": "5a9d0e6b2f3c4d1e8f7a6b5c4d3e2f1a",
            "SECRET": "0f1e2d3c4b5a6978",
            "WWW_BASE": OPENPICKER_SANDBOX_FLICKR_BASE,
            "API_BASE": OPENPICKER_SANDBOX_FLICKR_BASE,
            "UPLOAD_BASE": f"{OPENPICKER_SANDBOX_FLICKR_BASE}/up",
        },
        real={
            "KEY": "",
            "SECRET": "",
            "WWW_BASE": "https://www.flickr.com",
            "API_BASE": "https://api.flickr.com",
            "UPLOAD_BASE": "https://up.flickr.com",
        },
    )
)
# At most this many Flickr API calls per hour per API key (Flickr's documented limit is 3,600).
OPENPICKER_FLICKR_CALLS_PER_HOUR = int(os.environ.get("OPENPICKER_FLICKR_CALLS_PER_HOUR", 3600))
# Photos per folder page of the cloud API (Flickr allows up to 500 per call).
OPENPICKER_FLICKR_PAGE_SIZE = min(int(os.environ.get("OPENPICKER_FLICKR_PAGE_SIZE", 100)), 500)
# Instagram (providers.instagram, the "Instagram API with Instagram Login"): the instance's
# default app and the bases (authorize page, OAuth host, Graph host). With the sandbox on they
# point at the fake Instagram under /sandbox/instagram and its fixed app.
OPENPICKER_SANDBOX_INSTAGRAM_BASE = f"{OPENPICKER_BASE_URL}/sandbox/instagram"
# OPENPICKER_INSTAGRAM_CLIENT_ID, _CLIENT_SECRET, _AUTHORIZE_BASE, _API_BASE, _GRAPH_BASE:
globals().update(
    _service_settings(
        "INSTAGRAM",
        sandbox={
            "CLIENT_ID": "990000000000001",
            "CLIENT_SECRET": "5f4e3d2c1b0a99887766554433221100",
            "AUTHORIZE_BASE": OPENPICKER_SANDBOX_INSTAGRAM_BASE,
            "API_BASE": OPENPICKER_SANDBOX_INSTAGRAM_BASE,
            "GRAPH_BASE": f"{OPENPICKER_SANDBOX_INSTAGRAM_BASE}/graph",
        },
        real={
            "CLIENT_ID": "",
            "CLIENT_SECRET": "",
            "AUTHORIZE_BASE": "https://www.instagram.com",
            "API_BASE": "https://api.instagram.com",
            "GRAPH_BASE": "https://graph.instagram.com",
        },
    )
)
OPENPICKER_INSTAGRAM_ALLOW_HTTP = env_bool("OPENPICKER_INSTAGRAM_ALLOW_HTTP") or OPENPICKER_SANDBOX
# At most this many Graph calls per hour per app key and Instagram account (Instagram's
# documented limit: 200 calls per user per hour).
OPENPICKER_INSTAGRAM_CALLS_PER_HOUR = int(
    os.environ.get("OPENPICKER_INSTAGRAM_CALLS_PER_HOUR", 200)
)
# Media per folder page of the cloud API (Graph allows up to 100 per call).
OPENPICKER_INSTAGRAM_PAGE_SIZE = min(int(os.environ.get("OPENPICKER_INSTAGRAM_PAGE_SIZE", 25)), 100)
# Long-lived tokens (60 days) are refreshed by the beat task when they expire within this.
OPENPICKER_INSTAGRAM_REFRESH_BEFORE_DAYS = int(
    os.environ.get("OPENPICKER_INSTAGRAM_REFRESH_BEFORE_DAYS", 10)
)
# The fake Instagram's media_url lifetime (seconds) and Graph calls per token and hour.
OPENPICKER_SANDBOX_INSTAGRAM_MEDIA_TTL = int(
    os.environ.get("OPENPICKER_SANDBOX_INSTAGRAM_MEDIA_TTL", 3600)
)
OPENPICKER_SANDBOX_INSTAGRAM_CALLS_PER_HOUR = int(
    os.environ.get("OPENPICKER_SANDBOX_INSTAGRAM_CALLS_PER_HOUR", 200)
)
if OPENPICKER_SANDBOX:
    from urllib.parse import urlsplit as _urlsplit

    _sandbox_host = _urlsplit(OPENPICKER_BASE_URL).netloc
    if _sandbox_host not in OPENPICKER_OUTBOUND_ALLOW:
        OPENPICKER_OUTBOUND_ALLOW = [*OPENPICKER_OUTBOUND_ALLOW, _sandbox_host]
# The fake providers' state tables exist everywhere (migrations do not depend on the
# environment); their routes are mounted only with OPENPICKER_SANDBOX=1 (openpicker/urls.py).
INSTALLED_APPS = [*INSTALLED_APPS, "providers.sandbox"]
