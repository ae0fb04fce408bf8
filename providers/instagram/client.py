"""Instagram (API with Instagram Login) calls: the OAuth 2.0 code flow through requests-oauthlib,
the long-lived token exchange and refresh, and Graph reads. Bases come from settings only.

Mapping replies to picker items is adapter.py's job; this module only talks to Instagram.
"""

from __future__ import annotations

import json
import time

import requests
from django.conf import settings
from oauthlib.oauth2 import OAuth2Error
from requests.adapters import HTTPAdapter
from requests_oauthlib import OAuth2Session
from urllib3.util.retry import Retry

from providers import limits
from providers.errors import ProviderError
from providers.instagram import adapter

TIMEOUT = 30
SCOPE = ["instagram_business_basic"]
# urllib3 retries only connections that failed (the request never reached Instagram, so no
# call is spent); a 5xx reply, Graph's rate-limit and is_transient errors (HTTP 400 with a code)
# are retried here with backoff, each try spent from the budget.
RETRY = Retry(total=3, connect=3, read=0, status=0, other=0, backoff_factor=0.5)
TRANSIENT_TRIES = 3
BACKOFF = 0.5


def _sandbox_base() -> str | None:
    """The configured sandbox's base, when plain HTTP to it is allowed
    (OPENPICKER_INSTAGRAM_ALLOW_HTTP, on with OPENPICKER_SANDBOX); else None."""
    base = (settings.OPENPICKER_SANDBOX_INSTAGRAM_BASE or "").rstrip("/")
    if settings.OPENPICKER_INSTAGRAM_ALLOW_HTTP and base.startswith("http://"):
        return base
    return None


def _checked_url(url: str) -> str:
    """The URL oauthlib is given to check. oauthlib refuses http:// OAuth URLs (unless
    OAUTHLIB_INSECURE_TRANSPORT is set, which would lift the check for the whole process): a
    URL under the sandbox's plain-HTTP base is handed over in its https:// form and sent as
    http:// by PlainHTTPToSandbox, mounted on that prefix only. Every other URL is unchanged,
    so oauthlib still refuses any other http:// one."""
    base = _sandbox_base()
    if base and (url == base or url.startswith(f"{base}/")):
        return "https://" + url.removeprefix("http://")
    return url


class PlainHTTPToSandbox(HTTPAdapter):
    """Sends requests for https://{sandbox base}/… as http://, as the sandbox is served. Mounted
    on one OAuth2Session, for the sandbox's prefix, when the sandbox is allowed plain HTTP."""

    def send(self, request, **kwargs):
        request.url = "http://" + request.url.removeprefix("https://")
        return super().send(request, **kwargs)


def _unwrap(response: requests.Response) -> requests.Response:
    """requests-oauthlib compliance hook: Instagram wraps the token in {"data": [{…}]} (or
    answers flat, or with its own error shape); hand oauthlib the flat token."""
    try:
        body = response.json()
    except ValueError:
        return response
    try:
        token = adapter.token_reply(body)
    except ProviderError as exc:
        token = {"error": "invalid_grant", "error_description": exc.detail}
    token.setdefault("token_type", "Bearer")
    response._content = json.dumps(token).encode()
    response.status_code = 200 if "access_token" in token else 400
    return response


class InstagramClient:
    """One Instagram app (client id and secret) and, once connected, one user's token."""

    def __init__(
        self, client_id: str, secret: str, token: str | None = None, account: str | None = None
    ):
        self.client_id, self.secret, self.token = client_id, secret, token
        self.account = account  # the Instagram account (user_id) whose budget calls are spent
        self.authorize_base = settings.OPENPICKER_INSTAGRAM_AUTHORIZE_BASE
        self.api = settings.OPENPICKER_INSTAGRAM_API_BASE
        self.graph = settings.OPENPICKER_INSTAGRAM_GRAPH_BASE

    # The OAuth 2.0 code flow
    def oauth(self, redirect_uri: str, state: str | None = None) -> OAuth2Session:
        session = OAuth2Session(self.client_id, redirect_uri=redirect_uri, scope=SCOPE, state=state)
        session.register_compliance_hook("access_token_response", _unwrap)
        base = _sandbox_base()
        if base:
            session.mount(_checked_url(f"{base}/"), PlainHTTPToSandbox())
        return session

    def authorization_url(self, redirect_uri: str, state: str) -> str:
        endpoint = f"{self.authorize_base}/oauth/authorize"
        checked = _checked_url(endpoint)
        try:
            with self.oauth(redirect_uri, state) as session:
                url, _ = session.authorization_url(checked)
        except OAuth2Error as exc:  # an http:// authorize base that is not the sandbox's
            raise ProviderError(f"Instagram's authorize page is refused: {exc}") from exc
        return endpoint + url.removeprefix(checked)

    def exchange_code(self, redirect_uri: str, code: str) -> dict:
        """The code (once) → a short-lived token: {access_token, user_id, permissions}."""
        url = f"{self.api}/oauth/access_token"
        try:
            with self.oauth(redirect_uri) as session:
                token = session.fetch_token(
                    _checked_url(url),
                    code=code,
                    client_secret=self.secret,
                    include_client_id=True,
                    timeout=TIMEOUT,
                )
        except (OAuth2Error, ValueError, requests.RequestException) as exc:
            raise ProviderError(f"Instagram refused the code: {exc}") from exc
        return dict(token)

    def long_lived(self, short_token: str) -> dict:
        """Short-lived → long-lived (60 days): {access_token, token_type, expires_in}."""
        return self.get(
            "access_token",
            token=short_token,
            grant_type="ig_exchange_token",
            client_secret=self.secret,
        )

    def refresh(self, long_token: str) -> dict:
        """A long-lived token at least 24 h old → a new one for 60 days."""
        return self.get("refresh_access_token", token=long_token, grant_type="ig_refresh_token")

    # Graph reads
    def session(self) -> requests.Session:
        session = requests.Session()
        mounted = HTTPAdapter(max_retries=RETRY)
        session.mount("http://", mounted)
        session.mount("https://", mounted)
        return session

    def spend(self) -> None:
        """Count one Graph call against the hourly budget (OPENPICKER_INSTAGRAM_CALLS_PER_HOUR)
        of this app key and Instagram account, shared by every process; ProviderBusy (429,
        Retry-After) when it is spent, before anything is sent."""
        limits.spend(
            "instagram",
            budget_key(self.client_id, self.account),
            settings.OPENPICKER_INSTAGRAM_CALLS_PER_HOUR,
        )

    def get(self, path: str, token: str | None = None, **params) -> dict:
        """GET {graph}/{path} with the token; Graph errors raise (adapter.graph_error), the
        transient ones (rate limits, is_transient) only after TRANSIENT_TRIES with backoff.
        Every try is spent from the budget first."""
        query = {**params, "access_token": token or self.token}
        url = f"{self.graph}/{path.lstrip('/')}"
        for attempt in range(TRANSIENT_TRIES):
            self.spend()
            again = attempt + 1 < TRANSIENT_TRIES
            try:
                with self.session() as session:
                    response = session.get(url, params=query, timeout=TIMEOUT)
            except requests.RequestException as exc:
                raise ProviderError(f"Instagram did not answer {path}: {exc}") from exc
            if response.status_code >= 500:  # Instagram failed: worth another try
                if again:
                    time.sleep(BACKOFF * 2**attempt)
                    continue
                raise ProviderError(f"Instagram answered {path} with HTTP {response.status_code}")
            try:
                reply = response.json()
            except ValueError as exc:
                raise ProviderError(f"Instagram's answer to {path} is not JSON") from exc
            error = adapter.graph_error(reply)
            if isinstance(error, adapter.ProviderTransient):
                if again:
                    time.sleep(BACKOFF * 2**attempt)
                    continue
                raise adapter.still_limited(error, response.headers, TRANSIENT_TRIES)
            if error is None and response.status_code >= 400:
                raise ProviderError(f"Instagram answered {path} with HTTP {response.status_code}")
            return adapter.check(reply)
        raise AssertionError("unreachable")  # pragma: no cover


def budget_key(client_id: str, account: str | None) -> str:
    """Whose calls a budget counts: Instagram limits calls per app and account (user)."""
    return f"{client_id}:{account or ''}"
