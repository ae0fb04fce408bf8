"""Logs: every process of `manage.py serve` (web with gunicorn's access log on, both workers,
beat) while an app that requires policies is used with policies, signatures, HTTP Basic
secrets, a CDN security task, the metrics token and a webhook signing secret: one JSON line per
request and per task, the request id carried into the tasks it queued, and none of those
values anywhere in the output."""

from __future__ import annotations

import base64
import io
import json
import time
from urllib.parse import quote

import requests
from PIL import Image

from openpicker.logs import scrub
from picker import policies
from tests.webhooks.conftest import Receiver
from webhooks.models import WebhookEndpoint

TOKEN = "metrics-token-logs-5b1e"


def signed(secret: str, **policy) -> tuple[str, str]:
    policy.setdefault("expiry", int(time.time()) + 600)
    encoded = policies.encode(policy)
    return encoded, policies.sign(encoded, secret)


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 100, 0)).save(out, "JPEG")
    return out.getvalue()


def json_lines(text: str, name: str) -> list[dict]:
    out = []
    for line in text.splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if record.get("name") == name:
                out.append(record)
    return out


def test_no_secret_reaches_any_log_line_and_request_ids_reach_tasks(serve_with, make_app):
    receiver = Receiver().start()
    try:
        app = make_app("logs", security_required=True)
        endpoint = WebhookEndpoint.objects.create(app=app, url=receiver.url, actions=["all"])
        serve = serve_with(
            OPENPICKER_METRICS_TOKEN=TOKEN,
            OPENPICKER_OUTBOUND_ALLOW=f"127.0.0.1:{receiver.port}",
            OPENPICKER_WEBHOOK_SWEEP_EVERY="1",  # beat's sweeper runs during the test
            GUNICORN_CMD_ARGS="--access-logfile -",  # gunicorn's access log on too
        )
        serve.wait_up()
        url, key = serve.url, app.apikey
        policy, signature = signed(app.secret, call=["store", "read", "convert", "stat"])
        basic = base64.b64encode(f"app:{app.secret}".encode()).decode()
        rid = "ops-logs-request-1"

        stored = requests.post(
            f"{url}/api/store/S3?key={key}&filename=p.jpg&policy={policy}&signature={signature}",
            data=jpeg(),
            headers={"X-Request-ID": rid},
            timeout=30,
        )
        assert stored.status_code == 200, stored.text
        assert stored.headers["X-Request-ID"] == rid
        handle = stored.json()["handle"]
        calls = [
            ("get", f"/api/file/{handle}/metadata?key={key}&policy={policy}&signature={signature}"),
            ("get", f"/api/file/{handle}/metadata?policy={quote(policy)}&signature={signature}"),
            ("get", f"/cdn/security=p:{policy},s:{signature}/{handle}"),
            (
                "get",
                f"/cdn/{key}/security=policy:{policy},signature:{signature}/resize=w:8/{handle}",
            ),
            ("get", f"/api/file/{handle}/convert?w=12&policy={policy}&signature={signature}"),
            ("get", f"/api/file/{handle}?policy={policy}&signature=0{signature[1:]}"),  # a 403
            ("get", f"/api/file/{handle}?policy=bad{policy}&signature={signature}"),
        ]
        for method, path in calls:
            response = requests.request(method, url + path, timeout=60)
            assert response.status_code < 500, (path, response.status_code, response.text)
        basic_calls = [(basic, 200), (base64.b64encode(b"app:wrong").decode(), 401)]
        for value, status in basic_calls:
            response = requests.get(
                f"{url}/api/webhooks/deliveries",
                headers={"Authorization": f"Basic {value}"},
                timeout=10,
            )
            assert response.status_code == status, response.text
        metrics = requests.get(
            f"{url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
        )
        assert metrics.status_code == 200

        serve.wait_for(lambda: len(receiver.received) >= 1, "a webhook delivery")
        signatures = [got.headers.get("FS-Signature") for got in receiver.received]
        serve.wait_for(lambda: '"task": "webhooks.deliver_due"' in serve.output(), "the sweeper")
        time.sleep(1)  # the last lines reach the log
    finally:
        receiver.stop()
    serve.stop()
    output = serve.output()

    secrets = {
        "app secret": app.secret,
        "policy": policy,
        "policy, percent-encoded": quote(policy, safe=""),
        "signature": signature,
        "Basic header": basic,
        "metrics token": TOKEN,
        "webhook signing secret": endpoint.secret,
        **{f"webhook signature {n}": value for n, value in enumerate(signatures) if value},
    }
    found = {what: value for what, value in secrets.items() if value in output}
    assert not found, found

    requests_logged = json_lines(output, "openpicker.request")
    store_lines = [line for line in requests_logged if line["request_id"] == rid]
    assert len(store_lines) == 1, store_lines
    assert store_lines[0] | {"duration_ms": 0} == {
        **store_lines[0],
        "app_id": app.pk,
        "route": "/api/store/<str:location>",
        "method": "POST",
        "status": 200,
        "duration_ms": 0,
    }
    assert {line["status"] for line in requests_logged} >= {200, 401, 403}
    tasks = json_lines(output, "openpicker.task")
    delivered = [line for line in tasks if line["task"] == "webhooks.deliver"]
    assert rid in {line["request_id"] for line in delivered}, delivered
    assert all(line["result"] and line["duration_ms"] >= 0 for line in tasks)
    # gunicorn's access log was on: its lines carry no query string.
    access = json_lines(output, "gunicorn.access")
    assert access and all("?" not in line["path"] for line in access)


def test_scrub_redacts_credentials_wherever_they_appear():
    line = (
        "/api/file/x?key=K&policy=eyJ9&signature=ab12 /cdn/security=p:eyJ9,s:ab12/h "
        'Authorization: Basic YXBwOnNlY3JldA== {"secret": "s3", "token": "t"} '
        "redis://user:pa55@host:6379/0 Bearer abcdefghij"
    )
    text = scrub(line)
    for value in ("eyJ9", "ab12", "YXBwOnNlY3JldA", "s3", '"t"', "pa55", "abcdefghij", "=K"):
        assert value not in text, (value, text)
    assert "/api/file/x?" in text and "/h " in text


def test_the_end_of_run_scan_finds_credentials_in_process_logs(tmp_path):
    from tests.logscan import scan

    policy, signature = signed("s3cr3t-value-for-the-scan", call=["read"])
    (tmp_path / "web-1.log").write_text(
        '{"message": "request", "route": "/api/file/<str:handle>"}\n'
        f"GET /api/file/x?policy={policy}\n"
        f"signature {signature}\n"
        "Authorization: Basic YXBwOnNlY3JldA==\n"
        "the secret is s3cr3t-value-for-the-scan\n"
        "Authorization: Basic [redacted]\n"
    )
    lines, findings = scan(tmp_path, {"s3cr3t-value-for-the-scan"})
    assert lines == 6
    assert [finding.split(":")[1] for finding in findings] == ["2", "3", "4", "5"]
