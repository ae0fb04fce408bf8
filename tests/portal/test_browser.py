"""The portal in a real browser (Debian's Chromium through Playwright) against OpenPicker under
gunicorn with the sandbox providers and a real Celery worker for webhooks:

sign up → create an app → enter the sandbox's Flickr keys → Test succeeds → add a webhook with
"All" → store a file through the API → the delivery shows in the log → Redeliver adds an
attempt → the usage chart counts the store; then the app's own bucket (moto's S3) passes Check.

With OPENPICKER_SCREENSHOTS=<folder> set, each page is also saved there as a PNG (the README's
screenshots under docs/portal/ are made so).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from tests.conftest import server_env
from tests.portal.conftest import PASSWORD
from tests.servers import CeleryWorker, OpenPickerServer

pytestmark = pytest.mark.django_db(transaction=True)

FLICKR_KEY, FLICKR_SECRET = "5a9d0e6b2f3c4d1e8f7a6b5c4d3e2f1a", "0f1e2d3c4b5a6978"
SHOTS = os.environ.get("OPENPICKER_SCREENSHOTS")


@pytest.fixture
def portal_server(receiver, moto, tmp_path):
    """OpenPicker with the sandbox on, allowed to post to the receiver, and its webhooks worker
    (on a broker of their own)."""
    env = server_env(
        OPENPICKER_SANDBOX="1",
        OPENPICKER_OUTBOUND_ALLOW=f"127.0.0.1:{receiver.port},{urlsplit(moto.url).netloc}",
        CELERY_BROKER_URL=f"sqla+sqlite:///{tmp_path / 'broker.sqlite3'}",
    )
    server = OpenPickerServer(env, workers=1)
    worker = CeleryWorker({**env, "OPENPICKER_BASE_URL": server.url}, queues="webhooks")
    yield server
    worker.stop()
    server.stop()


def shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def reload_until(page, condition, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        time.sleep(0.5)
        page.reload()


def test_sign_up_to_usage(page, portal_server, receiver, moto):
    base = portal_server.url

    # Sign up
    page.goto(f"{base}/portal/signup/")
    shot(page, "signup")
    page.fill("#id_email", "dev@example.com")
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.get_by_test_id("signup").click()
    assert page.url == f"{base}/portal/"

    # Create an app
    page.fill("#id_name", "My shop")
    page.get_by_test_id("create-app").click()
    apikey = page.locator("#apikey").inner_text().strip()
    assert len(apikey) == 20
    app_url = page.url
    assert "/portal/apps/" in app_url
    shot(page, "app")

    # Auth Keys: the sandbox's Flickr keys, then Test
    page.get_by_test_id("tab-auth-keys").click()
    assert page.get_by_test_id("callback-flickr").inner_text() == (
        f"{base}/api/client/flickr/authCallback/open"
    )
    page.fill("#id_flickr-key", FLICKR_KEY)
    page.fill("#id_flickr-secret", FLICKR_SECRET)
    page.get_by_test_id("save-flickr").click()
    assert page.get_by_test_id("configured-flickr").is_visible()
    assert FLICKR_SECRET not in page.content()
    page.get_by_test_id("test-flickr").click()
    result = page.get_by_test_id("test-result-flickr")
    assert result.get_attribute("data-ok") == "true", result.inner_text()
    assert "accepted" in result.inner_text()
    shot(page, "auth-keys")

    # Webhooks: the receiver's URL with "All"
    page.get_by_test_id("tab-webhooks").click()
    page.fill("#id_url", receiver.url)
    assert page.locator("#id_all_actions").is_checked()
    page.get_by_test_id("add-webhook").click()
    assert page.get_by_test_id("endpoint").count() == 1

    # Store a file through the API
    stored = requests.post(
        f"{base}/api/store/S3", params={"key": apikey}, data=b"hello portal", timeout=30
    )
    assert stored.status_code == 200, stored.text
    handle = stored.json()["handle"]

    # The delivery shows in the log, delivered on its first attempt
    upload = page.locator('[data-testid="delivery"][data-action="fp.upload"]')
    reload_until(
        page,
        lambda: upload.count() == 1 and upload.get_attribute("data-attempts") == "1",
        "the fp.upload delivery",
    )
    assert upload.get_by_test_id("delivery-status").inner_text() == "delivered"
    assert "HTTP 200" in upload.inner_text()
    assert [r.json["text"].get("url", "").rsplit("/", 1)[-1] for r in receiver.received] == [handle]
    shot(page, "webhooks")

    # Redeliver adds an attempt
    upload.get_by_test_id("redeliver").click()
    reload_until(page, lambda: upload.get_attribute("data-attempts") == "2", "the manual attempt")
    assert "manual" in upload.get_by_test_id("attempt").nth(1).inner_text()
    assert len(receiver.received) == 2

    # The usage chart counts the store
    page.get_by_test_id("tab-usage").click()
    bar = page.locator('[data-testid="usage-chart"] rect[data-metric="stores"]')
    assert bar.count() == 1 and bar.get_attribute("data-count") == "1"
    assert page.get_by_test_id("total-stores").inner_text() == "1"
    shot(page, "usage")

    # Storage: the app's own bucket, then Check
    moto.create_bucket("portal-browser")
    page.get_by_test_id("tab-storage").click()
    page.fill("#id_bucket", "portal-browser")
    page.fill("#id_region", "us-east-1")
    page.fill("#id_endpoint_url", moto.url)
    page.fill("#id_path_prefix", "shop")
    page.fill("#id_access_key_id", "testing")
    page.fill("#id_secret_access_key", "testing")
    page.get_by_test_id("save-storage").click()
    page.get_by_test_id("check-storage").click()
    check = page.get_by_test_id("check-result")
    assert check.get_attribute("data-ok") == "true", check.inner_text()
    shot(page, "storage")

    if SHOTS:
        other_pages(page, base, app_url)


def other_pages(page, base: str, app_url: str) -> None:
    """The remaining pages, for the README's screenshots only."""
    page.goto(app_url)
    page.get_by_test_id("reveal-secret").click()
    page.goto(app_url + "policy/")
    page.check("#id_calls_5")
    page.get_by_test_id("build-policy").click()
    shot(page, "policy")
    page.goto(app_url + "delete/")
    shot(page, "delete")
    page.goto(f"{base}/portal/")
    shot(page, "apps")
    page.goto(f"{base}/portal/apps/999999/")
    shot(page, "not-found")
    page.get_by_test_id("logout").click()
    shot(page, "login")
    page.goto(f"{base}/portal/password-reset/")
    shot(page, "password-reset")
