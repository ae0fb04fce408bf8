"""Request bodies are declared once (picker.api.payloads): the schema documents the serializer
the view validates with, and what the serializer refuses is a JSON 400 naming the field."""

import pytest

from picker.api import payloads
from tests.picker.test_multipart import Uploader

pytestmark = pytest.mark.django_db

DOCUMENTED = [
    ("/upload/multipart/start", "post", "application/json", payloads.MultipartStart),
    ("/upload/multipart/upload", "post", "application/json", payloads.MultipartUploadPart),
    ("/upload/multipart/complete", "post", "application/json", payloads.MultipartComplete),
    ("/process", "post", "application/json", payloads.Process),
    (
        "/api/file/{handle}/remove",
        "post",
        "application/x-www-form-urlencoded",
        payloads.RemoveCredentials,
    ),
    ("/api/store/{location}", "post", "multipart/form-data", payloads.FileUpload),
    ("/api/store/{location}", "post", "application/x-www-form-urlencoded", payloads.StoreUrl),
    ("/api/file/{handle}", "post", "application/x-www-form-urlencoded", payloads.StoreUrl),
]


@pytest.fixture(scope="module")
def schema():
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


@pytest.mark.parametrize(("path", "method", "media", "payload"), DOCUMENTED)
def test_the_schema_documents_the_serializer_the_view_validates_with(
    schema, path, method, media, payload
):
    body = schema["paths"][path][method]["requestBody"]["content"][media]["schema"]
    name = body["$ref"].rsplit("/", 1)[-1]
    assert name == payload.__name__
    component = schema["components"]["schemas"][name]
    assert set(component["properties"]) == set(payload().fields)
    required = {name for name, field in payload().fields.items() if field.required}
    assert set(component.get("required", [])) == required


def test_no_request_shape_is_declared_for_documentation_only():
    from picker import schema

    assert not hasattr(schema, "UPLOAD_BODY") and not hasattr(schema, "STORE_OPTIONS")


def post_json(client, path, data):
    return client.post(path, data, content_type="application/json")


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"part": "two"}, "invalid_part", "part"),
        ({"part": 10_001}, "invalid_part", "part"),
        ({"size": 0}, "invalid_part", "size"),
        ({"md5": ["a", "b"]}, "invalid_md5", "md5"),
        ({"upload_id": None}, "invalid_parameter", "upload_id"),
    ],
)
def test_a_part_request_is_validated_by_its_serializer(client, app, body, code, field):
    uploader = Uploader(client, app)
    started = uploader.start(10).json()
    request = {
        "apikey": app.apikey,
        "upload_id": started["upload_id"],
        "part": 1,
        "size": 10,
        "md5": "XrY7u+Ae7tCTyyK7j1rNww==",
        **body,
    }
    response = post_json(client, "/upload/multipart/upload", request)
    assert response.status_code == 400, response.content
    assert response.json()["error"] == code
    assert response.json()["detail"].startswith(f"{field}:")


@pytest.mark.parametrize(
    ("parts", "detail"),
    [
        ([], "parts:"),
        ([{"part_number": 1}], "parts.0.etag:"),
        ([{"part_number": "x", "etag": "e"}], "parts.0.part_number:"),
        ("not a list", "parts:"),
    ],
)
def test_complete_validates_its_parts(client, app, parts, detail):
    started = Uploader(client, app).start(10).json()
    response = post_json(
        client,
        "/upload/multipart/complete",
        {"apikey": app.apikey, "upload_id": started["upload_id"], "parts": parts},
    )
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "invalid_parts"
    assert response.json()["detail"].startswith(detail)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"sources": []}, "invalid_sources"),
        ({"sources": ["https://example.com/a"] * 11}, "invalid_sources"),
        ({"sources": "https://example.com/a"}, "invalid_sources"),
        ({"sources": ["https://example.com/a"], "tasks": {"name": "store"}}, "invalid_tasks"),
        ({"sources": ["https://example.com/a"], "tasks": [{"params": {}}]}, "invalid_tasks"),
        (
            {"sources": ["https://example.com/a"], "tasks": [{"name": "store", "params": []}]},
            "invalid_tasks",
        ),
    ],
)
def test_process_is_validated_by_its_serializer(client, app, body, code):
    response = post_json(client, "/process", {"apikey": app.apikey, **body})
    assert response.status_code == 400, response.content
    assert response.json()["error"] == code


def test_multipart_start_refuses_what_its_serializer_refuses(client, app):
    uploader = Uploader(client, app)
    assert uploader.start(-1).json()["error"] == "invalid_parameter"
    response = uploader.start(10, filename="a\x00b")
    assert response.status_code == 400 and response.json()["detail"].startswith("filename:")
    response = uploader.start(10, store={"path": 7 * ["x"]})
    assert response.status_code == 400 and response.json()["detail"].startswith("store.path:")


def test_legacy_remove_takes_a_form_or_json_object_only(client, app, store):
    handle = store(app, b"x").json()["handle"]
    as_list = client.post(
        f"/api/file/{handle}/remove", [app.apikey], content_type="application/json"
    )
    assert as_list.status_code == 400 and as_list.json()["error"] == "invalid_body"
    as_form = client.post(f"/api/file/{handle}/remove", {"key": app.apikey})
    assert as_form.status_code == 200


def test_a_store_url_longer_than_declared_is_refused(client, app):
    response = client.post(
        f"/api/store/S3?key={app.apikey}", {"url": "https://example.com/" + "a" * 4096}
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_parameter",
        "detail": "url: Ensure this field has no more than 4096 characters.",
    }
