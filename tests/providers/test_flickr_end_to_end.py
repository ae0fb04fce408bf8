"""The whole Flickr journey over real HTTP, through the routes a browser and the SDKs use:
connect (the OAuth dance through the sandbox's consent page) → browse with paging → pick → the
symlink serves the photo and a CDN conversion of it → pickAndStore → export (reconnecting with
write) → logout. Conversions run on a real Celery worker."""

import io
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from PIL import Image

from providers.sandbox.models import FlickrUpload
from tests.providers.conftest import PAGE_SIZE

pytestmark = pytest.mark.django_db(transaction=True)


def connect_in_browser(browser: requests.Session, redirect_url: str) -> None:
    """What the end user does with auth.redirect_url: consent page, Allow, back to us."""
    consent = browser.get(redirect_url, allow_redirects=False, timeout=10).headers["Location"]
    page = browser.get(consent, timeout=10)
    assert 'data-testid="allow"' in page.text
    query = parse_qs(urlsplit(consent).query)
    allowed = browser.post(
        consent.split("?")[0],
        data={
            "oauth_token": query["oauth_token"][0],
            "perms": query["perms"][0],
            "decision": "allow",
        },
        allow_redirects=False,
        timeout=10,
    )
    done = browser.get(allowed.headers["Location"], timeout=10)
    assert done.status_code == 200 and 'data-testid="connected"' in done.text


def test_connect_browse_pick_convert_store_export_logout(sandbox_api, worker, app):
    base, browser = sandbox_api.url, requests.Session()

    def cloud(route, **body):
        reply = requests.post(
            f"{base}/cloud/{route}", json={"apikey": app.apikey, **body}, timeout=60
        )
        assert reply.status_code == 200, reply.text
        return reply.json()

    # Connect
    first = cloud("folder/list", clouds={"flickr": {"path": "/"}})
    token = first["token"]
    connect_in_browser(browser, first["flickr"]["auth"]["redirect_url"])

    # Browse: the root, the photostream's first two pages, an album to its end
    root = cloud("folder/list", token=token, clouds={"flickr": {"path": "/"}})["flickr"]
    album = next(item for item in root["contents"] if item["name"] == "Sea")
    stream = cloud("folder/list", token=token, clouds={"flickr": {"path": "/photostream/"}})
    second = cloud(
        "folder/list",
        token=token,
        clouds={"flickr": {"path": "/photostream/", "next": stream["flickr"]["next"]}},
    )
    assert len(stream["flickr"]["contents"]) == len(second["flickr"]["contents"]) == PAGE_SIZE
    assert not {i["path"] for i in stream["flickr"]["contents"]} & {
        i["path"] for i in second["flickr"]["contents"]
    }
    album_items, next_page = [], None
    while True:
        page = cloud(
            "folder/list",
            token=token,
            clouds={"flickr": {"path": album["path"], "next": next_page}},
        )["flickr"]
        album_items += page["contents"]
        if not (next_page := page["next"]):
            break
    assert len(album_items) == 12

    # Pick: a symlink whose URL serves the photo, and a CDN conversion of it
    picked = cloud("store/", token=token, clouds={"flickr": {"path": album_items[0]["path"]}})
    blob = picked["flickr"]
    photo = requests.get(blob["url"], timeout=60)
    assert photo.status_code == 200 and len(photo.content) == blob["size"]
    with Image.open(io.BytesIO(photo.content)) as image:
        assert image.width in (1200, 1600)
    small = requests.get(f"{base}/cdn/resize=width:120/{blob['handle']}", timeout=120)
    assert small.status_code == 200, small.text
    with Image.open(io.BytesIO(small.content)) as image:
        assert image.width == 120

    # pickAndStore: a copy in the app's storage
    kept = cloud(
        "store/",
        token=token,
        clouds={"flickr": {"path": album_items[1]["path"], "store": {"location": "s3"}}},
    )["flickr"]
    assert kept["key"] and kept["client"] == "Flickr"
    copy = requests.get(kept["url"], timeout=30).content
    assert len(copy) == kept["size"]

    # Export the stored copy: a read connection is sent to reconnect with write first
    asked = cloud(
        "export", token=token, handle=kept["handle"], clouds={"flickr": {"title": "Back"}}
    )
    connect_in_browser(browser, asked["flickr"]["auth"]["redirect_url"])
    exported = cloud(
        "export", token=token, handle=kept["handle"], clouds={"flickr": {"title": "Back"}}
    )
    new = exported["flickr"]
    upload = FlickrUpload.objects.get()
    assert (upload.title, upload.is_public, upload.is_friend) == ("Back", False, True)
    assert requests.get(new["url"], timeout=30).content == copy
    newest = cloud("folder/list", token=token, clouds={"flickr": {"path": "/photostream/"}})
    assert newest["flickr"]["contents"][0]["name"] == "Back.jpg"
    assert new["source_url"].endswith(f"/{newest['flickr']['contents'][0]['path'].split('/')[-1]}/")

    # Logout: the session is a stranger again
    assert cloud("auth/logout", token=token)["logged_out"] == ["flickr"]
    after = cloud("folder/list", token=token, clouds={"flickr": {"path": "/"}})
    assert "redirect_url" in after["flickr"]["auth"]
