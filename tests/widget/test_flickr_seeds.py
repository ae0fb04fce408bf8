"""The seeds' Flickr sample code, verbatim on the integrator's page (a second origin), clicked
through the dialog against the sandbox Flickr; every blob's URL serves the right image."""

from __future__ import annotations

import json

import pytest

from picker.models import FileLink
from providers.flickr.provider import photo_id
from providers.sandbox.flickr.catalogue import find_photo
from providers.sandbox.models import FlickrUpload
from tests.widget import seeds
from tests.widget.conftest import SEED_FILE_SIZE, jpeg
from tests.widget.driver import (
    choose,
    connect,
    console,
    convert_sample_results,
    dialog,
    image_size,
    open_folder,
    pick_from_photostream,
    run,
    wait_for_call,
)

pytestmark = pytest.mark.django_db(transaction=True)


def photo_size(path: str) -> tuple[int, int]:
    photo = find_photo(photo_id(path))
    return photo.width, photo.height


def test_flickr_pick(page, widget_api, integrator, shop, shoot):
    logs = console(page)
    run(page, integrator, widget_api, shop, seeds.FLICKR_PICK)
    frame = dialog(page)
    connect(page, frame)
    shoot(page, "flickr-albums")
    open_folder(frame, "/photostream/")
    shoot(page, "flickr-grid")
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
    fetched_before = len(public_file.hits)
    logs = console(page)
    # The dialog previews the file: this browser cannot reach the real host either.
    page.route(seeds.SEED_EXPORT_URL, lambda route: route.fulfill(body=jpeg(SEED_FILE_SIZE)))
    run(page, integrator, widget_api, shop, seeds.FLICKR_EXPORT)
    frame = dialog(page)
    assert frame.get_by_test_id("filename").input_value() == "newFile"
    shoot(page, "export")
    frame.get_by_test_id("save").click()
    connect(page, frame)  # export needs a connection with write access

    (call,) = wait_for_call(page, "exportFile")
    blob = call["value"]
    assert blob["client"] == "Flickr" and logs[-1] == blob["url"]
    assert image_size(blob["url"]) == SEED_FILE_SIZE
    assert public_file.hits[fetched_before:] == ["/api/file/qHi4LxRh28IeEBdJcFpw"]
    upload = FlickrUpload.objects.get()
    assert upload.title == "newFile"


def test_flickr_pick_convert_400_to_s3_then_remove(page, widget_api, integrator, shop):
    logs = console(page)
    run(page, integrator, widget_api, shop, seeds.FLICKR_CONVERT)
    frame = dialog(page)
    path = pick_from_photostream(page, frame, 0)

    picked, converted = convert_sample_results(page, logs)
    width, height = photo_size(path)
    scale = min(400 / width, 400 / height)  # the legacy resize fits inside the box (fit=clip)
    # The stored conversion outlives the removed pick.
    assert image_size(converted["url"]) == (round(width * scale), round(height * scale))
    assert FileLink.objects.get(handle=picked["url"].rsplit("/", 1)[1]).deleted_at


def test_flickr_pick_crop_first_300_then_export_back(page, widget_api, integrator, shop):
    logs = console(page)
    run(page, integrator, widget_api, shop, seeds.FLICKR_COMBINED)
    frame = dialog(page)
    pick_from_photostream(page, frame, 1)

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
