"""My Computer: a 30 MB file goes up through the multipart upload API in 5 MB parts, the dialog
and onProgress show its progress, a part lost on the way is sent again, and the stored file is
byte for byte the one chosen."""

from __future__ import annotations

import hashlib
import os

import pytest
import requests

from picker.models import FileLink
from tests.widget.driver import calls, dialog, integrator_page, wait_for_call

pytestmark = pytest.mark.django_db(transaction=True)

SIZE = 30 * 1024 * 1024
UPLOAD_BYTES_PER_SECOND = 12 * 1024 * 1024  # slow enough for the progress to be seen

PICK = """filepicker.pick({services: ['COMPUTER']},
  function (blob) { console.log('picked ' + blob.url); },
  function (error) { console.log('failed ' + error); },
  function (percent) {});"""


@pytest.fixture
def shop(make_app, integrator):
    return make_app("shop", allowed_origins=[integrator.origin])


def test_a_30_mb_file_shows_progress_and_arrives_intact(
    page, widget_api, integrator, shop, tmp_path, shoot
):
    chosen = tmp_path / "holiday.bin"
    chosen.write_bytes(os.urandom(SIZE))
    digest = hashlib.sha256(chosen.read_bytes()).hexdigest()

    # The network of a laptop, not of a loopback; and part 2's first PUT is lost on the way.
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": 5,
            "downloadThroughput": -1,
            "uploadThroughput": UPLOAD_BYTES_PER_SECOND,
        },
    )
    puts = []

    def lose_part_2_once(route):
        puts.append(route.request.url.split("/part/", 1)[1].split("/")[1].split("?")[0])
        if puts.count("2") == 1 and puts[-1] == "2":
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/upload/multipart/part/**", lose_part_2_once)

    page.goto(integrator_page(integrator, widget_api.url, shop.apikey, PICK))
    page.click("#run")
    frame = dialog(page)
    frame.get_by_test_id("drop").wait_for()
    frame.get_by_test_id("file-input").set_input_files(str(chosen))

    bar = frame.get_by_test_id("progress")
    bar.wait_for()
    page.wait_for_function(
        "() => window.__calls.some(c => c.kind === 'progress' && c.value > 20 && c.value < 90)",
        timeout=60_000,
    )
    shown = bar.evaluate("element => element.value")
    assert 0 < shown < 100
    shoot(page, "upload-progress")

    (picked,) = wait_for_call(page, "pick", timeout=180_000)
    blob = picked["value"]
    assert (blob["filename"], blob["size"], blob["client"]) == ("holiday.bin", SIZE, "computer")
    served = requests.get(blob["url"], timeout=120)
    assert served.status_code == 200
    assert hashlib.sha256(served.content).hexdigest() == digest
    link = FileLink.objects.get(handle=blob["url"].rsplit("/", 1)[1])
    assert link.app == shop and link.size == SIZE

    progress = [c["value"] for c in calls(page, "pick", "progress")]
    assert progress == sorted(progress) and progress[-1] == 100
    assert len([p for p in progress if 0 < p < 100]) >= 5
    assert puts == ["1", "2", "2", "3", "4", "5", "6"]  # part 2 sent again
