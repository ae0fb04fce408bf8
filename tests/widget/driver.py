"""Driving the picker as an end user would, from the integrator's page, with Playwright."""

from __future__ import annotations

import io
import json

import requests
from PIL import Image

# Records every callback the library calls (which API call, which callback, with what), around
# the sample code, which stays as published.
RECORDER = """
window.__calls = [];
["pick", "pickMultiple", "pickAndStore", "exportFile", "convert", "remove", "stat", "logout"]
  .forEach(function (name) {
    var real = filepicker[name];
    filepicker[name] = function () {
      var kinds = ["success", "error", "progress"], seen = 0;
      var args = Array.prototype.map.call(arguments, function (arg) {
        if (typeof arg !== "function") return arg;
        var kind = kinds[seen++];
        return function (value) {
          window.__calls.push({fn: name, kind: kind,
            value: value === undefined ? null : JSON.parse(JSON.stringify(value))});
          return arg.apply(this, arguments);
        };
      });
      return real.apply(this, args);
    };
  });
"""


def integrator_page(site, api_url: str, apikey: str, code: str, name: str = "/shop.html") -> str:
    """A page on the integrator's origin: the library, the key, and `code` run by #run."""
    html = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Shop</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body>
<h1>Shop</h1>
<button id="run" onclick="run()">Run</button>
<script src="{api_url}/library/filepicker.js"></script>
<script>{RECORDER}</script>
<script>filepicker.setKey({json.dumps(apikey)});</script>
<script>
function run() {{
{code}
}}
</script>
</body></html>"""
    return site.put(name, html)


def calls(page, fn: str | None = None, kind: str | None = None) -> list[dict]:
    found = page.evaluate("window.__calls")
    return [
        c for c in found if (fn is None or c["fn"] == fn) and (kind is None or c["kind"] == kind)
    ]


def wait_for_call(page, fn: str, kind: str = "success", count: int = 1, timeout: float = 120_000):
    page.wait_for_function(
        "([fn, kind, count]) => window.__calls.filter(c => c.fn === fn && c.kind === kind)"
        ".length >= count",
        arg=[fn, kind, count],
        timeout=timeout,
    )
    return calls(page, fn, kind)


def dialog(page):
    """The dialog's frame, once the library has opened it as a modal."""
    page.wait_for_selector("[data-openpicker=modal] iframe")
    return page.frame_locator("[data-openpicker=modal] iframe")


def connect(page, frame, decision: str = "allow") -> None:
    """Press Connect, decide on the provider's consent page in the popup, wait for it to close."""
    with page.context.expect_page() as opened:
        frame.get_by_test_id("connect").click()
    popup = opened.value
    if decision != "allow":
        popup.get_by_test_id(decision).click()
        return
    with popup.expect_event("close", timeout=30_000):
        popup.get_by_test_id(decision).click()


def open_folder(frame, path: str) -> None:
    frame.locator(f'[data-testid=item][data-path="{path}"]').click()
    frame.locator('[data-testid=item][data-folder="false"]').first.wait_for()


def choose(frame, index: int = 0) -> str:
    """Select the index-th file of the folder on show and press Select; its item path."""
    item = frame.locator('[data-testid=item][data-folder="false"]').nth(index)
    path = item.get_attribute("data-path")
    item.click()
    frame.get_by_test_id("select").click()
    return path


def image_size(url: str) -> tuple[int, int]:
    """What a blob's URL serves, opened as an image (it must be one)."""
    reply = requests.get(url, timeout=60)
    assert reply.status_code == 200, reply.text[:300]
    with Image.open(io.BytesIO(reply.content)) as image:
        image.load()
        return image.size
