"""Portal fixtures: users, their apps, and test clients logged in as them."""

from __future__ import annotations

import pytest
from django.test import Client

from picker.models import App

PASSWORD = "correct horse battery staple 42"


@pytest.fixture
def make_user(db, django_user_model):
    def make(email: str):
        return django_user_model.objects.create_user(username=email, email=email, password=PASSWORD)

    return make


@pytest.fixture
def alice(make_user):
    return make_user("alice@example.com")


@pytest.fixture
def bob(make_user):
    return make_user("bob@example.com")


@pytest.fixture
def alice_app(alice):
    return App.objects.create(owner=alice, name="alice's app")


@pytest.fixture
def bob_app(bob):
    return App.objects.create(owner=bob, name="bob's app")


@pytest.fixture
def as_alice(alice) -> Client:
    client = Client()
    client.force_login(alice)
    return client


@pytest.fixture
def as_bob(bob) -> Client:
    client = Client()
    client.force_login(bob)
    return client


@pytest.fixture
def portal_urls():
    """Every portal route, as (name, pattern): the walks below cover each one."""
    from portal.urls import urlpatterns

    return [(p.name, p) for p in urlpatterns]


def app_objects(app, provider_keys: bool = True) -> dict:
    """An endpoint, an event and a delivery of `app` (rows only: nothing is sent)."""
    from providers.models import ProviderCredential
    from webhooks.models import Delivery, Event, WebhookEndpoint

    endpoint = WebhookEndpoint.objects.create(
        app=app, url="https://hooks.example.com/x", actions=["all"]
    )
    event = Event.objects.create(app=app, action="fp.upload", text={"url": "u"})
    delivery = Delivery.objects.create(event=event, endpoint=endpoint)
    if provider_keys:
        ProviderCredential.objects.create(
            app=app, provider="flickr", key=f"key-of-{app.pk}", secret=f"secret-of-{app.pk}"
        )
    return {"app_id": app.pk, "endpoint_id": endpoint.pk, "delivery_id": delivery.pk}


@pytest.fixture
def receiver(settings):
    """A local webhook receiver the outbound guard lets through."""
    from tests.webhooks.conftest import Receiver

    running = Receiver().start()
    settings.OPENPICKER_OUTBOUND_ALLOW = [
        *settings.OPENPICKER_OUTBOUND_ALLOW,
        f"127.0.0.1:{running.port}",
    ]
    yield running
    running.stop()


@pytest.fixture
def eager():
    """Celery runs queued tasks in this process (renditions, redeliveries)."""
    from openpicker.celery import app as celery_app

    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


def bucket_keys(moto, bucket: str) -> set[str]:
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=moto.url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    return {obj["Key"] for obj in client.list_objects_v2(Bucket=bucket).get("Contents", [])}


# The providers' sandbox server (OPENPICKER_SANDBOX=1 under gunicorn) and the settings that
# point this process's providers at it.
from tests.providers.conftest import (  # noqa: E402, F401
    flickr_sandbox,
    instagram_sandbox,
    sandbox_api,
)
