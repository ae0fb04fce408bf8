"""The widget's rules as plain functions: origins and which services can provide a mimetype."""

import pytest

from picker.models import App
from widget import origins, services


@pytest.mark.parametrize(
    ("given", "origin"),
    [
        ("https://Shop.Example", "https://shop.example"),
        ("https://shop.example/", "https://shop.example"),
        ("http://127.0.0.1:8123", "http://127.0.0.1:8123"),
        ("http://[::1]:8000", "http://[::1]:8000"),
        ("https://shop.example/path", None),
        ("https://shop.example?x=1", None),
        ("https://user@shop.example", None),
        ("javascript:alert(1)", None),
        ("null", None),
        ("", None),
    ],
)
def test_origins_are_scheme_host_port_only(given, origin):
    assert origins.normalise(given) == origin


def test_an_app_without_origins_may_be_opened_from_any_page_but_not_from_none():
    app = App(allowed_origins=[])
    assert origins.may_open(app, "https://anyone.example")
    assert not origins.may_open(app, None)
    assert origins.frame_ancestors(app) == "*"


def test_listed_origins_are_the_only_ones():
    app = App(allowed_origins=["https://shop.example/", "not an origin"])
    assert origins.allowed(app) == ["https://shop.example"]
    assert origins.may_open(app, "https://shop.example")
    assert not origins.may_open(app, "https://shop.example.evil.test")
    assert origins.frame_ancestors(app) == "https://shop.example"
    assert origins.frame_ancestors(None) == "'none'"


@pytest.mark.parametrize(
    ("accepted", "wanted", "matches"),
    [
        ("image/*", "image/jpeg", True),
        ("image/*", "image/*", True),
        ("image/*", "*/*", True),
        ("image/*", "video/mp4", False),
        ("image/*", "application/pdf", False),
        ("*/*", "application/pdf", True),
        ("image/png", "image/jpeg", False),
        ("image/png", "image/*", True),
    ],
)
def test_mimetype_patterns(accepted, wanted, matches):
    assert services.overlaps(accepted, wanted) is matches
