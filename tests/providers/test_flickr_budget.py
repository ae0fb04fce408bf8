"""The hourly Flickr budget: shared across processes; the 3,601st call never reaches Flickr."""

import subprocess
import sys

import pytest
from django.conf import settings

from providers import limits
from providers.flickr.client import FlickrClient
from providers.sandbox.models import FlickrNonce
from tests.conftest import server_env
from tests.providers.test_flickr_sandbox import connect

pytestmark = pytest.mark.django_db(transaction=True)

SPENDER = """
import os, sys, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "openpicker.settings")
django.setup()
from providers import limits
from providers.errors import ProviderError
allowed = 0
provider, key, count, limit = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
for _ in range(count):
    try:
        limits.spend(provider, key, limit)
        allowed += 1
    except ProviderError:
        pass
print(allowed)
"""


def spend_in_two_processes(
    api_key: str, each: int, provider: str = "flickr", limit: int = 3600
) -> list[int]:
    """Two processes each spending `each` calls of the key's budget; how many each was allowed."""
    env = {**__import__("os").environ, **server_env()}
    processes = [
        subprocess.Popen(  # noqa: S603 - our own interpreter and script
            [sys.executable, "-c", SPENDER, provider, api_key, str(each), str(limit)],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    return [int(p.communicate(timeout=300)[0].strip()) for p in processes]


def test_the_3601st_call_is_refused_without_reaching_flickr(flickr_sandbox):
    client = connect(flickr_sandbox)
    limits.forget("flickr", client.key)
    client.call("flickr.test.login")  # call 1, reaches the sandbox
    assert sum(spend_in_two_processes(client.key, 1799)) == 3598  # calls 2..3599
    client.call("flickr.test.login")  # call 3,600
    seen = FlickrNonce.objects.count()
    with pytest.raises(limits.ProviderBusy) as refused:
        client.call("flickr.test.login")  # call 3,601
    assert refused.value.status == 429 and 0 < refused.value.retry_after <= 3600
    assert FlickrNonce.objects.count() == seen  # nothing was sent
    limits.forget("flickr", client.key)


def test_racing_processes_never_overspend():
    key = "racing-key-" + settings.SECRET_KEY[:6]
    limits.forget("flickr", key)
    assert sum(spend_in_two_processes(key, 2000)) == 3600
    with pytest.raises(limits.ProviderBusy):
        limits.spend("flickr", key, 3600)
    limits.forget("flickr", key)
    other = FlickrClient("another-key", "s")
    assert other.key != key  # budgets are per key: another key starts at zero
    limits.spend("flickr", "another-key", 1)
    with pytest.raises(limits.ProviderBusy):
        limits.spend("flickr", "another-key", 1)
    limits.forget("flickr", "another-key")
