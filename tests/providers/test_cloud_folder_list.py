"""POST /cloud/folder/list over real HTTP against the sandbox Flickr: connect, browse, page."""

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from providers.models import ProviderConnection
from providers.sandbox.models import FlickrNonce, FlickrToken
from tests.providers.conftest import PAGE_SIZE
from tests.providers.test_flickr_oauth_routes import start

pytestmark = pytest.mark.django_db(transaction=True)

ALBUM = "72157700000000001"


def folder_list(sandbox_api, app, token=None, path="/", next_page=None, **extra):
    body = {"apikey": app.apikey, "clouds": {"flickr": {"path": path, "next": next_page}}}
    if token is not None:
        body["token"] = token
    return requests.post(f"{sandbox_api.url}/cloud/folder/list", json=body | extra, timeout=30)


def connected_token(sandbox_api, app, token="session-token-of-the-user", perms="read") -> str:  # noqa: S107
    """A session token whose end user connected Flickr through the browser routes."""
    browser = requests.Session()
    done = browser.get(start(sandbox_api, app, browser, token=token, perms=perms), timeout=10)
    assert done.status_code == 200, done.text
    return token


def walk(sandbox_api, app, token, path) -> list[dict]:
    """Every page of a folder, checking that each page is exactly one signed Flickr call."""
    pages, next_page = [], None
    while True:
        sent = FlickrNonce.objects.count()
        reply = folder_list(sandbox_api, app, token, path, next_page)
        assert reply.status_code == 200, reply.text
        assert FlickrNonce.objects.count() == sent + 1
        page = reply.json()["flickr"]
        pages.append(page)
        next_page = page["next"]
        if next_page is None:
            return pages


def test_unconnected_session_gets_a_redirect_that_connects_it(sandbox_api, app):
    first = folder_list(sandbox_api, app)
    assert first.status_code == 200
    token = first.json()["token"]
    assert len(token) >= 40
    redirect = first.json()["flickr"]["auth"]["redirect_url"]
    assert redirect.startswith(f"{sandbox_api.url}/api/client/flickr/auth/open?")
    assert parse_qs(urlsplit(redirect).query) == {
        "key": [app.apikey],
        "token": [token],
        "perms": ["read"],
    }
    assert first.json()["flickr"]["contents"] == []

    # The browser follows redirect_url, allows on the consent page, comes back: connected.
    browser = requests.Session()
    consent = browser.get(redirect, allow_redirects=False, timeout=10).headers["Location"]
    request_token = parse_qs(urlsplit(consent).query)["oauth_token"][0]
    allowed = requests.post(
        consent.split("?")[0],
        data={"oauth_token": request_token, "perms": "read", "decision": "allow"},
        allow_redirects=False,
        timeout=10,
    )
    assert browser.get(allowed.headers["Location"], timeout=10).status_code == 200

    again = folder_list(sandbox_api, app, token)
    assert again.status_code == 200 and again.json()["token"] == token
    assert "auth" not in again.json()["flickr"]
    assert again.json()["flickr"]["contents"][0]["name"] == "Photostream"


def test_root_lists_the_photostream_and_albums_in_one_call(sandbox_api, app):
    token = connected_token(sandbox_api, app)
    (page,) = walk(sandbox_api, app, token, "/")
    names = [(item["name"], item["path"], item["folder"]) for item in page["contents"]]
    assert names == [
        ("Photostream", "/photostream/", True),
        ("Mountains", f"/albums/{ALBUM}/", True),
        ("Sea", "/albums/72157700000000002/", True),
        ("City", "/albums/72157700000000003/", True),
    ]
    thumbnail = page["contents"][1]["thumbnail"]
    assert thumbnail.startswith(f"{sandbox_api.url}/sandbox/flickr/static/") and "_q." in thumbnail
    assert requests.get(thumbnail, timeout=10).headers["Content-Type"] == "image/jpeg"


def test_photostream_pages_through_every_photo(sandbox_api, app):
    token = connected_token(sandbox_api, app)
    pages = walk(sandbox_api, app, token, "/photostream/")
    assert [len(p["contents"]) for p in pages] == [PAGE_SIZE, PAGE_SIZE, PAGE_SIZE, 6]
    assert [p["next"] for p in pages] == ["2", "3", "4", None]
    items = [item for p in pages for item in p["contents"]]
    assert len({item["path"] for item in items}) == 36
    first = items[0]  # newest first, as Flickr lists a photostream
    assert first["path"] == "/photostream/50000000036" and not first["folder"]
    assert first["name"] == "Sandbox photo 36.jpg" and first["mimetype"] == "image/jpeg"
    assert first["link"].startswith("https://flic.kr/p/")
    assert "_q." in first["thumbnail"]


def test_album_pages(sandbox_api, app):
    token = connected_token(sandbox_api, app)
    pages = walk(sandbox_api, app, token, f"/albums/{ALBUM}/")
    assert [len(p["contents"]) for p in pages] == [PAGE_SIZE, 2]
    assert all(
        item["path"].startswith(f"/albums/{ALBUM}/") for p in pages for item in p["contents"]
    )


def test_a_connection_serves_only_its_app_and_its_session(sandbox_api, app, other_app):
    token = connected_token(sandbox_api, app)
    sent = FlickrNonce.objects.count()
    # The attacker holds the victim's session token but uses another app's key.
    other = folder_list(sandbox_api, other_app, token)
    assert other.status_code == 200 and "redirect_url" in other.json()["flickr"]["auth"]
    assert other.json()["flickr"]["contents"] == []
    # The attacker's own browser session (a token of its own, or none) is not connected either.
    for attacker_token in ("attacker-session", None):
        mine = folder_list(sandbox_api, app, attacker_token)
        assert mine.json()["flickr"]["contents"] == [] and "auth" in mine.json()["flickr"]
        assert mine.json()["token"] != token
    assert FlickrNonce.objects.count() == sent  # Flickr was never asked
    assert folder_list(sandbox_api, app, token).json()["flickr"]["contents"]  # still the user's


def test_tokens_revoked_at_flickr_ask_to_reconnect(sandbox_api, app):
    token = connected_token(sandbox_api, app)
    FlickrToken.objects.filter(kind=FlickrToken.ACCESS).delete()  # the user revoked the app
    reply = folder_list(sandbox_api, app, token, "/photostream/")
    assert reply.status_code == 200 and "redirect_url" in reply.json()["flickr"]["auth"]
    assert not ProviderConnection.objects.exists()


@pytest.mark.parametrize(
    "change, status, code",
    [
        ({"clouds": {"flickr": {"path": "/nowhere/"}}}, 404, "folder_not_found"),
        ({"clouds": {"flickr": {"path": "/albums/x/"}}}, 404, "folder_not_found"),
        ({"clouds": {"flickr": {"path": "/", "next": "page-two"}}}, 400, "invalid"),
        ({"clouds": {"dropbox": {"path": "/"}}}, 404, "unknown_provider"),
        ({"clouds": {}}, 400, "invalid"),
        ({"clouds": "flickr"}, 400, "invalid"),
        ({"apikey": "not-a-key"}, 401, "invalid_apikey"),
    ],
)
def test_junk_is_a_json_4xx(sandbox_api, app, change, status, code):
    token = connected_token(sandbox_api, app)
    body = {"apikey": app.apikey, "token": token, "clouds": {"flickr": {"path": "/"}}} | change
    reply = requests.post(f"{sandbox_api.url}/cloud/folder/list", json=body, timeout=10)
    assert reply.status_code == status, reply.text
    assert reply.json()["error"] == code and reply.json()["detail"]


def test_policy_required_apps_need_a_pick_policy(sandbox_api, make_app):
    secured = make_app("secured", security_required=True)
    reply = folder_list(sandbox_api, secured)
    assert reply.status_code == 403 and reply.json()["error"] == "policy_required"
