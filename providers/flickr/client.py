"""Flickr calls through requests-oauthlib; bases come from settings only (never hard-coded).

Mapping replies to picker items is adapter.py's job; this module only talks to Flickr.
"""

import hashlib
import json
from urllib.parse import urlencode

import requests
from django.conf import settings
from django.core.cache import cache
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA1, Client
from requests.adapters import HTTPAdapter
from requests_oauthlib import OAuth1, OAuth1Session
from urllib3.util.retry import Retry

from providers import limits
from providers.errors import ProviderError
from providers.flickr.adapter import check

TIMEOUT = 30
# Flickr's terms: API replies may be cached for at most 24 hours.
CACHE_SECONDS = 24 * 3600
# Transient failures (connection errors, 429 and 5xx on idempotent calls) retried with backoff.
RETRY = Retry(total=3, backoff_factor=0.5, status_forcelist=(429, 500, 502, 503, 504))


def signer(
    key: str, secret: str, token: str | None = None, token_secret: str | None = None, **extra
) -> Client:
    """The oauthlib client every Flickr call is signed with (OAuth1Session uses the same class)."""
    return Client(
        key,
        client_secret=secret,
        resource_owner_key=token,
        resource_owner_secret=token_secret,
        signature_method=SIGNATURE_HMAC_SHA1,
        **extra,
    )


class FlickrClient:
    """One consumer (API key) and, once authorised, one user's access token."""

    def __init__(
        self, key: str, secret: str, token: str | None = None, token_secret: str | None = None
    ):
        self.key, self.secret = key, secret
        self.token, self.token_secret = token, token_secret
        self.www = settings.OPENPICKER_FLICKR_WWW_BASE
        self.api = settings.OPENPICKER_FLICKR_API_BASE
        self.upload_base = settings.OPENPICKER_FLICKR_UPLOAD_BASE

    def session(self, **oauth) -> OAuth1Session:
        session = OAuth1Session(
            self.key,
            client_secret=self.secret,
            resource_owner_key=oauth.pop("token", self.token),
            resource_owner_secret=oauth.pop("token_secret", self.token_secret),
            signature_method=SIGNATURE_HMAC_SHA1,
            **oauth,
        )
        adapter = HTTPAdapter(max_retries=RETRY)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        return session

    # The OAuth 1.0a dance
    def request_token(self, callback: str) -> dict:
        """{oauth_token, oauth_token_secret, oauth_callback_confirmed}."""
        with self.session(callback_uri=callback) as session:
            return self._oauth(
                session.fetch_request_token, f"{self.www}/services/oauth/request_token"
            )

    def authorize_url(self, request_token: str, perms: str = "read") -> str:
        query = urlencode({"oauth_token": request_token, "perms": perms})
        return f"{self.www}/services/oauth/authorize?{query}"

    def access_token(self, request_token: str, request_secret: str, verifier: str) -> dict:
        """{oauth_token, oauth_token_secret, user_nsid, username, fullname}."""
        with self.session(
            token=request_token, token_secret=request_secret, verifier=verifier
        ) as session:
            return self._oauth(
                session.fetch_access_token, f"{self.www}/services/oauth/access_token"
            )

    @staticmethod
    def _oauth(fetch, url: str) -> dict:
        try:
            return dict(fetch(url, timeout=TIMEOUT))
        except (ValueError, requests.RequestException) as exc:
            raise ProviderError(f"Flickr refused the authorization step: {exc}") from exc

    # API calls
    def reply(self, method: str, params: dict | None = None, *, post: bool = False) -> dict:
        """One /services/rest call (JSON) as Flickr answered it, stat:fail included.

        Reads are GETs, writes signed form POSTs (as flickr-sdk sends them). The call is counted
        against the key's hourly budget first: over it, ProviderBusy and nothing is sent.
        """
        query = {**(params or {}), "method": method, "format": "json", "nojsoncallback": "1"}
        limits.spend("flickr", self.key, settings.OPENPICKER_FLICKR_CALLS_PER_HOUR)
        url = f"{self.api}/services/rest"
        try:
            with self.session() as session:
                if post:
                    response = session.post(url, data=query, timeout=TIMEOUT)
                else:
                    response = session.get(url, params=query, timeout=TIMEOUT)
            response.raise_for_status()
            reply = response.json()
        except (ValueError, requests.RequestException) as exc:
            raise ProviderError(f"Flickr did not answer {method}: {exc}") from exc
        if not isinstance(reply, dict):
            raise ProviderError(f"Flickr's reply to {method} is not a JSON object")
        return reply

    def call(self, method: str, **params) -> dict:
        """One /services/rest call (JSON); stat:fail (sent with HTTP 200) raises."""
        return check(self.reply(method, params))

    def cached_reply(self, method: str, params: dict[str, str]) -> dict:
        """A read call's reply, from the cache when made in the last 24 hours with the same
        token (so per connection), the same Flickr and the same parameters; a cached reply costs
        no call and no budget. Only stat:ok replies are kept."""
        call = json.dumps([self.api, self.key, self.token, method, sorted(params.items())])
        name = f"openpicker:flickr:reply:{hashlib.sha256(call.encode()).hexdigest()}"
        reply = cache.get(name)
        if reply is None:
            reply = self.reply(method, params)
            if reply.get("stat") == "ok":
                cache.set(name, reply, CACHE_SECONDS)
        return reply

    def upload(self, data: bytes, filename: str, **params) -> str:
        """POST /services/upload/ (multipart); the photo field stays out of the signature.

        Counted against the hourly budget like every call (Flickr counts uploads too).
        """
        url = f"{self.upload_base}/services/upload/"
        limits.spend("flickr", self.key, settings.OPENPICKER_FLICKR_CALLS_PER_HOUR)
        auth = OAuth1(
            self.key,
            client_secret=self.secret,
            resource_owner_key=self.token,
            resource_owner_secret=self.token_secret,
            signature_method=SIGNATURE_HMAC_SHA1,
        )
        signed = requests.Request("POST", url, data=params, auth=auth).prepare()
        try:
            response = requests.post(
                url,
                data=params,
                files={"photo": (filename, data)},
                headers={"Authorization": signed.headers["Authorization"]},
                timeout=TIMEOUT,
            )
            response.raise_for_status()
        except requests.RequestException as exc:
            raise ProviderError(f"Flickr did not take the upload: {exc}") from exc
        return upload_reply(response.text)


def upload_reply(text: str) -> str:
    """The photo id of an upload's XML reply; <rsp stat="fail"> raises like stat:fail."""
    from xml.etree import ElementTree

    try:
        root = ElementTree.fromstring(text.encode())  # noqa: S314 - a reply, no entities expanded
    except ElementTree.ParseError as exc:
        raise ProviderError("Flickr's upload reply is not XML") from exc
    if root.get("stat") != "ok":
        error = root.find("err")
        code = error.get("code") if error is not None else "0"
        message = error.get("msg") if error is not None else "upload failed"
        check({"stat": "fail", "code": code, "message": message})
    photo_id = root.findtext("photoid")
    if not photo_id:
        raise ProviderError("Flickr's upload reply has no photo id")
    return photo_id.strip()
