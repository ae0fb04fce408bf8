"""The seeds' Flickr sample code, verbatim on the integrator's page (a second origin), clicked
through the dialog against the sandbox Flickr; every blob's URL serves the right image."""

from __future__ import annotations

import json

import pytest
import requests

from picker.models import FileLink
from providers.flickr.provider import photo_id
from providers.sandbox.flickr.catalogue import find_photo
from providers.sandbox.models import FlickrUpload
from tests.widget import seeds
from tests.widget.conftest import SEED_FILE_SIZE
from tests.widget.driver import (
    choose,
    connect,
    dialog,
    image_size,
    integrator_page,
    open_folder,
    wait_for_call,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shop(make_app, integrator):
    return make_app("shop", allowed_origins=[integrator.origin])


def photo_size(path: str) -> tuple[int, int]:
    photo = find_photo(photo_id(path))
    return photo.width, photo.height


def test_flickr_pick(page, widget_api, integrator, shop, shoot):
    logs = []
    page.on("console", lambda message: logs.append(message.text))
    page.goto(integrator_page(integrator, widget_api.url, shop.apikey, seeds.FLICKR_PICK))
    page.click("#run")
    frame = dialog(page)
    connect(page, frame)
    open_folder(frame, "/photostream/")
    path = choose(frame, 2)

    (call,) = wait_for_call(page, "pick")
    blob = call["value"]
    assert set(blob) >= {"url", "filename", "mimetype", "size", "client", "isWriteable"}
    assert blob["client"] == "Flickr" and blob["mimetype"] == "image/jpeg"
    assert blob["url"].startswith(f"{widget_api.url}/api/file/")
    assert json.loads(logs[-1]) == blob  # the sample's own console.log(JSON.stringify(Blob))
    assert image_size(blob["url"]) == photo_size(path)
    assert page.locator("[data-openpicker=modal]").count() == 0  # the dialog closed


def test_flickr_export_of_a_url(page, widget_api, integrator, shop, public_file, shoot):
    """exportFile of the seed's public URL: the server fetches it (through its outbound guard)
    and uploads it to Flickr; the callback's blob serves the same picture."""
    logs = []
    page.on("console", lambda message: logs.append(message.text))
    page.goto(integrator_page(integrator, widget_api.url, shop.apikey, seeds.FLICKR_EXPORT))
    page.click("#run")
    frame = dialog(page)
    assert frame.get_by_test_id("filename").input_value() == "newFile"
    frame.get_by_test_id("save").click()
    connect(page, frame)  # export needs a connection with write access

    (call,) = wait_for_call(page, "exportFile")
    blob = call["value"]
    assert blob["client"] == "Flickr" and logs[-1] == blob["url"]
    assert image_size(blob["url"]) == SEED_FILE_SIZE
    assert public_file.hits == ["/api/file/qHi4LxRh28IeEBdJcFpw"]
    upload = FlickrUpload.objects.get()
    assert upload.title == "newFile"


def test_flickr_pick_convert_400_to_s3_then_remove(page, widget_api, integrator, shop):
    logs = []
    page.on("console", lambda message: logs.append(message.text))
    page.goto(integrator_page(integrator, widget_api.url, shop.apikey, seeds.FLICKR_CONVERT))
    page.click("#run")
    frame = dialog(page)
    connect(page, frame)
    open_folder(frame, "/photostream/")
    path = choose(frame, 0)

    wait_for_call(page, "remove")
    (picked,) = wait_for_call(page, "pick")
    (converted,) = wait_for_call(page, "convert")
    picked, converted = picked["value"], converted["value"]
    width, height = photo_size(path)
    scale = min(400 / width, 400 / height)  # the legacy resize fits inside the box (fit=clip)
    assert image_size(converted["url"]) == (round(width * scale), round(height * scale))
    assert converted["key"] and converted["key"].endswith(".jpg")
    assert logs[-3:] == [
        f"Converted file url:  {converted['url']}",
        f"File is stored under your S3:  {converted['key']}",
        "Removed",
    ]
    link = FileLink.objects.get(handle=picked["url"].rsplit("/", 1)[1])
    assert link.deleted_at is not None
    assert requests.get(picked["url"], timeout=30).status_code == 404
    assert image_size(converted["url"])  # the stored conversion outlives the removed pick


def test_flickr_pick_crop_first_300_then_export_back(page, widget_api, integrator, shop):
    logs = []
    page.on("console", lambda message: logs.append(message.text))
    page.goto(integrator_page(integrator, widget_api.url, shop.apikey, seeds.FLICKR_COMBINED))
    page.click("#run")
    frame = dialog(page)
    connect(page, frame)
    open_folder(frame, "/photostream/")
    choose(frame, 1)

    (converted,) = wait_for_call(page, "convert")
    assert image_size(converted["value"]["url"]) == (300, 300)
    frame = dialog(page)  # the export's own dialog
    (picked,) = wait_for_call(page, "pick")
    assert frame.get_by_test_id("filename").input_value() == (
        "converted_" + picked["value"]["filename"]
    )
    frame.get_by_test_id("save").click()
    connect(page, frame)  # the read connection of the pick is asked to grant write

    (exported,) = wait_for_call(page, "exportFile")
    assert logs[-1] == "File successfully saved!"
    assert exported["value"]["client"] == "Flickr"
    assert image_size(exported["value"]["url"]) == (300, 300)
    upload = FlickrUpload.objects.get()
    assert upload.title == "converted_" + picked["value"]["filename"].rsplit(".", 1)[0]
