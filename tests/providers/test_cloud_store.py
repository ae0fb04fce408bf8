"""POST /cloud/store/: pick (a symlink read through the Flickr opener) and pickAndStore (a copy
in the app's storage), over real HTTP against the sandbox Flickr."""

import pytest
import requests
from django.conf import settings

from picker import events
from picker.models import FileLink
from providers import limits
from providers.models import ProviderConnection
from tests.providers.test_cloud_folder_list import connected_token

pytestmark = pytest.mark.django_db(transaction=True)
PHOTO = "50000000001"
PAGE = f"https://www.flickr.com/photos/99999999@N00/{PHOTO}/"


def cloud_store(base_url, app, token, path, store=None, post=requests.post):
    item = {"path": path} | ({"store": store} if store is not None else {})
    body = {"apikey": app.apikey, "token": token, "clouds": {"flickr": item}}
    return post(f"{base_url}/cloud/store/", json=body, timeout=60)


def original_bytes(sandbox_api, connection) -> bytes:
    """The photo's original as the sandbox serves it (its URL from getSizes)."""
    reply = requests.post(
        f"{sandbox_api.url}/services/rest/",
        json={
            "apikey": connection.app.apikey,
            "token": "session-token-of-the-user",
            "method": "flickr.photos.getSizes",
            "photo_id": PHOTO,
        },
        timeout=30,
    ).json()
    return requests.get(reply["sizes"]["size"][-1]["source"], timeout=30).content


def test_pick_makes_a_symlink_served_through_the_flickr_opener(sandbox_api, app):
    token = connected_token(sandbox_api, app)
    picked = cloud_store(sandbox_api.url, app, token, f"/albums/72157700000000001/{PHOTO}")
    assert picked.status_code == 200, picked.text
    blob = picked.json()["flickr"]
    link = FileLink.objects.get()
    original = original_bytes(sandbox_api, ProviderConnection.objects.get())
    assert blob == {
        "url": f"{sandbox_api.url}/api/file/{link.handle}",
        "handle": link.handle,
        "filename": "Sandbox photo 01.jpg",
        "size": len(original),
        "mimetype": "image/jpeg",
        "type": "image/jpeg",
        "client": "Flickr",
        "isWriteable": False,
        "source_url": PAGE,
        "short_url": "https://flic.kr/p/2jbk52x",
    }
    assert (link.kind, link.provider, link.source_url) == (FileLink.Kind.SYMLINK, "Flickr", PAGE)
    assert link.provider_item_id == f"99999999@N00:/albums/72157700000000001/{PHOTO}"
    served = requests.get(blob["url"], timeout=60)
    assert served.status_code == 200 and served.content == original
    meta = requests.get(f"{blob['url']}/metadata?source_url=true&cloud=true", timeout=30).json()
    assert meta == {"cloud": True, "source_url": PAGE, "handle": link.handle}


def test_pick_and_store_copies_the_original_into_the_apps_storage(sandbox_api, app):
    token = connected_token(sandbox_api, app)
    stored = cloud_store(
        sandbox_api.url, app, token, f"/photostream/{PHOTO}", {"location": "s3", "path": "picks/"}
    )
    assert stored.status_code == 200, stored.text
    blob = stored.json()["flickr"]
    link = FileLink.objects.get()
    assert link.kind == FileLink.Kind.STORED and link.client == "Flickr"
    assert link.source_url == PAGE and blob["client"] == "Flickr" and blob["isWriteable"]
    assert blob["key"] == link.key and "picks/" in link.key and blob["container"] == link.container
    original = original_bytes(sandbox_api, ProviderConnection.objects.get())
    assert blob["size"] == len(original)
    assert requests.get(blob["url"], timeout=30).content == original


def test_unconnected_or_foreign_sessions_pick_nothing(sandbox_api, app, other_app):
    token = connected_token(sandbox_api, app)
    for who, session in ((app, "a-stranger"), (other_app, token)):
        reply = cloud_store(sandbox_api.url, who, session, f"/photostream/{PHOTO}")
        assert reply.status_code == 200
        assert reply.json()["flickr"]["auth"]["redirect_url"].startswith(
            f"{sandbox_api.url}/api/client/flickr/auth/open?key={who.apikey}&"
        )
    missing = cloud_store(sandbox_api.url, app, token, "/photostream/1")
    assert missing.status_code == 502 and missing.json()["error"] == "provider_error"
    junk = cloud_store(sandbox_api.url, app, token, "/etc/passwd")
    assert junk.status_code == 404 and junk.json()["error"] == "item_not_found"
    bad_store = cloud_store(
        sandbox_api.url, app, token, f"/photostream/{PHOTO}", {"location": "gcs"}
    )
    assert bad_store.status_code == 400 and bad_store.json()["error"] == "unsupported_location"
    assert not FileLink.objects.exists()


def test_a_symlink_needs_its_account_connected(sandbox_api, app):
    token = connected_token(sandbox_api, app)
    blob = cloud_store(sandbox_api.url, app, token, f"/photostream/{PHOTO}").json()["flickr"]
    requests.post(
        f"{sandbox_api.url}/cloud/auth/logout",
        json={"apikey": app.apikey, "token": token},
        timeout=10,
    )
    gone = requests.get(blob["url"], timeout=30)
    assert gone.status_code == 401 and gone.json()["error"] == "provider_reconnect"


@pytest.fixture
def announced():
    """The events published in this process."""
    seen = []

    def receive(event, **kwargs):
        seen.append(event)

    events.recorded.connect(receive)
    yield seen
    events.recorded.disconnect(receive)


def test_picks_announce_fp_upload_with_client_flickr(
    flickr_sandbox, sandbox_api, app, client, announced
):
    token = connected_token(sandbox_api, app)
    limits.forget("flickr", settings.OPENPICKER_FLICKR_KEY)

    def post(url, json, timeout):
        return client.post(
            url.removeprefix("http://in-process"), json, content_type="application/json"
        )

    cloud_store("http://in-process", app, token, f"/photostream/{PHOTO}", post=post)
    cloud_store("http://in-process", app, token, f"/photostream/{PHOTO}", {}, post=post)
    symlink, stored = announced
    assert [e.action for e in announced] == ["fp.upload", "fp.upload"]
    assert (symlink.client, symlink.stored, symlink.text()["client"]) == ("Flickr", False, "Flickr")
    assert (stored.client, stored.stored) == ("Flickr", True)
    assert stored.text()["key"] == stored.link.key
