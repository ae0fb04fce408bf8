"""The policy and access checks as domain functions (no HTTP): every branch and boundary.

The HTTP tests (test_policies.py, test_isolation.py) show the checks are wired in; these pin
each rule exactly, so that a changed comparison, message or code fails a test (`make mutate`,
tests/MUTATION.md).
"""

import base64
import hashlib
import hmac
import json

import pytest

from picker import access, policies
from picker.access import Credentials
from picker.errors import AuthenticationFailed, Forbidden, NotFound, PolicyError
from picker.models import FileLink, StorageTarget

NOW = 1_000_000.0
SECRET = "s3cret"


def verified(secret: str = SECRET, now: float = NOW, **fields):
    fields.setdefault("expiry", NOW + 60)
    encoded = policies.encode(fields)
    return policies.verify(encoded, policies.sign(encoded, secret), secret, now=now)


def refusal(check, *args, **kwargs) -> PolicyError:
    with pytest.raises(PolicyError) as excinfo:
        check(*args, **kwargs)
    return excinfo.value


# -- sign, encode, decode ------------------------------------------------------------------------


def test_sign_is_lowercase_hex_hmac_sha256_of_the_policy_string():
    expected = hmac.new(b"key", b"policy-text", hashlib.sha256).hexdigest()
    assert policies.sign("policy-text", "key") == expected
    assert expected == expected.lower() and len(expected) == 64


def test_encode_is_base64_of_the_sorted_json_in_either_alphabet():
    policy = {"handle": "h", "expiry": 5, "n": "???~~~"}
    raw = json.dumps(policy, sort_keys=True).encode()
    assert policies.encode(policy) == base64.urlsafe_b64encode(raw).decode()
    assert policies.encode(policy, urlsafe=False) == base64.b64encode(raw).decode()
    assert policies.encode(policy) != policies.encode(policy, urlsafe=False)


@pytest.mark.parametrize("urlsafe", [True, False])
@pytest.mark.parametrize("filler", ["", "x", "xx"])  # one, two, and no '=' of padding
def test_verify_decodes_both_alphabets_padded_or_not(urlsafe, filler):
    fields = {"expiry": NOW + 1, "call": ["read"], "n": "???~~~" + filler}
    padded = policies.encode(fields, urlsafe=urlsafe)
    for encoded in (padded, padded.rstrip("=")):
        policy = policies.verify(encoded, policies.sign(encoded, SECRET), SECRET, now=NOW)
        assert policy.raw == fields


def test_verify_accepts_the_signature_in_upper_case_and_with_spaces_around():
    encoded = policies.encode({"expiry": NOW + 1})
    signature = policies.sign(encoded, SECRET)
    for sent in (signature.upper(), f"  {signature}\n"):
        assert policies.verify(encoded, sent, SECRET, now=NOW).expiry == NOW + 1


def test_verify_takes_a_space_for_the_plus_that_form_decoding_ate():
    fields = {"expiry": NOW + 1, "n": "x~~~"}
    encoded = policies.encode(fields, urlsafe=False)
    assert "+" in encoded
    signature = policies.sign(encoded, SECRET)
    assert policies.verify(encoded.replace("+", " "), signature, SECRET, now=NOW).raw == fields


def test_policy_with_a_line_break_around_still_decodes():
    encoded = "\t" + policies.encode({"expiry": NOW + 1}) + "\n"
    assert policies.verify(encoded, policies.sign(encoded, SECRET), SECRET, now=NOW).raw == {
        "expiry": NOW + 1
    }


@pytest.mark.parametrize(
    ("encoded", "detail"),
    [
        ("bm90IGpzb24=", "policy is not base64-encoded JSON"),  # "not json"
        ("eyJleHBpcnkiOiAxfQ!==", "policy is not base64-encoded JSON"),  # a stray '!'
        ("!!!!", "policy is not base64-encoded JSON"),  # not base64
        (base64.b64encode(b"\xff\xfe").decode(), "policy is not base64-encoded JSON"),
        (base64.b64encode(b"[1, 2]").decode(), "policy must be a JSON object"),
        (base64.b64encode(b'"text"').decode(), "policy must be a JSON object"),
    ],
)
def test_undecodable_policies_are_invalid(encoded, detail):
    error = refusal(policies.verify, encoded, policies.sign(encoded, SECRET), SECRET, now=NOW)
    assert (error.code, error.detail, error.status) == ("invalid_policy", detail, 403)


# -- verify: signature, expiry, field types -----------------------------------------------------


@pytest.mark.parametrize(("policy", "signature"), [("", "abc"), ("abc", ""), ("", "")])
def test_policy_and_signature_must_both_be_given(policy, signature):
    error = refusal(policies.verify, policy, signature, SECRET, now=NOW)
    assert (error.code, error.detail) == (
        "invalid_policy",
        "policy and signature must both be given",
    )


def test_wrong_signature_is_refused_before_the_policy_is_read():
    encoded = "not even base64 !!"
    error = refusal(policies.verify, encoded, policies.sign(encoded, "other"), SECRET, now=NOW)
    assert (error.code, error.detail) == (
        "invalid_signature",
        "signature does not match the policy",
    )


def test_expiry_is_inclusive_and_now_defaults_to_the_clock():
    assert verified(expiry=NOW).expiry == NOW  # expiring this very second is still valid
    error = refusal(verified, expiry=NOW - 0.5)
    assert (error.code, error.detail) == ("policy_expired", "policy has expired")
    encoded = policies.encode({"expiry": 1})  # 1970: expired by the real clock
    signature = policies.sign(encoded, SECRET)
    assert refusal(policies.verify, encoded, signature, SECRET).code == "policy_expired"
    future = policies.encode({"expiry": 4_000_000_000})
    assert policies.verify(future, policies.sign(future, SECRET), SECRET).expiry == 4e9


@pytest.mark.parametrize("expiry", [None, "2000000000", True, [1]])
def test_expiry_must_be_a_number(expiry):
    fields = {} if expiry is None else {"expiry": expiry}
    encoded = policies.encode(fields)
    error = refusal(policies.verify, encoded, policies.sign(encoded, SECRET), SECRET, now=0)
    assert (error.code, error.detail) == ("invalid_policy", "policy has no numeric expiry")


def test_verified_policy_carries_every_field():
    policy = verified(
        expiry=1_000_060,  # an int, kept as a float
        call=["read", "store"],
        handle="H" * 20,
        url="https://x/.*",
        path="p/.*",
        container="c",
        minSize="2",
        maxSize=10,
    )
    assert policy == policies.Policy(
        expiry=1_000_060.0,
        calls=frozenset({"read", "store"}),
        handle="H" * 20,
        url="https://x/.*",
        path="p/.*",
        container="c",
        min_size=2,
        max_size=10,
    )
    assert isinstance(policy.expiry, float)
    assert policy.raw["minSize"] == "2"
    bare = verified()
    assert (bare.calls, bare.handle, bare.url, bare.path, bare.container) == (None,) * 5
    assert (bare.min_size, bare.max_size) == (None, None)


def test_a_single_call_may_be_a_string():
    assert verified(call="read").calls == frozenset({"read"})


@pytest.mark.parametrize("call", [{"read": 1}, ["read", 1], 5])
def test_call_must_be_a_list_of_strings(call):
    error = refusal(verified, call=call)
    assert (error.code, error.detail) == (
        "invalid_policy",
        "policy field 'call' must be a list of calls",
    )


@pytest.mark.parametrize("name", ["handle", "url", "path", "container"])
def test_string_fields_must_be_strings(name):
    error = refusal(verified, **{name: ["x"]})
    assert (error.code, error.detail) == (
        "invalid_policy",
        f"policy field {name!r} must be a string",
    )
    assert getattr(verified(**{name: None}), name) is None


@pytest.mark.parametrize("name", ["minSize", "maxSize"])
@pytest.mark.parametrize("value", ["ten", [1], {"a": 1}])
def test_sizes_must_be_integers(name, value):
    error = refusal(verified, **{name: value})
    assert (error.code, error.detail) == (
        "invalid_policy",
        f"policy field {name!r} must be an integer",
    )


# -- the allows_* checks ------------------------------------------------------------------------


def test_no_call_list_allows_everything_but_exif():
    policy = verified()
    for call in sorted(policies.CALLS - {"exif"}):
        policy.allows_call(call)
    error = refusal(policy.allows_call, "exif")
    assert (error.code, error.detail) == ("policy_call", "policy does not allow the call 'exif'")


def test_a_call_list_allows_exactly_its_calls():
    policy = verified(call=["stat", "exif"])
    policy.allows_call("stat")
    policy.allows_call("exif")
    error = refusal(policy.allows_call, "read")
    assert error.code == "policy_call"
    assert error.detail == "policy does not allow the call 'read' (allows ['exif', 'stat'])"


def test_allows_any_passes_on_the_first_allowed_and_else_raises_the_first_refusal():
    policy = verified(call=["writeUrl"])
    policy.allows_any(("write", "writeUrl"))
    policy.allows_any(("writeUrl", "write"))
    error = refusal(policy.allows_any, ("read", "stat"))
    assert error.detail.startswith("policy does not allow the call 'read'")


def test_allows_handle():
    verified().allows_handle("A" * 20)
    verified().allows_handle(None)
    policy = verified(handle="A" * 20)
    policy.allows_handle("A" * 20)
    for other in ("B" * 20, None):
        error = refusal(policy.allows_handle, other)
        assert (error.code, error.detail) == ("policy_handle", "policy is for another handle")


def test_allows_store_checks_path_and_container_apart():
    verified().allows_store(path="any/", container="any")
    policy = verified(path="up/.*", container="bucket-[ab]")
    policy.allows_store(path="up/x/", container="bucket-a")
    error = refusal(policy.allows_store, path="down/", container="bucket-a")
    assert (error.code, error.detail) == ("policy_path", "path 'down/' does not match the policy")
    error = refusal(policy.allows_store, path="up/x/", container="bucket-c")
    assert (error.code, error.detail) == (
        "policy_container",
        "container 'bucket-c' does not match the policy",
    )
    # An absent value is matched as "": only a pattern that accepts "" lets it through.
    assert refusal(policy.allows_store, path=None, container="bucket-a").code == "policy_path"
    assert refusal(policy.allows_store, path="up/", container=None).code == "policy_container"
    verified(path="(up/)?", container="(bucket)?").allows_store(path=None, container=None)


def test_allows_url_matches_the_whole_url():
    verified().allows_url("https://anything/")
    policy = verified(url=r"https://ok\.example/.*")
    policy.allows_url("https://ok.example/a.png")
    for url in ("https://evil/?https://ok.example/", "http://ok.example/"):
        error = refusal(policy.allows_url, url)
        assert (error.code, error.detail) == ("policy_url", "url does not match the policy")


def test_invalid_regex_is_an_invalid_policy():
    error = refusal(verified(path="(").allows_store, path="x", container=None)
    assert (error.code, error.detail) == (
        "invalid_policy",
        "policy holds an invalid regular expression",
    )


def test_allows_size_bounds_are_inclusive():
    policy = verified(minSize=2, maxSize=10)
    for size in (None, 2, 10):
        policy.allows_size(size)
    error = refusal(policy.allows_size, 11)
    assert (error.code, error.detail) == ("policy_size", "size 11 is over the policy's maxSize 10")
    error = refusal(policy.allows_size, 1)
    assert (error.code, error.detail) == ("policy_size", "size 1 is under the policy's minSize 2")
    verified().allows_size(10**12)
    verified(maxSize=0).allows_size(0)
    assert refusal(verified(maxSize=0).allows_size, 1).code == "policy_size"


# -- access: credentials and apps ---------------------------------------------------------------


def test_has_policy_with_either_half():
    assert not Credentials().has_policy
    assert Credentials(policy="p").has_policy
    assert Credentials(signature="s").has_policy
    assert not Credentials(apikey="k", basic_secret="x").has_policy


def basic(text: str) -> str:
    return "Basic " + base64.b64encode(text.encode()).decode()


def test_basic_secret_reads_app_colon_secret():
    assert access.basic_secret(None) is None
    assert access.basic_secret("") is None
    assert access.basic_secret("Bearer abc") is None
    assert access.basic_secret(basic("app:SECRET")) == "SECRET"
    assert access.basic_secret(basic("app:with:colons")) == "with:colons"
    assert access.basic_secret("bAsIc " + basic("app:S")[6:] + "  ") == "S"


@pytest.mark.parametrize(
    ("header", "detail"),
    [
        ("Basic !!!", "Basic authorization must be app:SECRET"),  # decodes to nothing
        ("Basic " + base64.b64encode(b"\xff:x").decode(), "malformed Basic authorization header"),
        ("Basic é", "malformed Basic authorization header"),
        (basic("user:SECRET"), "Basic authorization must be app:SECRET"),
        (basic("app:"), "Basic authorization must be app:SECRET"),
        (basic("app"), "Basic authorization must be app:SECRET"),
    ],
)
def test_malformed_basic_is_a_401(header, detail):
    with pytest.raises(AuthenticationFailed) as excinfo:
        access.basic_secret(header)
    assert (excinfo.value.status, excinfo.value.detail) == (401, detail)


@pytest.mark.django_db
def test_app_by_key(app):
    assert access.app_by_key(app.apikey) == app
    for key, code, detail in (
        (None, "apikey_required", "an API key is required (key=APIKEY)"),
        ("", "apikey_required", "an API key is required (key=APIKEY)"),
        ("nope", "invalid_apikey", "unknown API key"),
    ):
        with pytest.raises(AuthenticationFailed) as excinfo:
            access.app_by_key(key)
        assert (excinfo.value.code, excinfo.value.detail) == (code, detail)


@pytest.mark.django_db
def test_app_by_secret(app, other_app):
    assert access.app_by_secret(app.secret) == app
    assert access.app_by_secret(other_app.secret) == other_app
    with pytest.raises(AuthenticationFailed) as excinfo:
        access.app_by_secret("wrong")
    assert (excinfo.value.code, excinfo.value.detail) == (
        "invalid_secret",
        "the app secret is wrong",
    )


@pytest.mark.django_db
def test_resolve_app(app, other_app):
    assert access.resolve_app(Credentials(apikey=app.apikey)) == app
    assert access.resolve_app(Credentials(basic_secret=app.secret)) == app
    assert access.resolve_app(Credentials(apikey=app.apikey, basic_secret=app.secret)) == app
    # The secret decides; a key of another app beside it is refused.
    with pytest.raises(AuthenticationFailed) as excinfo:
        access.resolve_app(Credentials(apikey=other_app.apikey, basic_secret=app.secret))
    assert excinfo.value.detail == "the API key and the secret are of different apps"
    with pytest.raises(AuthenticationFailed):
        access.resolve_app(Credentials())


@pytest.mark.django_db
def test_filelink_for(app, store):
    handle = store(app, b"x", filename="x.txt").json()["handle"]
    assert access.filelink_for(handle).handle == handle
    with pytest.raises(NotFound) as malformed:
        access.filelink_for("short")
    assert (malformed.value.code, malformed.value.detail) == (
        "invalid_handle",
        "a handle is 20 characters of [A-Za-z0-9_-]",
    )
    with pytest.raises(NotFound) as unknown:
        access.filelink_for("Z" * 20)
    assert (unknown.value.code, unknown.value.detail) == (
        "file_not_found",
        "no file with this handle",
    )
    FileLink.objects.filter(handle=handle).update(deleted_at="2026-01-01T00:00:00Z")
    with pytest.raises(NotFound) as deleted:
        access.filelink_for(handle)
    assert deleted.value.code == "file_not_found"


# -- access.authorize ----------------------------------------------------------------------------


def creds_with_policy(app, apikey=None, **fields) -> Credentials:
    import time

    fields.setdefault("expiry", int(time.time()) + 60)
    encoded = policies.encode(fields)
    return Credentials(apikey=apikey, policy=encoded, signature=policies.sign(encoded, app.secret))


@pytest.mark.django_db
def test_authorize_with_the_apps_basic_secret_allows_everything(app, other_app, make_app):
    secure = make_app("secure", security_required=True)
    assert access.authorize(secure, Credentials(basic_secret=secure.secret), "remove") is None
    assert (
        access.authorize(
            app, Credentials(apikey=other_app.apikey, basic_secret=app.secret), "write"
        )
        is None
    )
    with pytest.raises(Forbidden) as excinfo:
        access.authorize(app, Credentials(basic_secret=other_app.secret), "read")
    assert (excinfo.value.code, excinfo.value.status) == ("invalid_secret", 403)
    assert excinfo.value.detail == "the secret is not this file's app's secret"


@pytest.mark.django_db
def test_authorize_refuses_another_apps_key_even_with_a_good_policy(app, other_app):
    creds = creds_with_policy(app, apikey=other_app.apikey)
    with pytest.raises(Forbidden) as excinfo:
        access.authorize(app, creds, "read")
    assert (excinfo.value.code, excinfo.value.detail) == (
        "wrong_apikey",
        "this API key does not own the file",
    )


@pytest.mark.django_db
def test_authorize_returns_the_verified_policy_and_checks_call_and_handle(app, other_app):
    creds = creds_with_policy(app, apikey=app.apikey, call=["read"], handle="H" * 20)
    policy = access.authorize(app, creds, "read", handle="H" * 20)
    assert policy is not None and policy.calls == frozenset({"read"})
    assert access.authorize(app, creds, ("stat", "read"), handle="H" * 20) == policy
    with pytest.raises(PolicyError) as call:
        access.authorize(app, creds, "stat", handle="H" * 20)
    assert call.value.code == "policy_call"
    with pytest.raises(PolicyError) as handle:
        access.authorize(app, creds, "read", handle="G" * 20)
    assert handle.value.code == "policy_handle"
    with pytest.raises(PolicyError) as signature:
        access.authorize(other_app, creds_with_policy(app), "read")
    assert signature.value.code == "invalid_signature"
    # Half a policy is a policy: checked (and refused), never ignored.
    with pytest.raises(PolicyError) as half:
        access.authorize(app, Credentials(signature="0" * 64), "read")
    assert half.value.code == "invalid_policy"
    with pytest.raises(PolicyError) as other_half:
        access.authorize(app, Credentials(policy=creds.policy), "read")
    assert other_half.value.code == "invalid_policy"


@pytest.mark.django_db
def test_authorize_without_credentials(app, make_app):
    secure = make_app("secure", security_required=True)
    for creds in (Credentials(), Credentials(apikey=secure.apikey)):
        with pytest.raises(PolicyError) as excinfo:
            access.authorize(secure, creds, "read")
        assert (excinfo.value.code, excinfo.value.detail) == (
            "policy_required",
            "this app requires a policy and signature for every call",
        )
    assert access.authorize(app, Credentials(), "read") is None
    assert access.authorize(app, Credentials(apikey=app.apikey), "remove", owner_only=True) is None
    with pytest.raises(AuthenticationFailed) as excinfo:
        access.authorize(app, Credentials(), "remove", owner_only=True)
    assert (excinfo.value.code, excinfo.value.status) == ("apikey_required", 401)
    assert excinfo.value.detail == "an API key is required (key=APIKEY)"


@pytest.mark.django_db
def test_filelink_for_loads_the_app_and_storage_target_in_one_query(
    app, store, django_assert_num_queries
):
    handle = store(app, b"x", filename="x.txt").json()["handle"]
    target = StorageTarget.objects.create(
        app=app, bucket="b", region="us-east-1", access_key_id="k", secret_access_key="s"
    )
    FileLink.objects.filter(handle=handle).update(storage_target=target)
    with django_assert_num_queries(1):
        link = access.filelink_for(handle)
        assert (link.app.name, link.storage_target.bucket) == (app.name, "b")
