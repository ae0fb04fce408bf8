"""Instagram folder pages in process against the sandbox: the cloud API's page numbers over
Graph's cursors, found again by walking from the first page when the cache lost them."""

import pytest
from django.core.cache import cache

from picker.errors import NotFound
from providers.instagram.provider import InstagramProvider
from providers.sandbox.instagram import catalogue
from providers.sandbox.models import InstagramToken
from tests.providers.conftest import PAGE_SIZE
from tests.providers.test_instagram_end_to_end import expected_paths
from tests.providers.test_instagram_refresh import connect

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("instagram_budget"),
]


def test_pages_with_and_without_cached_cursors(sandbox_api, instagram_sandbox, app):
    connection, _ = connect(sandbox_api, app)
    provider = InstagramProvider()
    posts = catalogue.media()[0]
    connected = InstagramToken.objects.get(value=connection.token).calls  # /me
    first = provider.list_folder(connection, "/", None)
    assert first["next"] == 2
    second = provider.list_folder(connection, "/", 2)
    calls = InstagramToken.objects.get(value=connection.token).calls
    assert calls == connected + 2  # the cursor of page 2 came from the cache

    cache.clear()
    third = provider.list_folder(connection, "/", 3)
    assert InstagramToken.objects.get(value=connection.token).calls == calls + 3  # walked
    assert third["next"] is None
    paths = [item["path"] for page in (first, second, third) for item in page["contents"]]
    assert paths == expected_paths(posts)
    assert len(posts[2 * PAGE_SIZE :]) == 6

    cache.clear()
    with pytest.raises(NotFound):
        provider.list_folder(connection, "/", 4)
    with pytest.raises(NotFound):
        provider.list_folder(connection, "/elsewhere/", None)
