"""picker.http.views.ReadAPIView: GET and HEAD run on Django's request, skipping DRF's request
machinery, and answer exactly what DRF's own dispatch answers for the same handler."""

import pytest
from django.http import HttpRequest
from django.test import RequestFactory
from rest_framework.authentication import SessionAuthentication
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from picker.errors import AuthenticationFailed, NotFound
from picker.http.views import ReadAPIView

seen: list[type] = []


def handler(self, request):
    seen.append(type(request))
    query = request.GET
    if "missing" in query:
        raise NotFound("no file with this handle", code="file_not_found")
    if "anonymous" in query:
        raise AuthenticationFailed("an API key is required (key=APIKEY)", code="apikey_required")
    if "boom" in query:
        raise RuntimeError("boom")
    return Response({"handle": "x", "filename": "é.txt", "size": 3})


def posted(self, request):
    seen.append(type(request))
    return Response({"x": request.data.get("x")})


class Lean(ReadAPIView):
    get = handler
    post = posted


class Stock(APIView):
    """The same handlers through DRF's own dispatch."""

    get = handler
    post = posted


class Authenticating(ReadAPIView):
    """A view whose settings make DRF's machinery do something: it keeps DRF's dispatch."""

    authentication_classes = [SessionAuthentication]
    get = handler


def answer(view, method: str, query: str = ""):
    seen.clear()
    factory = RequestFactory()
    if method == "POST":
        request = factory.post("/x", data={"x": "1"})
    else:
        request = factory.generic(method, f"/x?{query}" if query else "/x")
    response = view.as_view()(request)
    response.render()
    return response, seen[0]


def described(response) -> tuple:
    return (
        response.status_code,
        response.content,
        {
            name: response[name]
            for name in ("Content-Type", "Allow", "WWW-Authenticate")
            if name in response
        },
    )


@pytest.mark.parametrize(
    "method, query",
    [
        ("GET", ""),
        ("HEAD", ""),
        ("GET", "missing=1"),
        ("GET", "anonymous=1"),
    ],
)
def test_get_and_head_answer_as_drf_does_on_djangos_own_request(method, query):
    lean, lean_request = answer(Lean, method, query)
    stock, stock_request = answer(Stock, method, query)
    assert described(lean) == described(stock)
    assert lean_request is not Request and issubclass(lean_request, HttpRequest)
    assert stock_request is Request


def test_the_json_shapes_are_the_products():
    ok, _ = answer(Lean, "GET")
    assert ok["Content-Type"] == "application/json"
    assert ok.content == '{"handle":"x","filename":"é.txt","size":3}'.encode()
    assert ok["Allow"] == "GET, POST, HEAD, OPTIONS"
    missing, _ = answer(Lean, "GET", "missing=1")
    assert missing.status_code == 404
    assert missing.content == b'{"error":"file_not_found","detail":"no file with this handle"}'
    anonymous, _ = answer(Lean, "GET", "anonymous=1")
    assert anonymous.status_code == 401 and anonymous["WWW-Authenticate"].startswith("Basic")


def test_an_unknown_error_still_reaches_django():
    with pytest.raises(RuntimeError):
        answer(Lean, "GET", "boom=1")


def test_other_methods_and_views_with_authenticators_keep_drfs_dispatch():
    response, request_type = answer(Lean, "POST")
    assert request_type is Request and response.content == b'{"x":"1"}'
    _, request_type = answer(Authenticating, "GET")
    assert request_type is Request


@pytest.mark.parametrize(
    "data, status",
    [
        ({"handle": "x", "filename": "é\u2028\u2029.txt", "size": 3, "none": None}, 200),
        ({"list": [1, 2.5, True, {"nested": "ü"}]}, 200),
        ({"status": "pending", "url": "https://x/y"}, 202),
    ],
)
def test_json_response_is_what_a_drf_response_renders_to(data, status):
    from picker.http.views import json_response

    class Rendered(APIView):
        def get(self, request):
            return Response(data, status=status)

    stock = Rendered.as_view()(RequestFactory().get("/x"))
    stock.render()
    direct = json_response(data, status)
    assert (direct.status_code, direct.content, direct["Content-Type"]) == (
        stock.status_code,
        stock.content,
        stock["Content-Type"],
    )
    assert b"\\u2028" in direct.content or "filename" not in data
