"""filepicker.js itself, in Chromium on the integrator's origin: its API and arguments, where it
opens the dialog, the calls it makes without one (convert, stat, remove, logout), the messages it
accepts, and the errors it reports."""

from __future__ import annotations

import hashlib
import io
import json

import pytest
import requests
from PIL import Image

from picker.models import FileLink
from providers.models import ProviderConnection
from tests.widget.conftest import jpeg
from tests.widget.driver import (
    calls,
    choose,
    connect,
    dialog,
    image_size,
    integrator_page,
    open_folder,
    wait_for_call,
)
from widget.assets import asset

pytestmark = pytest.mark.django_db(transaction=True)

API = ["setKey", "pick", "pickMultiple", "pickAndStore", "exportFile", "convert", "remove"]


@pytest.fixture
def shop(make_app, integrator):
    return make_app("shop", allowed_origins=[integrator.origin])


def stored(api, app, size=(800, 600)) -> dict:
    reply = requests.post(
        f"{api.url}/api/store/S3?key={app.apikey}&filename=shop.jpg",
        data=jpeg(size),
        headers={"Content-Type": "image/jpeg"},
        timeout=30,
    )
    assert reply.status_code == 200, reply.text
    return reply.json()


def run(page, site, api, app, code: str) -> None:
    page.goto(integrator_page(site, api.url, app.apikey, code))
    page.click("#run")


def test_the_v2_api_is_all_there(page, widget_api, integrator, shop):
    page.goto(integrator_page(integrator, widget_api.url, shop.apikey, ""))
    kinds = page.evaluate(
        "names => names.map(name => typeof filepicker[name])", [*API, "stat", "logout"]
    )
    assert kinds == ["function"] * (len(API) + 2)
    assert page.evaluate("typeof filepicker.FPError") == "function"


def test_without_a_key_the_error_callback_says_so(page, widget_api, integrator, shop):
    page.goto(integrator_page(integrator, widget_api.url, shop.apikey, ""))
    page.evaluate("filepicker.setKey(null)")
    page.evaluate("filepicker.pick({}, function () {}, function (e) { window.__e = e; })")
    error = page.evaluate("window.__e")
    assert error["code"] == 102 and "setKey" in error["message"]
    assert page.locator("[data-openpicker=modal]").count() == 0


def test_closing_the_dialog_is_error_101_and_removes_it(page, widget_api, integrator, shop):
    run(page, integrator, widget_api, shop, "filepicker.pick(function () {}, function () {});")
    frame = dialog(page)
    frame.get_by_test_id("close").click()
    (error,) = wait_for_call(page, "pick", "error")
    assert error["value"]["code"] == 101
    assert page.locator("[data-openpicker=modal]").count() == 0


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


def test_a_forged_result_from_another_frame_is_ignored(
    page, widget_api, integrator, stranger, shop
):
    run(page, integrator, widget_api, shop, "filepicker.pick(function () {}, function () {});")
    dialog(page).get_by_test_id("service-computer").wait_for()
    src = page.locator("[data-openpicker=modal] iframe").get_attribute("src")
    dialog_id = src.split("&id=", 1)[1].split("&", 1)[0]
    forged = {
        "openpicker": 1,
        "id": dialog_id,
        "type": "done",
        "payload": {"url": "https://evil.example/x", "filename": "x", "mimetype": "image/png"},
    }
    stranger.put(
        "/forge.html",
        f"<script>parent.postMessage({json.dumps(forged)}, '*');</script>",
    )
    page.evaluate(
        """url => { const f = document.createElement('iframe'); f.src = url;
        document.body.appendChild(f); }""",
        f"{stranger.origin}/forge.html",
    )
    page.evaluate(f"window.postMessage({json.dumps(forged)}, '*')")  # the page's own origin
    page.wait_for_timeout(1500)
    assert "/forge.html" in stranger.hits
    assert calls(page) == []
    assert page.locator("[data-openpicker=modal]").count() == 1


def test_hostname_points_a_self_hosted_copy_at_openpicker(page, widget_api, integrator, shop):
    """The script served from the integrator's own origin, filepicker.hostname set before."""
    integrator.put("/js/filepicker.js", asset("filepicker.js").body, "text/javascript")
    integrator.put(
        "/own.html",
        f"""<!doctype html><script>window.filepicker = {{hostname: "{widget_api.url}"}};</script>
<script src="/js/filepicker.js"></script>
<script>filepicker.setKey("{shop.apikey}");
filepicker.pick({{services: ["URL"]}}, function (b) {{ window.__blob = b; }});</script>""",
    )
    page.goto(f"{integrator.origin}/own.html")
    frame = dialog(page)
    frame.get_by_test_id("url-input").fill(
        "https://www.filestackapi.com/api/file/qHi4LxRh28IeEBdJcFpw"
    )
    frame.get_by_test_id("select").click()
    page.wait_for_function("window.__blob")
    blob = page.evaluate("window.__blob")
    assert blob["url"].startswith(f"{widget_api.url}/api/file/") and blob["client"] == "URL"
    assert page.evaluate("filepicker.hostname") == widget_api.url


def test_the_hashed_script_is_the_same_library(page, widget_api, integrator, shop):
    hashed = f"{widget_api.url}/library/{asset('filepicker.js').hashed_name}"
    integrator.put(
        "/hashed.html",
        f"""<!doctype html><script src="{hashed}"></script>
<script>filepicker.setKey("{shop.apikey}"); filepicker.pick(function () {{}});</script>""",
    )
    page.goto(f"{integrator.origin}/hashed.html")
    dialog(page).get_by_test_id("service-flickr").wait_for()


def test_container_window_opens_a_popup(page, widget_api, integrator, shop):
    code = "filepicker.pick({container: 'window', services: ['URL']}, function () {});"
    page.goto(integrator_page(integrator, widget_api.url, shop.apikey, code))
    with page.context.expect_page() as opened:
        page.click("#run")
    popup = opened.value
    popup.get_by_test_id("url-input").fill(
        "https://www.filestackapi.com/api/file/qHi4LxRh28IeEBdJcFpw"
    )
    with popup.expect_event("close"):
        popup.get_by_test_id("select").click()
    (blob,) = wait_for_call(page, "pick")
    assert image_size(blob["value"]["url"]) == (640, 480)


def test_container_an_iframe_of_the_page(page, widget_api, integrator, shop):
    code = "filepicker.pick({container: 'mine', services: ['URL']}, function () {});"
    page.goto(integrator_page(integrator, widget_api.url, shop.apikey, code))
    page.evaluate("document.body.insertAdjacentHTML('beforeend', '<iframe id=mine></iframe>')")
    page.click("#run")
    frame = page.frame_locator("#mine")
    frame.get_by_test_id("url-input").wait_for()
    assert page.locator("[data-openpicker=modal]").count() == 0


def test_pick_multiple_and_pick_and_store(page, widget_api, integrator, shop):
    code = """filepicker.pickMultiple({services: ['FLICKR'], maxFiles: 2}, function () {
      filepicker.pickAndStore({services: ['FLICKR']}, {location: 'S3', path: 'kept/'},
        function () {});
    });"""
    run(page, integrator, widget_api, shop, code)
    frame = dialog(page)
    connect(page, frame)
    open_folder(frame, "/photostream/")
    photos = frame.locator('[data-testid=item][data-folder="false"]')
    for index in range(3):
        photos.nth(index).click()
    frame.get_by_test_id("select").click()
    assert "at most 2 files" in frame.get_by_test_id("error").inner_text()
    photos.nth(2).click()  # unselect the third
    frame.get_by_test_id("select").click()
    (several,) = wait_for_call(page, "pickMultiple")
    assert [blob["client"] for blob in several["value"]] == ["Flickr", "Flickr"]

    frame = dialog(page)
    open_folder(frame, "/photostream/")
    choose(frame, 3)
    (kept,) = wait_for_call(page, "pickAndStore")
    (blob,) = kept["value"]
    assert f"/{shop.pk}/kept/" in blob["key"] and blob["isWriteable"] is True
    assert FileLink.objects.get(handle=blob["url"].rsplit("/", 1)[1]).kind == FileLink.Kind.STORED


def test_convert_stat_and_remove_without_the_dialog(page, widget_api, integrator, shop, other_app):
    mine, theirs = stored(widget_api, shop), stored(widget_api, other_app)
    code = f"""
    var mine = {{url: {json.dumps(mine["url"])}}}, theirs = {{url: {json.dumps(theirs["url"])}}};
    filepicker.convert(mine, {{width: 200, height: 200, fit: 'crop', format: 'png'}},
      function (converted) {{
        filepicker.stat(converted, {{width: true, height: true, mimetype: true}}, function () {{
          filepicker.remove(theirs, function () {{}}, function () {{
            filepicker.remove(mine, function () {{}});
          }});
        }});
      }});
    filepicker.convert('https://elsewhere.example/a.jpg', {{width: 10}}, function () {{}},
      function () {{}});"""
    run(page, integrator, widget_api, shop, code)
    (bad,) = wait_for_call(page, "convert", "error")
    assert bad["value"]["code"] == 142
    (converted,) = wait_for_call(page, "convert")
    blob = converted["value"]
    served = requests.get(blob["url"], timeout=30).content
    with Image.open(io.BytesIO(served)) as image:
        assert (image.format, image.size) == ("PNG", (200, 200))
    (stat,) = wait_for_call(page, "stat")
    assert stat["value"]["width"] == 200 and stat["value"]["mimetype"] == "image/png"
    # Another app's file: refused, and still there; then our own goes.
    (refused,) = wait_for_call(page, "remove", "error")
    assert refused["value"]["code"] == 171 and "403" in refused["value"]["message"]
    wait_for_call(page, "remove", "success")
    assert requests.get(theirs["url"], timeout=30).status_code == 200
    assert requests.get(mine["url"], timeout=30).status_code == 404


def test_logout_forgets_the_connection(page, widget_api, integrator, shop):
    code = """filepicker.pick({services: ['FLICKR']}, function () {
      filepicker.logout(function () {});
    });"""
    run(page, integrator, widget_api, shop, code)
    frame = dialog(page)
    connect(page, frame)
    open_folder(frame, "/photostream/")
    choose(frame, 0)
    wait_for_call(page, "logout")
    assert not ProviderConnection.objects.filter(app=shop).exists()
    names = page.evaluate("Object.keys(localStorage)")
    assert not [name for name in names if name.startswith("openpicker:token:")]


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


def test_a_bad_policy_is_shown_not_swallowed(page, widget_api, integrator, make_app):
    strict = make_app("strict", security_required=True, allowed_origins=[integrator.origin])
    code = (
        "filepicker.pick({services: ['FLICKR'], policy: 'e30', signature: 'bad'}, function () {});"
    )
    run(page, integrator, widget_api, strict, code)
    error = dialog(page).get_by_test_id("error")
    error.wait_for()
    assert "Flickr:" in error.inner_text() and "HTTP 40" in error.inner_text()


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


def test_md5_of_parts_matches_pythons(page, widget_api):
    """The dialog's MD5 (the parts' Content-MD5) against hashlib, around the 64-byte blocks."""
    page.set_content(
        f"<script src='{widget_api.url}/library/{asset('md5.js').hashed_name}'></script>"
    )
    page.wait_for_function("window.OpenPickerMD5")
    for size in (0, 1, 55, 56, 63, 64, 65, 119, 120, 1000, 5 * 1024 * 1024 + 7):
        pattern = bytes((i * 7 + size) % 256 for i in range(256))
        data = (pattern * (size // 256 + 1))[:size]
        got = page.evaluate(
            """size => { const bytes = new Uint8Array(size);
            for (let i = 0; i < size; i++) bytes[i] = (i * 7 + size) % 256;
            return OpenPickerMD5.hex(bytes.buffer); }""",
            size,
        )
        assert got == hashlib.md5(data).hexdigest(), size  # noqa: S324 - what the API asks
