"""The seeds' Instagram sample code, verbatim on the integrator's page, clicked through the
dialog against the sandbox Instagram (1080×1080 posts; carousels shown as their images)."""

from __future__ import annotations

import json

import pytest

from picker.models import FileLink
from tests.widget import seeds
from tests.widget.driver import choose, connect, dialog, image_size, integrator_page, wait_for_call

pytestmark = pytest.mark.django_db(transaction=True)

POST_SIZE = (1080, 1080)


@pytest.fixture
def shop(make_app, integrator):
    return make_app("shop", allowed_origins=[integrator.origin])


def test_instagram_pick(page, widget_api, integrator, shop):
    logs = []
    page.on("console", lambda message: logs.append(message.text))
    page.goto(integrator_page(integrator, widget_api.url, shop.apikey, seeds.INSTAGRAM_PICK))
    page.click("#run")
    frame = dialog(page)
    connect(page, frame)
    items = frame.locator("[data-testid=item]")
    items.first.wait_for()
    # A page of ten posts, two of them carousels shown as their three images each; the video
    # is there but cannot be chosen (image/* asked).
    assert items.count() == 10 + 2 * 2
    assert frame.locator("[data-testid=item][disabled]").all_inner_texts() == [
        "17900000000000040.mp4"
    ]
    frame.get_by_test_id("more").click()
    items.nth(14).wait_for()
    choose(frame, 15)  # the second page starts with a video

    (call,) = wait_for_call(page, "pick")
    blob = call["value"]
    assert blob["client"] == "Instagram" and blob["mimetype"] == "image/jpeg"
    assert json.loads(logs[-1]) == blob
    assert image_size(blob["url"]) == POST_SIZE


def test_instagram_pick_convert_400_to_s3_then_remove(page, widget_api, integrator, shop):
    logs = []
    page.on("console", lambda message: logs.append(message.text))
    page.goto(integrator_page(integrator, widget_api.url, shop.apikey, seeds.INSTAGRAM_CONVERT))
    page.click("#run")
    frame = dialog(page)
    connect(page, frame)
    choose(frame, 0)

    wait_for_call(page, "remove")
    (picked,) = wait_for_call(page, "pick")
    (converted,) = wait_for_call(page, "convert")
    assert image_size(converted["value"]["url"]) == (400, 400)
    assert logs[-1] == "Removed" and converted["value"]["key"] in logs[-2]
    assert FileLink.objects.get(handle=picked["value"]["url"].rsplit("/", 1)[1]).deleted_at
