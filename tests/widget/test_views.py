"""The widget's HTTP surface without a browser: the script and its hashed names, the dialog's
origin rules (CSP frame-ancestors), the services it offers, and fp.dialog_open."""

import json
import re

import pytest

from webhooks.models import Event
from widget.assets import asset

pytestmark = pytest.mark.django_db

SHOP = "https://shop.example"


def dialog(client, app, mode="open", **query):
    query = {"key": app.apikey, "origin": SHOP, "id": "1-abc", **query}
    return client.get(f"/dialog/{mode}/", query)


def config_of(response) -> dict:
    found = re.search(
        r'<script id="openpicker-config" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    return json.loads(found[1])


def frame_ancestors(response) -> str:
    return re.search(r"frame-ancestors ([^;]+)", response["Content-Security-Policy"])[1]


def test_library_is_served_with_its_digest_and_revalidates(client):
    reply = client.get("/library/filepicker.js")
    item = asset("filepicker.js")
    assert reply.status_code == 200 and reply.content == item.body
    assert reply["Content-Type"].startswith("text/javascript")
    assert reply["ETag"] == f'"{item.digest}"' and "max-age=300" in reply["Cache-Control"]
    hashed = re.search(r"<([^>]+)>", reply["Link"])[1]
    assert hashed == f"/library/filepicker.{item.digest}.js"
    again = client.get("/library/filepicker.js", HTTP_IF_NONE_MATCH=reply["ETag"])
    assert again.status_code == 304 and again.content == b""
    forever = client.get(hashed)
    assert forever.content == item.body and "immutable" in forever["Cache-Control"]


def test_a_stale_or_unknown_hashed_name_is_a_404(client):
    digest = asset("dialog.js").digest
    assert client.get(f"/library/dialog.{digest}.js").status_code == 200
    assert client.get("/library/dialog.000000000000.js").status_code == 404
    assert client.get(f"/library/secrets.{digest}.js").status_code == 404


def test_dialog_is_readable_by_the_library_and_names_its_hashed_assets(client, app):
    reply = dialog(client, app)
    assert reply.status_code == 200
    page = reply.content.decode()
    for name in ("dialog.js", "md5.js", "dialog.css"):
        assert asset(name).hashed_name in page
    for hook in ('data-testid="close"', 'data-testid="select"', 'data-testid="save"'):
        assert hook in page
    config = config_of(reply)
    assert config["apikey"] == app.apikey and config["origin"] == SHOP and config["id"] == "1-abc"
    assert reply["Cache-Control"] == "no-store"
    assert "X-Frame-Options" not in reply


def test_without_allowed_origins_any_page_may_frame_the_dialog(client, app):
    assert frame_ancestors(dialog(client, app)) == "*"


def test_allowed_origins_are_the_only_frame_ancestors(client, make_app):
    app = make_app("shop", allowed_origins=[SHOP, "http://127.0.0.1:8123/"])
    reply = dialog(client, app)
    assert reply.status_code == 200
    assert frame_ancestors(reply) == f"{SHOP} http://127.0.0.1:8123"


def test_a_page_on_another_origin_gets_no_dialog(client, make_app):
    app = make_app("shop", allowed_origins=[SHOP])
    reply = dialog(client, app, origin="https://evil.example")
    assert reply.status_code == 403
    assert "openpicker-config" not in reply.content.decode()
    assert frame_ancestors(reply) == SHOP
    assert not Event.objects.filter(action="fp.dialog_open").exists()


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ({"key": "nope"}, 401),
        ({"key": ""}, 401),
        ({"origin": "javascript:alert(1)"}, 400),
        ({"origin": "https://shop.example/path"}, 400),
        ({"maxSize": "12MB"}, 400),
    ],
)
def test_bad_queries_are_refused_in_the_page_never_framed(client, app, query, status):
    reply = dialog(client, app, **query)
    assert reply.status_code == status
    assert 'data-testid="refused"' in reply.content.decode()
    assert frame_ancestors(reply) == "'none'"


def services(reply) -> list[str]:
    return [service["name"] for service in config_of(reply)["services"]]


def test_services_follow_the_integrators_list_and_order(client, app):
    assert services(dialog(client, app)) == ["COMPUTER", "URL", "FLICKR", "INSTAGRAM"]
    assert services(dialog(client, app, s="INSTAGRAM,flickr,DROPBOX")) == ["INSTAGRAM", "FLICKR"]


def test_services_that_cannot_provide_the_mimetype_are_left_out(client, app):
    assert services(dialog(client, app, m="image/*")) == ["COMPUTER", "URL", "FLICKR", "INSTAGRAM"]
    assert services(dialog(client, app, m="image/jpeg,video/mp4")) == [
        "COMPUTER",
        "URL",
        "FLICKR",
        "INSTAGRAM",
    ]
    assert services(dialog(client, app, m="application/pdf")) == ["COMPUTER", "URL"]
    assert services(dialog(client, app, s="FLICKR", m="text/plain")) == []


def test_save_offers_only_services_that_take_exports(client, app):
    reply = dialog(client, app, mode="save", s="FLICKR,INSTAGRAM", url="https://x.example/a.jpg")
    assert services(reply) == ["FLICKR"]
    config = config_of(reply)
    assert config["mode"] == "save" and config["url"] == "https://x.example/a.jpg"


def test_options_reach_the_dialog(client, app):
    reply = dialog(
        client,
        app,
        m="image/*",
        ext=".JPG,png",
        maxSize="1048576",
        maxFiles="3",
        multi="1",
        openTo="flickr",
        store_location="S3",
        store_path="avatars/",
        policy="p",
        signature="s",
    )
    config = config_of(reply)
    assert config["extensions"] == ["jpg", "png"]
    assert (config["maxSize"], config["maxFiles"], config["multiple"]) == (1048576, 3, True)
    assert config["openTo"] == "FLICKR"
    assert config["store"] == {"location": "S3", "path": "avatars/"}
    assert (config["policy"], config["signature"]) == ("p", "s")


def test_opening_the_dialog_announces_fp_dialog_open(client, app, other_app):
    dialog(client, app)
    event = Event.objects.get(action="fp.dialog_open")
    assert event.app == app and event.text == {"origin": SHOP}
    assert not Event.objects.filter(app=other_app).exists()


def test_the_config_cannot_break_out_of_its_script_tag(client, app):
    reply = dialog(client, app, filename="</script><script>alert(1)</script>", mode="save")
    page = reply.content.decode()
    assert "</script><script>alert(1)" not in page
    assert config_of(reply)["filename"] == "</script><script>alert(1)</script>"
