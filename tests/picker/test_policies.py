"""Security policies over HTTP: valid ones pass; each kind of bad one is refused, saying why."""

import base64
import json
import time

import pytest

from picker import policies
from picker.models import FileLink
from tests.conftest import body

pytestmark = pytest.mark.django_db


def signed(secret: str, urlsafe: bool = True, **policy) -> dict:
    policy.setdefault("expiry", int(time.time()) + 600)
    encoded = policies.encode(policy, urlsafe=urlsafe)
    return {"policy": encoded, "signature": policies.sign(encoded, secret)}


@pytest.fixture
def secure_app(make_app):
    return make_app("secure", security_required=True)


@pytest.fixture
def secure_blob(secure_app, store):
    creds = signed(secure_app.secret, call=["store"])
    response = store(secure_app, b"secret bytes", filename="s.txt", **creds)
    assert response.status_code == 200, response.content
    return response.json()


def test_secure_app_refuses_calls_without_a_policy(client, secure_app, secure_blob, store):
    assert store(secure_app, b"x", filename="x.txt").json()["error"] == "policy_required"
    for response in (
        client.get(f"/api/file/{secure_blob['handle']}"),
        client.get(f"/api/file/{secure_blob['handle']}/metadata"),
        client.get(f"/cdn/{secure_blob['handle']}"),
        client.delete(f"/api/file/{secure_blob['handle']}?key={secure_app.apikey}"),
    ):
        assert response.status_code == 403
        assert response.json()["error"] == "policy_required"
    assert FileLink.objects.get(handle=secure_blob["handle"]).deleted_at is None


@pytest.mark.parametrize("urlsafe", [True, False])
def test_valid_policy_reads_in_both_base64_alphabets(client, secure_app, secure_blob, urlsafe):
    creds = signed(secure_app.secret, urlsafe=urlsafe, call=["read"], handle=secure_blob["handle"])
    response = client.get(f"/api/file/{secure_blob['handle']}", creds)
    assert response.status_code == 200
    assert body(response) == b"secret bytes"


def test_unpadded_policy_is_accepted(client, secure_app, secure_blob):
    encoded = policies.encode({"expiry": int(time.time()) + 60, "call": ["stat"]}).rstrip("=")
    response = client.get(
        f"/api/file/{secure_blob['handle']}/metadata",
        {"policy": encoded, "signature": policies.sign(encoded, secure_app.secret)},
    )
    assert response.status_code == 200


def test_security_task_in_the_cdn_chain_both_forms(client, secure_app, secure_blob):
    creds = signed(secure_app.secret, call=["read"])
    short = client.get(
        f"/cdn/security=p:{creds['policy']},s:{creds['signature']}/{secure_blob['handle']}"
    )
    assert body(short) == b"secret bytes"
    long = client.get(
        f"/cdn/security=policy:{creds['policy']},signature:{creds['signature']}/"
        f"{secure_blob['handle']}"
    )
    assert body(long) == b"secret bytes"


def test_standard_base64_policy_with_slashes_in_the_cdn_chain(client, secure_app, secure_blob):
    # Pad the policy until its standard base64 holds a '/', which splits the CDN path.
    for pad in range(200):
        policy = {"expiry": int(time.time()) + 600, "call": ["read"], "n": "?" * pad}
        encoded = base64.b64encode(json.dumps(policy).encode()).decode()
        if "/" in encoded:
            break
    assert "/" in encoded
    signature = policies.sign(encoded, secure_app.secret)
    response = client.get(f"/cdn/security=p:{encoded},s:{signature}/{secure_blob['handle']}")
    assert response.status_code == 200
    assert body(response) == b"secret bytes"


@pytest.mark.parametrize(
    ("make_creds", "error", "reason"),
    [
        (
            lambda app, h: signed(app.secret, expiry=int(time.time()) - 1),
            "policy_expired",
            "expired",
        ),
        (lambda app, h: signed(app.secret, call=["store", "stat"]), "policy_call", "read"),
        (lambda app, h: signed(app.secret, handle="B" * 20), "policy_handle", "another handle"),
        (
            lambda app, h: {**signed(app.secret), "signature": "0" * 64},
            "invalid_signature",
            "signature",
        ),
        (
            lambda app, h: {
                "policy": signed(app.secret, call=["read", "remove"])["policy"][:-4] + "AAAA",
                "signature": signed(app.secret)["signature"],
            },
            "invalid_signature",
            "signature",
        ),
        (lambda app, h: signed("not-the-secret"), "invalid_signature", "signature"),
        (
            lambda app, h: {
                "policy": "bm90IGpzb24=",
                "signature": policies.sign("bm90IGpzb24=", app.secret),
            },
            "invalid_policy",
            "JSON",
        ),
        (
            lambda app, h: {
                "policy": policies.encode({"call": ["read"]}),
                "signature": policies.sign(policies.encode({"call": ["read"]}), app.secret),
            },
            "invalid_policy",
            "expiry",
        ),
    ],
    ids=[
        "expired",
        "wrong-call",
        "wrong-handle",
        "tampered-signature",
        "tampered-policy",
        "wrong-secret",
        "not-json",
        "no-expiry",
    ],
)
def test_bad_policies_are_refused_with_the_reason(
    client, secure_app, secure_blob, make_creds, error, reason
):
    response = client.get(
        f"/api/file/{secure_blob['handle']}", make_creds(secure_app, secure_blob["handle"])
    )
    assert response.status_code == 403
    assert response.json()["error"] == error
    assert reason in response.json()["detail"]


def test_another_apps_secret_is_refused(client, secure_blob, other_app):
    response = client.get(f"/api/file/{secure_blob['handle']}", signed(other_app.secret))
    assert response.status_code == 403
    assert response.json()["error"] == "invalid_signature"


def test_policy_without_call_allows_all_but_exif(client, secure_app, secure_blob):
    creds = signed(secure_app.secret)
    assert client.get(f"/api/file/{secure_blob['handle']}", creds).status_code == 200
    exif = client.get(f"/api/file/{secure_blob['handle']}/metadata", {**creds, "exif": "true"})
    assert exif.status_code == 403 and exif.json()["error"] == "policy_call"
    allowed = client.get(
        f"/api/file/{secure_blob['handle']}/metadata",
        {**signed(secure_app.secret, call=["stat", "exif"]), "exif": "true"},
    )
    assert allowed.status_code == 200 and allowed.json()["exif"] == {}


def test_policy_path_container_and_sizes_on_store(secure_app, store, stored_keys):
    before = stored_keys()
    creds = signed(secure_app.secret, call=["store"], path="uploads/.*", maxSize=10, minSize=2)
    ok = store(secure_app, b"12345", filename="a.txt", path="uploads/x/", **creds)
    assert ok.status_code == 200
    wrong_path = store(secure_app, b"12345", filename="a.txt", path="elsewhere/", **creds)
    assert wrong_path.json()["error"] == "policy_path"
    too_big = store(secure_app, b"x" * 11, filename="a.txt", path="uploads/", **creds)
    assert too_big.status_code == 403 and too_big.json()["error"] == "policy_size"
    too_small = store(secure_app, b"x", filename="a.txt", path="uploads/", **creds)
    assert too_small.status_code == 403 and too_small.json()["error"] == "policy_size"
    container = store(
        secure_app,
        b"12345",
        filename="a.txt",
        path="uploads/",
        **signed(secure_app.secret, call=["store"], container="^$"),
    )
    assert container.status_code == 200
    assert len(stored_keys() - before) == 2


def test_basic_auth_with_the_app_secret(client, secure_app, secure_blob, other_app):
    good = base64.b64encode(f"app:{secure_app.secret}".encode()).decode()
    response = client.get(f"/api/file/{secure_blob['handle']}", HTTP_AUTHORIZATION=f"Basic {good}")
    assert body(response) == b"secret bytes"
    wrong = base64.b64encode(f"app:{other_app.secret}".encode()).decode()
    refused = client.get(f"/api/file/{secure_blob['handle']}", HTTP_AUTHORIZATION=f"Basic {wrong}")
    assert refused.status_code == 403
    bad = client.get(f"/api/file/{secure_blob['handle']}", HTTP_AUTHORIZATION="Basic !!!")
    assert bad.status_code == 401


def test_verify_unit():
    encoded = policies.encode({"expiry": 100, "call": ["read"]})
    sig = policies.sign(encoded, "s")
    assert policies.verify(encoded, sig, "s", now=99).calls == frozenset({"read"})
    with pytest.raises(policies.PolicyError, match="expired"):
        policies.verify(encoded, sig, "s", now=101)
    with pytest.raises(policies.PolicyError, match="signature"):
        policies.verify(encoded, sig.upper()[:-1] + "0", "s", now=99)
