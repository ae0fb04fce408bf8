"""Bounded conversion work: tasks per chain, the pixel budget, the spec length, header checks in
the web process, and jobs whose worker dies."""

import io

import pytest
from django.conf import settings

from conversions.engine import PixelBudgetExceeded, check_chain, render
from conversions.models import Rendition
from conversions.operations import Flip, Resize, Rotate
from tests.conftest import body
from tests.conversions.conftest import image_bytes, open_image


@pytest.fixture
def small(app, store):
    return store(app, image_bytes((64, 48)), filename="small.jpg").json()


@pytest.mark.usefixtures("converting")
def test_a_chain_of_76_steps_is_a_400_naming_the_limit(client, small):
    chain = "/".join(["flip", "flop"] * 38)
    response = client.get(f"/cdn/{chain}/{small['handle']}")
    assert response.status_code == 400, response.content
    error = response.json()
    assert error["error"] == "too_many_tasks"
    assert "76 tasks" in error["detail"] and "OPENPICKER_CDN_MAX_TASKS" in error["detail"]
    assert not Rendition.objects.exists()


@pytest.mark.usefixtures("converting")
def test_the_task_limit_counts_every_task_of_the_chain(client, app, small):
    limit = settings.OPENPICKER_CDN_MAX_TASKS
    at_limit = client.get(f"/cdn/{'/'.join(['flip'] * limit)}/{small['handle']}")
    assert at_limit.status_code == 200, at_limit.content
    assert open_image(body(at_limit)).size == (64, 48)
    # security, cache and store are tasks too.
    over = client.get(f"/cdn/cache=false/{'/'.join(['flip'] * limit)}/{small['handle']}")
    assert over.status_code == 400 and over.json()["error"] == "too_many_tasks"
    assert f"{limit + 1} tasks" in over.json()["detail"]


@pytest.mark.usefixtures("converting")
def test_a_chain_over_the_pixel_budget_is_a_400_naming_it(client, app, store):
    # 4000x3125 is 12.5 MP, well under the per-image cap; the source and twenty flips of it are
    # 262.5 MP, over the default budget of 250 MP.
    assert settings.OPENPICKER_CONVERT_PIXEL_BUDGET == 250_000_000
    large = store(app, image_bytes((4000, 3125)), filename="large.jpg").json()
    response = client.get(f"/cdn/{'/'.join(['flip'] * 20)}/{large['handle']}")
    assert response.status_code == 400, response.content
    error = response.json()
    assert error["error"] == "pixel_budget"
    assert "OPENPICKER_CONVERT_PIXEL_BUDGET" in error["detail"]


def test_the_budget_counts_the_source_and_every_step():
    source = image_bytes((100, 100))
    # 10,000 source pixels + 4 flips of 10,000 = 50,000: exactly the budget.
    out = render(io.BytesIO(source), [Flip()] * 4, pixel_budget=50_000)
    assert (out.width, out.height) == (100, 100)
    with pytest.raises(PixelBudgetExceeded):
        render(io.BytesIO(source), [Flip()] * 5, pixel_budget=50_000)
    # A resize counts its result, not its source: 10,000 + 100 + 4 flips of 100.
    check_chain([Resize(10), *[Flip()] * 4], (100, 100), pixel_budget=10_500)
    with pytest.raises(PixelBudgetExceeded):
        check_chain([Resize(10), *[Flip()] * 5], (100, 100), pixel_budget=10_500)
    # Steps that do nothing to the pixels cost nothing.
    check_chain([Rotate(0), Rotate("exif")], (100, 100), pixel_budget=10_000)


@pytest.mark.usefixtures("converting")
def test_a_2000_character_cdn_spec_is_a_400(client, small):
    # One valid resize whose width is written with leading zeros: 2,000 characters as written,
    # a short canonical spec.
    task = "resize=width:" + "0" * (2000 - len("resize=width:") - 2) + "32"
    assert len(task) == 2000
    response = client.get(f"/cdn/{task}/{small['handle']}")
    assert response.status_code == 400, response.content
    error = response.json()
    assert error["error"] == "spec_too_long" and "2,000 characters" in error["detail"]
    assert not Rendition.objects.exists()


@pytest.mark.usefixtures("converting")
def test_a_canonical_spec_longer_than_the_cache_column_is_a_400(client, small):
    # 519 characters as written, 1,139 once defaults are spelled out (fit, align): on
    # PostgreSQL the rendition row could not be written at all.
    chain = "/".join(["resize=width:64,height:48"] * 20)
    response = client.get(f"/cdn/{chain}/{small['handle']}")
    assert response.status_code == 400, response.content
    error = response.json()
    assert error["error"] == "spec_too_long" and "canonical" in error["detail"]
    assert not Rendition.objects.exists()
    short = client.get(f"/cdn/{'/'.join(['resize=width:32,height:24'] * 2)}/{small['handle']}")
    assert short.status_code == 200 and open_image(body(short)).size == (32, 24)


@pytest.mark.usefixtures("converting")
def test_a_2000_character_legacy_spec_is_a_400(client, app, small):
    width = "0" * 1996 + "32"
    for method in (client.get, client.post):
        response = method(f"/api/file/{small['handle']}/convert?key={app.apikey}&w={width}")
        assert response.status_code == 400, response.content
        assert response.json()["error"] == "spec_too_long"
    assert not Rendition.objects.exists()
    # The same width written plainly converts.
    ok = client.get(f"/api/file/{small['handle']}/convert?w=32")
    assert ok.status_code == 200 and open_image(body(ok)).size == (32, 24)
