"""Origins: a page the app has not allowed cannot frame the dialog, and no page but the allowed
one receives a result, even when it opens the dialog itself and claims the allowed origin."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from picker.models import FileLink
from tests.widget import seeds
from tests.widget.driver import calls, choose, connect, integrator_page, open_folder
from webhooks.models import Event

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shop(make_app, integrator):
    return make_app("shop", allowed_origins=[integrator.origin])


def test_a_page_on_an_origin_not_allowed_cannot_frame_the_dialog(page, widget_api, stranger, shop):
    refused = []
    page.on("console", lambda message: refused.append(message.text))
    page.goto(integrator_page(stranger, widget_api.url, shop.apikey, seeds.FLICKR_PICK))
    page.click("#run")
    page.wait_for_selector("[data-openpicker=modal] iframe")
    page.wait_for_timeout(2000)

    # Chromium refused to show the frame (CSP frame-ancestors): nothing of the dialog is there.
    (frame,) = [f for f in page.frames if f != page.main_frame]
    assert not frame.url.startswith(widget_api.url)
    assert frame.locator("[data-testid=service-flickr]").count() == 0
    assert any("frame-ancestors" in text for text in refused), refused
    assert calls(page) == []
    assert not Event.objects.filter(action="fp.dialog_open").exists()


def test_the_same_page_on_the_allowed_origin_frames_it(page, widget_api, integrator, shop):
    page.goto(integrator_page(integrator, widget_api.url, shop.apikey, seeds.FLICKR_PICK))
    page.click("#run")
    frame = page.frame_locator("[data-openpicker=modal] iframe")
    frame.get_by_test_id("service-flickr").wait_for()
    event = Event.objects.get(action="fp.dialog_open")
    assert event.app == shop and event.text == {"origin": integrator.origin}


def test_a_page_claiming_the_allowed_origin_receives_no_result(
    page, widget_api, stranger, integrator, shop
):
    """A stranger opens the dialog in a popup (frame-ancestors does not reach popups) and says
    it is the shop: the end user can pick, but the result goes to the shop's origin only."""
    query = urlencode(
        {"key": shop.apikey, "origin": integrator.origin, "id": "forged", "s": "FLICKR"}
    )
    page.goto(
        stranger.put(
            "/lure.html",
            f"""<!doctype html><title>Lure</title><button id="open">Open</button>
<script>
window.__messages = [];
window.addEventListener("message", function (event) {{
  window.__messages.push({{origin: event.origin, data: event.data}});
}});
document.getElementById("open").onclick = function () {{
  window.open("{widget_api.url}/dialog/open/?{query}", "dialog", "width=900,height=640");
}};
</script>""",
        )
    )
    with page.context.expect_page() as opened:
        page.click("#open")
    popup = opened.value
    assert popup.evaluate("window.opener !== null")  # it could answer the lure, if it would
    connect(popup, popup.main_frame)
    open_folder(popup, "/photostream/")
    choose(popup, 0)

    # The pick was made and the dialog answered (to the shop's origin, which the lure is not).
    popup.get_by_text("Done.").wait_for()
    assert FileLink.objects.filter(app=shop, client="Flickr").count() == 1
    page.wait_for_timeout(1000)
    assert page.evaluate("window.__messages") == []
