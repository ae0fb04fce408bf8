"""Instagram mapping on the recorded replies in /work/shared/fixtures/instagram/, and the client's
handling of Graph errors (190, rate limits retried with backoff) against a stand-in Graph."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from picker.errors import BadRequest, NotFound
from providers import limits
from providers.errors import ProviderAuthError, ProviderError, ProviderTokenRejected
from providers.instagram import adapter, client
from providers.instagram.client import InstagramClient

FIXTURES = Path("/work/shared/fixtures/instagram")


def recorded(name: str) -> dict:
    reply = json.loads((FIXTURES / name).read_text())
    reply.pop("_source", None)
    return reply


def test_media_page_maps_items_and_the_next_cursor():
    reply = recorded("me.media.page1.json")
    assert adapter.media_items(reply["data"]) == [
        {
            "name": "17895731045244887.jpg",
            "path": "/17895731045244887",
            "mimetype": "image/jpeg",
            "thumbnail": reply["data"][0]["media_url"],
            "size": None,
            "folder": False,
        }
    ]
    assert adapter.next_cursor(reply) == "after"


def test_last_page_has_no_next_cursor_even_with_cursors():
    reply = recorded("me.media.page1.json")
    del reply["paging"]["next"]
    assert adapter.next_cursor(reply) is None
    assert adapter.next_cursor({"data": []}) is None


def test_carousel_is_expanded_into_its_children():
    album = recorded("carousel.json")
    video = {"id": "1", "media_type": "VIDEO", "media_url": "v.mp4", "thumbnail_url": "p.jpg"}
    items = adapter.media_items([album, video])
    assert [i["path"] for i in items] == ["/18000503476161727/17870453980312780", "/1"]
    assert items[0]["thumbnail"] == "https://scontent.cdninstagram.com/child1.jpg"
    assert (items[1]["mimetype"], items[1]["thumbnail"]) == ("video/mp4", "p.jpg")


def test_metadata_of_an_image_a_child_and_refusals():
    child = recorded("carousel.json")["children"]["data"][0]
    meta = adapter.metadata(child)
    assert (meta["filename"], meta["mimetype"], meta["page_url"]) == (
        "17870453980312780.jpg",
        "image/jpeg",
        "",  # children have no permalink
    )
    image = recorded("me.media.page1.json")["data"][0]
    assert adapter.metadata(image)["page_url"] == "https://www.instagram.com/p/CSgf9BChwVq/"
    for kind in ("VIDEO", "CAROUSEL_ALBUM"):
        with pytest.raises(BadRequest) as refused:
            adapter.metadata({"id": "1", "media_type": kind})
        assert refused.value.detail == "Only image files are selectable."


def test_a_child_is_seen_on_its_albums_page_at_its_place():
    album = recorded("carousel.json")
    second = {"id": "17870453980312781", "media_type": "IMAGE", "media_url": "c2.jpg"}
    album["children"]["data"].append(second)
    child = adapter.album_child(album, "17870453980312781")
    assert child["media_url"] == "c2.jpg"
    meta = adapter.metadata(child)
    assert meta["page_url"] == "https://www.instagram.com/p/BT1/?img_index=2"
    assert meta["short_url"] == meta["page_url"]
    first = adapter.metadata(adapter.album_child(album, "17870453980312780"))
    assert first["page_url"] == "https://www.instagram.com/p/BT1/?img_index=1"
    with pytest.raises(NotFound):  # not a child of this album
        adapter.album_child(album, "18000503476161727")
    del album["permalink"]
    assert adapter.metadata(adapter.album_child(album, "17870453980312780"))["page_url"] == ""


def test_error_190_is_a_rejected_token():
    with pytest.raises(ProviderTokenRejected) as rejected:
        adapter.check(recorded("error.190.json"))
    assert "Session has expired" in rejected.value.detail


@pytest.mark.parametrize(
    ("code", "extra", "error"),
    [
        (4, {}, adapter.ProviderTransient),
        (17, {}, adapter.ProviderTransient),
        (32, {}, adapter.ProviderTransient),
        (613, {}, adapter.ProviderTransient),
        (100, {"is_transient": True}, adapter.ProviderTransient),
        (10, {}, ProviderAuthError),
        (100, {}, ProviderError),
    ],
)
def test_graph_error_codes(code, extra, error):
    raised = adapter.graph_error({"error": {"code": code, "message": "m", **extra}})
    assert type(raised) is error


def test_token_replies_wrapped_flat_and_refused():
    wrapped = adapter.token_reply(recorded("oauth.access_token.json"))
    assert (wrapped["access_token"], wrapped["user_id"]) == ("EAACEdEose0...", "1020...")
    flat = adapter.token_reply({"access_token": "T", "user_id": 17841400000000000})
    assert flat["user_id"] == "17841400000000000"
    with pytest.raises(ProviderError) as refused:
        adapter.token_reply(recorded("oauth.error.json"))
    assert "Matching code was not found" in refused.value.detail
    long = adapter.token_reply(recorded("long_lived_token.json"))
    assert long["expires_in"] == 5183944


class StandInGraph:
    """Answers each GET (or POST) with the next queued (status, body); records the queries."""

    def __init__(self, replies):
        self.replies, self.queries = list(replies), []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                stub.queries.append(parse_qs(urlsplit(self.path).query))
                status, reply = stub.replies.pop(0)
                body = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_GET

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def graph(settings, monkeypatch, db):
    """A stand-in Graph (the calls' budget is counted in the database or cache, as always)."""
    made = []
    monkeypatch.setattr(client, "BACKOFF", 0.01)

    def make(*replies):
        stub = StandInGraph(replies)
        settings.OPENPICKER_INSTAGRAM_GRAPH_BASE = stub.url
        made.append(stub)
        return stub

    limits.forget("instagram", client.budget_key("id", None))
    yield make
    for stub in made:
        stub.stop()
    limits.forget("instagram", client.budget_key("id", None))


RATE = {"error": {"message": "Application request limit reached", "code": 4, "is_transient": True}}


def test_rate_limit_is_retried_then_answers(graph):
    stub = graph((400, RATE), (400, RATE), (200, recorded("me.media.page1.json")))
    reply = InstagramClient("id", "secret", "tok").get("me/media", fields="id")
    assert reply["paging"]["cursors"]["after"] == "after"
    assert len(stub.queries) == 3 and stub.queries[0]["access_token"] == ["tok"]


def test_rate_limit_gives_up_after_the_tries(graph):
    stub = graph(*[(400, RATE)] * client.TRANSIENT_TRIES)
    with pytest.raises(adapter.ProviderTransient) as busy:
        InstagramClient("id", "secret", "tok").get("me/media")
    assert busy.value.status == 429 and len(stub.queries) == client.TRANSIENT_TRIES


def test_every_try_is_spent_from_the_budget(graph, settings):
    settings.OPENPICKER_INSTAGRAM_CALLS_PER_HOUR = 4
    stub = graph((503, {}), (400, RATE), (200, {"id": "1"}), (200, {"id": "2"}))
    instagram = InstagramClient("id", "secret", "tok")
    assert instagram.get("me") == {"id": "1"}  # a 5xx and a rate limit retried
    assert limits.spent("instagram", client.budget_key("id", None)) == 3
    assert instagram.get("me") == {"id": "2"}
    with pytest.raises(limits.ProviderBusy) as spent:
        instagram.get("me")
    assert 0 < spent.value.retry_after <= 3600
    assert len(stub.queries) == 4  # the fifth call was never sent


def test_a_failing_instagram_is_a_502_after_the_tries(graph):
    stub = graph(*[(502, {})] * client.TRANSIENT_TRIES)
    with pytest.raises(ProviderError) as failed:
        InstagramClient("id", "secret", "tok").get("me")
    assert failed.value.status == 502 and "HTTP 502" in failed.value.detail
    assert len(stub.queries) == client.TRANSIENT_TRIES


def test_190_is_not_retried(graph):
    stub = graph((400, recorded("error.190.json")), (200, {"id": "never"}))
    with pytest.raises(ProviderTokenRejected):
        InstagramClient("id", "secret", "tok").get("me")
    assert len(stub.queries) == 1
