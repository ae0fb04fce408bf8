"""The whole Instagram journey over real HTTP against the sandbox: connect → list three pages
(carousels expanded) → pick a carousel child → its link serves the image after the sandbox's
media_url for it expired → pickAndStore → CDN conversions of both; videos refused with the
seed's message; export refused with no call to Instagram; a revoked token → reconnect."""

import io
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from PIL import Image

from picker.models import FileLink
from providers.models import ProviderConnection
from providers.sandbox.instagram import catalogue
from providers.sandbox.models import InstagramToken
from tests.providers.conftest import MEDIA_TTL, PAGE_SIZE

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("instagram_budget"),
]


def connect_in_browser(browser: requests.Session, redirect_url: str) -> None:
    """What the end user does with auth.redirect_url: consent page, Allow, back to us."""
    consent = browser.get(redirect_url, allow_redirects=False, timeout=10).headers["Location"]
    assert 'data-testid="allow"' in browser.get(consent, timeout=10).text
    query = {name: values[0] for name, values in parse_qs(urlsplit(consent).query).items()}
    allowed = browser.post(
        consent.split("?")[0],
        data=query | {"decision": "allow"},
        allow_redirects=False,
        timeout=10,
    )
    done = browser.get(allowed.headers["Location"], timeout=10)
    assert done.status_code == 200 and 'data-testid="connected"' in done.text


def expected_paths(posts) -> list[str]:
    """Newest first; a carousel's children in order, each naming its album."""
    return [
        path
        for post in posts
        for path in ([f"/{post.id}/{c.id}" for c in post.children] or [f"/{post.id}"])
    ]


class Cloud:
    def __init__(self, base, app):
        self.base, self.app = base, app

    def post(self, route, **body):
        return requests.post(
            f"{self.base}/cloud/{route}", json={"apikey": self.app.apikey, **body}, timeout=60
        )

    def __call__(self, route, **body):
        reply = self.post(route, **body)
        assert reply.status_code == 200, reply.text
        return reply.json()


def graph_calls() -> int:
    return sum(InstagramToken.objects.values_list("calls", flat=True))


def test_connect_browse_pick_after_expiry_store_convert(sandbox_api, worker, app):
    cloud, browser = Cloud(sandbox_api.url, app), requests.Session()
    first = cloud("folder/list", clouds={"instagram": {"path": "/"}})
    token = first["token"]
    assert first["instagram"]["contents"] == []
    connect_in_browser(browser, first["instagram"]["auth"]["redirect_url"])

    # Browse every page: 26 posts, 10 a page, so three pages; carousels become their children
    items, pages, next_page = [], 0, None
    while True:
        page = cloud(
            "folder/list", token=token, clouds={"instagram": {"path": "/", "next": next_page}}
        )["instagram"]
        items += page["contents"]
        pages += 1
        if not (next_page := page["next"]):
            break
    assert pages == 3
    posts = catalogue.media()[0]
    assert [item["path"] for item in items] == expected_paths(posts)
    assert len(items) == len(posts) + 2 * sum(1 for p in posts if p.children)
    video = next(item for item in items if item["mimetype"] == "video/mp4")
    assert video["thumbnail"] and urlsplit(video["thumbnail"]).path.endswith(".jpg")
    thumb = requests.get(items[0]["thumbnail"], timeout=10)
    assert thumb.status_code == 200 and thumb.headers["Content-Type"] == "image/jpeg"

    # Pick a carousel child; its sandbox media_url then expires; the link still serves it
    album = next(p for p in posts if p.children)
    child = album.children[1]
    listed = next(item for item in items if item["path"] == f"/{album.id}/{child.id}")
    blob = cloud("store/", token=token, clouds={"instagram": {"path": listed["path"]}})["instagram"]
    assert blob["client"] == "Instagram" and blob["mimetype"] == "image/jpeg"
    assert "key" not in blob  # a symlink
    # Its page: the album's permalink at the child's place (children have none of their own)
    page = f"{sandbox_api.url}/sandbox/instagram/p/{album.id}/?img_index=2"
    assert FileLink.objects.get(handle=blob["handle"]).source_url == page
    elsewhere = f"/{posts[0].id}/{child.id}"  # a real child, named under another post
    refused = cloud.post("store/", token=token, clouds={"instagram": {"path": elsewhere}})
    assert refused.status_code == 404 and refused.json()["error"] == "item_not_found"
    time.sleep(MEDIA_TTL + 1.5)
    assert requests.get(listed["thumbnail"], timeout=10).status_code == 403  # expired
    served = requests.get(blob["url"], timeout=60)
    assert served.status_code == 200
    assert served.content == catalogue.image_bytes(child.id)
    assert len(served.content) == blob["size"]

    # pickAndStore: a copy in the app's storage
    kept = cloud(
        "store/",
        token=token,
        clouds={"instagram": {"path": f"/{posts[0].id}", "store": {"location": "s3"}}},
    )["instagram"]
    assert kept["key"] and kept["client"] == "Instagram"
    kept_link = FileLink.objects.get(handle=kept["handle"])
    assert kept_link.source_url == f"{sandbox_api.url}/sandbox/instagram/p/{posts[0].id}/"
    assert requests.get(kept["url"], timeout=30).content == catalogue.image_bytes(posts[0].id)

    # CDN conversions of both
    for handle in (blob["handle"], kept["handle"]):
        small = requests.get(f"{sandbox_api.url}/cdn/resize=width:120/{handle}", timeout=120)
        assert small.status_code == 200, small.text
        with Image.open(io.BytesIO(small.content)) as image:
            assert image.width == 120


def test_video_refused_export_refused_without_a_call(sandbox_api, app):
    cloud, browser = Cloud(sandbox_api.url, app), requests.Session()
    first = cloud("folder/list", clouds={"instagram": {"path": "/"}})
    token = first["token"]
    connect_in_browser(browser, first["instagram"]["auth"]["redirect_url"])
    video = next(p for p in catalogue.media()[0] if p.media_type == "VIDEO")
    refused = cloud.post("store/", token=token, clouds={"instagram": {"path": f"/{video.id}"}})
    assert refused.status_code == 400
    assert refused.json() == {"error": "not_an_image", "detail": "Only image files are selectable."}

    picked = cloud(
        "store/",
        token=token,
        clouds={"instagram": {"path": f"/{catalogue.media()[0][0].id}", "store": {}}},
    )["instagram"]
    before = graph_calls()
    exported = cloud.post("export", token=token, handle=picked["handle"], clouds={"instagram": {}})
    assert exported.status_code == 400
    assert exported.json()["error"] == "export_not_supported"
    # Nor with another provider named first: nothing is exported anywhere.
    both = cloud.post(
        "export", token=token, handle=picked["handle"], clouds={"flickr": {}, "instagram": {}}
    )
    assert both.status_code == 400 and both.json()["error"] == "export_not_supported"
    assert graph_calls() == before
    assert FileLink.objects.filter(app=app).count() == 1


def test_revoked_token_asks_to_reconnect_and_reconnecting_works(sandbox_api, app):
    cloud, browser = Cloud(sandbox_api.url, app), requests.Session()
    first = cloud("folder/list", clouds={"instagram": {"path": "/"}})
    token = first["token"]
    connect_in_browser(browser, first["instagram"]["auth"]["redirect_url"])
    assert cloud("folder/list", token=token, clouds={"instagram": {}})["instagram"]["contents"]

    catalogue.revoke_all()  # the user removed the app at Instagram
    path = f"/{catalogue.media()[0][0].id}"
    picked = cloud("store/", token=token, clouds={"instagram": {"path": path}})["instagram"]
    assert "redirect_url" in picked["auth"] and "url" not in picked
    assert not ProviderConnection.objects.filter(provider="instagram").exists()
    connect_in_browser(browser, picked["auth"]["redirect_url"])
    catalogue.revoke_all()
    listed = cloud("folder/list", token=token, clouds={"instagram": {"path": "/"}})["instagram"]
    assert listed["contents"] == [] and "redirect_url" in listed["auth"]
    assert not ProviderConnection.objects.filter(provider="instagram").exists()

    connect_in_browser(browser, listed["auth"]["redirect_url"])
    again = cloud("folder/list", token=token, clouds={"instagram": {"path": "/"}})["instagram"]
    assert len(again["contents"]) > PAGE_SIZE - 1 and "auth" not in again


def test_other_app_or_session_never_uses_the_connection(sandbox_api, app, other_app):
    cloud, browser = Cloud(sandbox_api.url, app), requests.Session()
    first = cloud("folder/list", clouds={"instagram": {"path": "/"}})
    token = first["token"]
    connect_in_browser(browser, first["instagram"]["auth"]["redirect_url"])
    path = f"/{catalogue.media()[0][0].id}"
    before = graph_calls()

    # The attacker knows the victim's session token but holds another app's key ...
    stranger = Cloud(sandbox_api.url, other_app)
    listed = stranger("folder/list", token=token, clouds={"instagram": {"path": "/"}})
    assert listed["instagram"]["contents"] == [] and "auth" in listed["instagram"]
    picked = stranger("store/", token=token, clouds={"instagram": {"path": path}})
    assert "auth" in picked["instagram"] and "url" not in picked["instagram"]
    # ... or the right key but another session token.
    guessed = cloud("folder/list", token="not-the-victims", clouds={"instagram": {}})
    assert "auth" in guessed["instagram"]
    assert graph_calls() == before
