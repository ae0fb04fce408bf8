"""The seeds' Flickr sample code, verbatim on the integrator's page (a second origin), clicked
through the dialog against the sandbox Flickr; every blob's URL serves the right image."""

from __future__ import annotations

import json

import pytest

from providers.flickr.provider import photo_id
from providers.sandbox.flickr.catalogue import find_photo
from tests.widget import seeds
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
