"""One app's key, secret or policy never overwrites, deletes or stats another app's files."""

import base64
import time

import pytest

from picker import policies
from tests.conftest import body

pytestmark = pytest.mark.django_db


def signed(secret, **policy):
    policy.setdefault("expiry", int(time.time()) + 600)
    encoded = policies.encode(policy)
    return f"policy={encoded}&signature={policies.sign(encoded, secret)}"


@pytest.fixture
def blob(app, store):
    return store(app, b"mine", filename="mine.txt").json()


def test_other_key_cannot_delete_or_overwrite(client, blob, other_app, stored_keys):
    handle = blob["handle"]
    assert client.delete(f"/api/file/{handle}?key={other_app.apikey}").status_code == 403
    assert client.post(f"/api/file/{handle}/remove", {"key": other_app.apikey}).status_code == 403
    overwrite = client.post(
        f"/api/file/{handle}?key={other_app.apikey}",
        data=b"theirs",
        content_type="application/octet-stream",
    )
    assert overwrite.status_code == 403
    assert overwrite.json()["error"] == "wrong_apikey"
    assert body(client.get(f"/api/file/{handle}")) == b"mine"
    assert blob["key"] in stored_keys()


def test_other_secret_or_policy_cannot_act(client, blob, other_app):
    handle = blob["handle"]
    forged = signed(other_app.secret, call=["remove", "write", "stat"], handle=handle)
    assert client.delete(f"/api/file/{handle}?{forged}").status_code == 403
    assert client.get(f"/api/file/{handle}/metadata?{forged}").status_code == 403
    overwrite = client.post(
        f"/api/file/{handle}?{forged}", data=b"theirs", content_type="application/octet-stream"
    )
    assert overwrite.status_code == 403
    basic = base64.b64encode(f"app:{other_app.secret}".encode()).decode()
    assert (
        client.delete(f"/api/file/{handle}", HTTP_AUTHORIZATION=f"Basic {basic}").status_code == 403
    )
    assert body(client.get(f"/api/file/{handle}")) == b"mine"


def test_own_policy_for_another_handle_cannot_act(client, app, store):
    first = store(app, b"one", filename="1.txt").json()
    second = store(app, b"two", filename="2.txt").json()
    only_first = signed(app.secret, call=["remove"], handle=first["handle"])
    response = client.delete(f"/api/file/{second['handle']}?{only_first}")
    assert response.status_code == 403 and response.json()["error"] == "policy_handle"
    assert client.delete(f"/api/file/{first['handle']}?{only_first}").status_code == 200
