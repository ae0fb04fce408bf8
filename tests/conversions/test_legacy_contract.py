"""The legacy `/api/file/{handle}/convert` call: Filestack's resize-then-crop order, and the
legacy store parameters (storePath, storeContainer, storeAccess) applied to the stored copy."""

import io
import posixpath
import time
from urllib.parse import urlencode

import pytest
from PIL import Image

from picker import policies
from picker.models import FileLink, StorageTarget
from tests.conftest import body
from tests.conversions.conftest import open_image

pytestmark = pytest.mark.usefixtures("converting")
RED, BLUE = (255, 0, 0), (0, 0, 255)


@pytest.fixture
def halves(app, store):
    """1200x900: the left half red, the right half blue (PNG, so colours stay exact)."""
    image = Image.new("RGB", (1200, 900), RED)
    image.paste(BLUE, (600, 0, 1200, 900))
    out = io.BytesIO()
    image.save(out, "PNG")
    return store(app, out.getvalue(), filename="halves.png").json()


def colour_of(image: Image.Image) -> tuple[int, int, int]:
    """The colour of an image that must be one flat colour."""
    colours = image.convert("RGB").getcolors()
    assert colours is not None and len(colours) == 1, colours
    return colours[0][1]


def test_resize_then_crop_is_the_default_order(client, halves):
    # Resized first to 600x450 (red x<300, blue x>=300), x=400..500 is blue, 100x100.
    # Cropped first, x=400..500 of the 1200-wide source is red, then resized to 600x600.
    response = client.get(f"/api/file/{halves['handle']}/convert?w=600&crop=400,0,100,100")
    assert response.status_code == 200, response.content
    image = open_image(body(response))
    assert image.size == (100, 100)
    assert colour_of(image) == BLUE


def test_crop_first_reverses_the_order(client, halves):
    response = client.get(
        f"/api/file/{halves['handle']}/convert?w=600&crop=400,0,100,100&crop_first=true"
    )
    assert response.status_code == 200, response.content
    image = open_image(body(response))
    assert image.size == (600, 600)
    assert colour_of(image) == RED


def test_store_path_and_access(client, app, halves, store):
    reference = store(app, b"where thumbs/ goes", filename="r.txt", path="thumbs/").json()
    response = client.post(
        f"/api/file/{halves['handle']}/convert?key={app.apikey}",
        {
            "w": 60,
            "storeLocation": "S3",
            "storePath": "thumbs/",
            "storeAccess": "public",
            "storeFilename": "small.png",
        },
    )
    assert response.status_code == 200, response.content
    blob = response.json()
    # The stored copy is where a plain store with path=thumbs/ puts its file.
    assert posixpath.dirname(blob["key"]) == posixpath.dirname(reference["key"])
    assert blob["filename"] == "small.png"
    assert FileLink.objects.get(handle=blob["handle"]).access == "public"
    assert FileLink.objects.get(handle=reference["handle"]).access == "private"
    assert open_image(body(client.get(f"/api/file/{blob['handle']}"))).size == (60, 45)


def test_store_access_must_be_public_or_private(client, app, halves):
    response = client.post(
        f"/api/file/{halves['handle']}/convert?key={app.apikey}",
        {"w": 60, "storeAccess": "everyone"},
    )
    assert response.status_code == 400, response.content
    assert FileLink.objects.count() == 1


def test_store_container_picks_the_apps_other_bucket(client, app, halves, moto):
    moto.create_bucket("legacy-main")
    moto.create_bucket("legacy-other")
    StorageTarget.objects.create(
        app=app,
        bucket="legacy-main",
        region="us-east-1",
        endpoint_url=moto.url,
        access_key_id="testing",
        secret_access_key="testing",
    )
    url = f"/api/file/{halves['handle']}/convert?key={app.apikey}"
    stored = client.post(url, {"w": 60, "storeContainer": "legacy-other"})
    assert stored.status_code == 200, stored.content
    assert stored.json()["container"] == "legacy-other"
    meta = client.get(f"/api/file/{stored.json()['handle']}/metadata").json()
    assert meta["container"] == "legacy-other"


def test_store_container_is_refused_without_an_own_bucket(client, app, halves):
    refused = client.post(
        f"/api/file/{halves['handle']}/convert?key={app.apikey}",
        {"w": 60, "storeContainer": "someone-elses-bucket"},
    )
    assert refused.status_code == 403
    assert refused.json()["error"] == "container_not_allowed"
    assert FileLink.objects.count() == 1  # nothing stored


def test_store_path_is_checked_against_the_policy(client, make_app, store):
    secure = make_app("secure", security_required=True)

    def creds(**fields):
        encoded = policies.encode({"expiry": int(time.time()) + 60, **fields})
        return {"policy": encoded, "signature": policies.sign(encoded, secure.secret)}

    image = io.BytesIO()
    Image.new("RGB", (40, 30), RED).save(image, "PNG")
    handle = store(secure, image.getvalue(), filename="p.png", **creds(call=["store"])).json()[
        "handle"
    ]
    allowed = creds(call=["convert", "store"], path="thumbs/")
    query = urlencode({"key": secure.apikey, **allowed})
    refused = client.post(
        f"/api/file/{handle}/convert?{query}", {"w": 20, "storePath": "elsewhere/"}
    )
    assert refused.status_code == 403 and refused.json()["error"] == "policy_path"
    ok = client.post(f"/api/file/{handle}/convert?{query}", {"w": 20, "storePath": "thumbs/"})
    assert ok.status_code == 200, ok.content
