"""Security policies over HTTP: valid ones pass; each kind of bad one is refused, saying why."""

import base64
import json
import re
import time
from urllib.parse import urlencode

import pytest

from picker import policies
from picker.models import FileLink
from tests.conftest import body

pytestmark = pytest.mark.django_db


def signed(secret: str, urlsafe: bool = True, **policy) -> dict:
    policy.setdefault("expiry", int(time.time()) + 600)
    encoded = policies.encode(policy, urlsafe=urlsafe)
    return {"policy": encoded, "signature": policies.sign(encoded, secret)}


def tampered(creds: dict) -> dict:
    """The same signed policy with its call widened to 'read' after signing, signature kept."""
    policy = json.loads(base64.urlsafe_b64decode(creds["policy"]))
    assert policy["call"] != ["read"]
    return {**creds, "policy": policies.encode({**policy, "call": ["read"]})}


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


def policy_with_both_specials(**fields) -> dict:
    """A policy whose standard base64 holds both '+' and '/' (so its URL-safe form holds - and _).

    '???' encodes to '/' and '~~~' to '+' once aligned on three bytes; the shift aligns them.
    """
    for shift in range(6):
        policy = {"expiry": int(time.time()) + 600, **fields, "n": "x" * shift + "???~~~" * 2}
        standard = base64.b64encode(json.dumps(policy, sort_keys=True).encode()).decode()
        if "+" in standard and "/" in standard:
            return policy
    raise AssertionError("no filler gave both '+' and '/'")


def percent_encoded(text: str) -> str:
    """Every character outside [A-Za-z0-9] as %XX (a client may quote even '-' and '_')."""
    return "".join(char if char.isalnum() else f"%{ord(char):02X}" for char in text)


@pytest.mark.parametrize("quoting", ["raw", "percent-encoded"])
@pytest.mark.parametrize("urlsafe", [True, False], ids=["urlsafe", "standard"])
def test_valid_policy_reads_in_both_base64_alphabets(
    client, secure_app, secure_blob, urlsafe, quoting
):
    policy = policy_with_both_specials(call=["read"], handle=secure_blob["handle"])
    encoded = policies.encode(policy, urlsafe=urlsafe)
    specials = "-_" if urlsafe else "+/"
    assert all(char in encoded for char in specials), encoded
    assert not any(char in encoded for char in ("+/" if urlsafe else "-_")), encoded
    signature = policies.sign(encoded, secure_app.secret)
    # Raw, the characters reach the query string as they are ('+' included, which form
    # decoding reads as a space); percent-encoded, they arrive as %2B, %2F, %2D, %5F.
    sent = encoded if quoting == "raw" else percent_encoded(encoded)
    response = client.get(f"/api/file/{secure_blob['handle']}?policy={sent}&signature={signature}")
    assert response.status_code == 200, response.content
    assert body(response) == b"secret bytes"
    # The same bytes under another signature are refused: the check is on what was sent.
    refused = client.get(f"/api/file/{secure_blob['handle']}?policy={sent}&signature={'0' * 64}")
    assert refused.status_code == 403
    assert refused.json()["error"] == "invalid_signature"


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
            lambda app, h: tampered(signed(app.secret, call=["stat"])),
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


@pytest.mark.parametrize(
    ("pattern", "path"),
    [
        ("uploads/", "x/uploads/"),  # the pattern is inside the value
        ("uploads/", "uploads/deeper/"),  # the pattern is a prefix of the value
        ("uploads/", "a/uploads/b/"),
        ("up", "uploads/"),
    ],
)
def test_policy_path_must_match_the_whole_value(secure_app, store, stored_keys, pattern, path):
    before = stored_keys()
    creds = signed(secure_app.secret, call=["store"], path=pattern)
    refused = store(secure_app, b"12345", filename="a.txt", path=path, **creds)
    assert refused.status_code == 403, refused.content
    assert refused.json()["error"] == "policy_path"
    assert stored_keys() == before
    exact = store(secure_app, b"12345", filename="a.txt", path=pattern, **creds)
    assert exact.status_code == 200, exact.content


@pytest.mark.parametrize(
    ("pattern", "container"),
    [
        ("customer-bucket", "other-customer-bucket-2"),  # inside
        ("customer-bucket", "customer-bucket-2"),  # prefix
        ("customer-.*", "not-customer-x"),
    ],
)
def test_policy_container_refuses_other_containers(
    secure_app, store, stored_keys, pattern, container
):
    before = stored_keys()
    creds = signed(secure_app.secret, call=["store"], container=pattern)
    refused = store(secure_app, b"12345", filename="a.txt", container=container, **creds)
    assert refused.status_code == 403, refused.content
    assert refused.json()["error"] == "policy_container"
    assert container in refused.json()["detail"]
    # No container at all is not a match of a non-empty pattern either.
    bare = store(secure_app, b"12345", filename="a.txt", **creds)
    assert bare.status_code == 403 and bare.json()["error"] == "policy_container"
    assert stored_keys() == before


def test_policy_container_that_matches_passes_the_policy(secure_app, store):
    # The policy lets it through; the app has no such bucket, so storage then refuses it.
    creds = signed(secure_app.secret, call=["store"], container="customer-.*")
    response = store(secure_app, b"12345", filename="a.txt", container="customer-x", **creds)
    assert response.status_code == 403
    assert response.json()["error"] == "container_not_allowed"


@pytest.fixture
def origin(settings):
    from tests.servers import Origin

    server = Origin(b"remote bytes", "text/plain")
    settings.OPENPICKER_OUTBOUND_ALLOW = [f"127.0.0.1:{server.port}"]
    yield server
    server.stop()


def test_policy_url_allows_matching_urls_and_refuses_the_rest(
    client, secure_app, origin, stored_keys
):
    base = f"http://127.0.0.1:{origin.port}"
    pattern = re.escape(base) + r"/allowed/[a-z]+\.txt"
    creds = signed(secure_app.secret, call=["store"], url=pattern)
    query = urlencode({"key": secure_app.apikey, **creds})

    allowed = client.post(f"/api/store/S3?{query}", {"url": f"{base}/allowed/file.txt"})
    assert allowed.status_code == 200, allowed.content
    assert allowed.json()["filename"] == "file.txt"
    assert origin.hits == ["/allowed/file.txt"]

    before = stored_keys()
    for url in (
        f"{base}/other/file.txt",
        f"{base}/allowed/file.txt.exe",  # the pattern is a prefix
        f"{base}/x?next={base}/allowed/file.txt",  # the pattern is inside
    ):
        refused = client.post(f"/api/store/S3?{query}", {"url": url})
        assert refused.status_code == 403, url
        assert refused.json()["error"] == "policy_url", url
    assert origin.hits == ["/allowed/file.txt"]  # refused URLs are never fetched
    assert stored_keys() == before


def test_invalid_regex_in_a_policy_is_a_policy_error(secure_app, store):
    creds = signed(secure_app.secret, call=["store"], path="(unclosed")
    response = store(secure_app, b"12345", filename="a.txt", path="x/", **creds)
    assert response.status_code == 403
    assert response.json()["error"] == "invalid_policy"
