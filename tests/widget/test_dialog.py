"""The dialog as the end user meets it: keyboard, a phone's width, Flickr's albums and paging,
and the errors it shows instead of failing silently (maxSize, a bad policy, a spent budget)."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import pytest
from django.core.cache import cache

from picker import policies
from picker.models import FileLink
from providers import limits
from providers.models import CallBudget, digest
from tests.widget.conftest import jpeg
from tests.widget.driver import (
    calls,
    connect,
    dialog,
    image_size,
    open_folder,
    pick_from_photostream,
    run,
    wait_for_call,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_escape_closes_and_the_services_work_from_the_keyboard(page, widget_api, integrator, shop):
    run(page, integrator, widget_api, shop, "filepicker.pick(function () {}, function () {});")
    frame = dialog(page)
    first = frame.get_by_test_id("service-computer")
    first.wait_for()
    assert first.evaluate("element => element === document.activeElement")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # the second service, Link
    frame.get_by_test_id("url-input").wait_for()
    assert frame.get_by_test_id("service-url").get_attribute("aria-pressed") == "true"
    page.keyboard.press("Escape")
    (error,) = wait_for_call(page, "pick", "error")
    assert error["value"]["code"] == 101


def test_flickr_albums_page_and_lead_back(page, widget_api, integrator, shop):
    code = "filepicker.pick({services: ['INSTAGRAM', 'FLICKR'], openTo: 'FLICKR'}, function () {});"
    run(page, integrator, widget_api, shop, code)
    frame = dialog(page)
    connect(page, frame)
    album = frame.locator("[data-testid=item][data-folder=true]", has_text="Sea")
    path = album.get_attribute("data-path")
    open_folder(frame, path)
    photos = frame.locator('[data-testid=item][data-folder="false"]')
    assert photos.count() == 10
    frame.get_by_test_id("more").click()
    photos.nth(11).wait_for()
    assert photos.count() == 12 and frame.get_by_test_id("more").count() == 0
    frame.get_by_test_id("back").click()
    frame.locator('[data-testid=item][data-path="/photostream/"]').wait_for()


def test_files_over_max_size_are_refused_in_the_dialog(
    page, widget_api, integrator, shop, tmp_path
):
    big = tmp_path / "big.jpg"
    big.write_bytes(jpeg((400, 400)))
    code = "filepicker.pick({services: ['COMPUTER'], maxSize: 1000}, function () {});"
    run(page, integrator, widget_api, shop, code)
    frame = dialog(page)
    frame.get_by_test_id("file-input").set_input_files(str(big))
    message = frame.get_by_test_id("error").inner_text()
    assert "big.jpg" in message and "over this site's limit of 1000 bytes" in message
    assert calls(page) == []


def test_files_of_other_extensions_are_refused_in_the_dialog(
    page, widget_api, integrator, shop, tmp_path
):
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(jpeg((40, 40)))
    code = (
        "filepicker.pick({services: ['COMPUTER'], extensions: ['.png', '.gif']}, function () {});"
    )
    run(page, integrator, widget_api, shop, code)
    frame = dialog(page)
    assert frame.get_by_test_id("file-input").get_attribute("accept") == ".png,.gif"
    frame.get_by_test_id("file-input").set_input_files(str(photo))
    message = frame.get_by_test_id("error").inner_text()
    assert "photo.jpg is not a file this site accepts (png, gif)" in message
    assert calls(page) == []


def test_a_link_to_a_file_of_another_type_is_refused_and_left_nowhere(
    page, widget_api, integrator, shop
):
    code = "filepicker.pick({services: ['URL'], mimetype: 'image/*'}, function () {});"
    run(page, integrator, widget_api, shop, code)
    frame = dialog(page)
    frame.get_by_test_id("url-input").fill("https://www.filestackapi.com/notes.txt")
    with page.expect_response(lambda reply: reply.url.endswith("/remove")) as removal:
        frame.get_by_test_id("select").click()
    assert removal.value.status == 200
    error = frame.get_by_test_id("error").inner_text()
    assert "notes.txt is not a file this site accepts (image/*)" in error
    (link,) = FileLink.objects.filter(app=shop)
    assert link.deleted_at is not None
    assert calls(page) == []


def test_a_bad_policy_is_shown_not_swallowed(page, widget_api, integrator, make_app):
    strict = make_app("strict", security_required=True, allowed_origins=[integrator.origin])
    code = (
        "filepicker.pick({services: ['FLICKR'], policy: 'e30', signature: 'bad'}, function () {});"
    )
    run(page, integrator, widget_api, strict, code)
    error = dialog(page).get_by_test_id("error")
    error.wait_for()
    assert "Flickr:" in error.inner_text() and "HTTP 40" in error.inner_text()


SANDBOX_FLICKR_KEY = "5a9d0e6b2f3c4d1e8f7a6b5c4d3e2f1a"  # the server's Flickr key (sandbox on)


@pytest.fixture
def spend_flickr_budget(settings):
    """Spends this hour's (and the next's) Flickr calls of the server's key; given back after."""
    key = digest(f"flickr:{SANDBOX_FLICKR_KEY}")
    window = int(time.time() // limits.WINDOW)
    limit = settings.OPENPICKER_FLICKR_CALLS_PER_HOUR

    def spend() -> None:
        for each in (window, window + 1):
            if limits._uses_redis():
                cache.set(limits.redis_name(key, each), limit, timeout=2 * limits.WINDOW)
            else:
                CallBudget.objects.update_or_create(
                    key_digest=key, window=each, defaults={"count": limit}
                )

    yield spend
    for each in (window, window + 1):
        limits.forget("flickr", SANDBOX_FLICKR_KEY, now=each * limits.WINDOW)


def test_a_spent_flickr_budget_is_shown(page, widget_api, integrator, shop, spend_flickr_budget):
    run(
        page,
        integrator,
        widget_api,
        shop,
        "filepicker.pick({services: ['FLICKR']}, function () {});",
    )
    frame = dialog(page)
    connect(page, frame)
    frame.locator('[data-testid=item][data-path="/photostream/"]').wait_for()
    spend_flickr_budget()
    frame.locator('[data-testid=item][data-path="/photostream/"]').click()
    error = frame.get_by_test_id("error")
    error.wait_for()
    assert "budget of" in error.inner_text() and "HTTP 429" in error.inner_text()
    assert calls(page) == []


def test_readable_at_360_px(browser, widget_api, integrator, shop, shoot):
    context = browser.new_context(viewport={"width": 360, "height": 640})
    page = context.new_page()
    try:
        run(page, integrator, widget_api, shop, "filepicker.pick(function () {});")
        frame = dialog(page)
        frame.get_by_test_id("service-instagram").wait_for()
        element = page.locator("[data-openpicker=modal] iframe").element_handle().content_frame()
        widths = element.evaluate(
            "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert widths[0] <= widths[1] <= 360
        services = frame.locator(".services")
        assert services.evaluate("e => getComputedStyle(e.querySelector('ul')).display") == "flex"
        shoot(page, "services-360")
    finally:
        context.close()


def test_with_a_valid_policy_every_call_of_the_dialog_passes(
    page, widget_api, integrator, make_app, tmp_path
):
    """An app that requires policies: the dialog hands the integrator's policy and signature
    to the multipart upload and to the cloud calls."""
    strict = make_app("strict", security_required=True, allowed_origins=[integrator.origin])
    policy = policies.encode({"expiry": int(time.time()) + 600, "call": ["pick", "store", "read"]})
    security = {"policy": policy, "signature": policies.sign(policy, strict.secret)}
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(jpeg((64, 48)))
    code = f"""var security = {json.dumps(security)};
    filepicker.pick(Object.assign({{services: ['COMPUTER']}}, security), function () {{
      filepicker.pick(Object.assign({{services: ['FLICKR']}}, security), function () {{}});
    }});"""
    run(page, integrator, widget_api, strict, code)
    dialog(page).get_by_test_id("file-input").set_input_files(str(photo))
    (uploaded,) = wait_for_call(page, "pick")
    assert image_size(f"{uploaded['value']['url']}?{urlencode(security)}") == (64, 48)

    frame = dialog(page)
    pick_from_photostream(page, frame, 0)
    wait_for_call(page, "pick", count=2)
    assert [c["value"]["client"] for c in calls(page, "pick", "success")] == ["computer", "Flickr"]
