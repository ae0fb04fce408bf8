"""The policy builder: its policy and signature are what picker.policies verifies, and the API
takes them for an app that requires policies."""

from __future__ import annotations

import re
import time

import pytest

from picker import policies

pytestmark = pytest.mark.django_db


def build(client, app, **fields) -> tuple[str, str]:
    page = client.post(f"/portal/apps/{app.pk}/policy/", fields).content.decode()
    policy = re.search(r'data-testid="policy">([^<]+)<', page)[1]
    signature = re.search(r'data-testid="signature">([0-9a-f]+)<', page)[1]
    return policy, signature


def test_built_policy_verifies_and_is_taken_by_the_api(as_alice, alice_app, store):
    alice_app.security_required = True
    alice_app.save()
    assert store(alice_app, b"x").status_code in (401, 403)
    policy, signature = build(
        as_alice, alice_app, expiry_minutes="30", calls=["store", "read"], max_size="100"
    )
    verified = policies.verify(policy, signature, alice_app.secret)
    assert verified.calls == {"store", "read"} and verified.max_size == 100
    assert time.time() + 29 * 60 < verified.expiry <= time.time() + 30 * 60
    assert store(alice_app, b"x", policy=policy, signature=signature).status_code == 200
    over = store(alice_app, b"x" * 101, policy=policy, signature=signature)
    assert over.status_code == 403


def test_bad_fields_are_a_400_without_a_signature(as_alice, alice_app):
    page = as_alice.post(f"/portal/apps/{alice_app.pk}/policy/", {"expiry_minutes": "0"})
    assert page.status_code == 400 and b'data-testid="signature"' not in page.content
