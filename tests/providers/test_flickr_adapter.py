"""Flickr adapter mapping on recorded replies (no HTTP) and the documented signature vector."""

import json
from pathlib import Path
from urllib.parse import unquote

import pytest

from providers.errors import ProviderAuthError, ProviderError, ProviderTokenRejected
from providers.flickr import adapter
from providers.flickr.client import signer

FIXTURES = Path("/work/shared/fixtures/flickr")


def fixture(name):
    return json.loads((FIXTURES / name).read_text())


def test_people_get_photos_maps_to_items():
    page = adapter.photos_page(fixture("people.getPhotos.json"), "/photostream")
    assert (
        page["page"] == 1 and page["pages"] == 64 and page["total"] == 15849 and page["next"] == 2
    )
    (item,) = page["contents"]
    assert item == {
        "name": "Egypt 93.jpg",
        "path": "/photostream/48788868917",
        "mimetype": "image/jpeg",
        "thumbnail": "https://live.staticflickr.com/65535/48788868917_474f051e76.jpg",
        "size": None,
        "folder": False,
        "link": "https://flic.kr/p/" + adapter.base58(48788868917),
    }


def test_photoset_numbers_as_strings():
    page = adapter.photos_page(fixture("photosets.getPhotos.json"), "/albums/4")
    assert (page["page"], page["pages"], page["total"], page["next"]) == (1, 3, 1201, 2)
    (item,) = page["contents"]
    assert item["name"] == "my photo.jpg"
    assert item["path"] == "/albums/4/2484"
    assert item["thumbnail"] == "https://live.staticflickr.com/1/2484_123456_q.jpg"


def test_empty_page():
    page = adapter.photos_page(fixture("people.getPhotos.empty.json"))
    assert page == {"contents": [], "page": 1, "pages": 0, "total": 0, "next": None}


@pytest.mark.parametrize("reply", fixture("error.json")["examples"])
def test_stat_fail_on_http_200_raises(reply):
    # 98 is this user's token (forget the connection), 100 the app's key (everyone's problem).
    expected = {98: ProviderTokenRejected, 100: ProviderAuthError}.get(reply["code"], ProviderError)
    with pytest.raises(expected) as raised:
        adapter.check(reply)
    assert type(raised.value) is expected
    assert reply["message"] in raised.value.detail


def test_auth_error_is_a_reconnect_picker_error():
    from picker.errors import PickerError

    with pytest.raises(PickerError) as raised:
        adapter.check({"stat": "fail", "code": 98, "message": "Invalid auth token"})
    assert raised.value.status == 401 and raised.value.code == "provider_reconnect"


def test_original_size_mixes_ints_and_strings():
    size = adapter.original_size(fixture("photos.getSizes.json"))
    assert size["label"] == "Original"
    assert (size["width"], size["height"]) == (800, 600)
    assert size["source"].endswith("_o.jpg")


@pytest.mark.parametrize("number, short", [(4325695128, "7Afjsu"), (2811466321, "5hruZg")])
def test_base58_short_urls(number, short):
    assert adapter.base58(number) == short
    assert adapter.short_url(str(number)) == f"https://flic.kr/p/{short}"


def test_flickr_documented_signature_vector():
    client = signer(
        "653e7a6ecc1d528c516cc8f92cf98611",
        "a9567d986a7539fe",
        callback_uri="http://www.example.com",
        nonce="95613465",
        timestamp="1305586162",
    )
    _, headers, _ = client.sign("http://www.flickr.com/services/oauth/request_token", "GET")
    signature = headers["Authorization"].split('oauth_signature="')[1].split('"')[0]
    assert unquote(signature) == "7w18YS2bONDPL/zgyzP5XTr5af4="


def test_albums_page_is_the_root_folder():
    # flickr.photosets.getList as Flickr's JSON maps its XML sample (numbers partly strings).
    reply = {
        "photosets": {
            "page": 1,
            "pages": "2",
            "perpage": 1,
            "total": "2",
            "photoset": [
                {
                    "id": "72157626216528324",
                    "primary": "5504567858",
                    "photos": 22,
                    "title": {"_content": "Avis Blanche"},
                    "primary_photo_extras": {"url_q": "https://live.staticflickr.com/q.jpg"},
                }
            ],
        },
        "stat": "ok",
    }
    page = adapter.albums_page(reply)
    assert [(i["name"], i["path"], i["folder"]) for i in page["contents"]] == [
        ("Photostream", "/photostream/", True),
        ("Avis Blanche", "/albums/72157626216528324/", True),
    ]
    assert page["contents"][1]["thumbnail"] == "https://live.staticflickr.com/q.jpg"
    assert page["next"] == 2
    reply["photosets"]["page"] = "2"
    second = adapter.albums_page(reply)
    assert [i["name"] for i in second["contents"]] == ["Avis Blanche"] and second["next"] is None
