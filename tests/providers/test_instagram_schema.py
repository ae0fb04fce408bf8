"""The OpenAPI schema names Instagram wherever the cloud endpoints take a provider: the answers'
per-provider keys (only those the call named, so none required), request examples and the
{provider} of the OAuth routes; export answers name only providers that take exports."""

import pytest

from providers import base


@pytest.fixture(scope="module")
def schema():
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def operation(schema, operation_id: str) -> dict:
    for methods in schema["paths"].values():
        for found in methods.values():
            if isinstance(found, dict) and found.get("operationId") == operation_id:
                return found
    raise AssertionError(f"no operation {operation_id}")


def answer(schema, operation_id: str) -> dict:
    ref = operation(schema, operation_id)["responses"]["200"]["content"]["application/json"]
    return schema["components"]["schemas"][ref["schema"]["$ref"].rsplit("/", 1)[-1]]


def example_clouds(schema, operation_id: str) -> set[str]:
    content = operation(schema, operation_id)["requestBody"]["content"]["application/json"]
    return {name for example in content["examples"].values() for name in example["value"]["clouds"]}


@pytest.mark.parametrize("operation_id", ["cloud_folder_list", "cloud_store", "cloud_auth_logout"])
def test_cloud_calls_name_every_provider(schema, operation_id):
    assert set(base.REGISTRY) == {"flickr", "instagram"}
    if operation_id != "cloud_store":  # no request examples there (providers/cloud_views.py)
        assert example_clouds(schema, operation_id) == set(base.REGISTRY)
    if operation_id != "cloud_auth_logout":  # its answer lists names
        shape = answer(schema, operation_id)
        assert set(shape["properties"]) == {"token", *base.REGISTRY}
        assert shape["required"] == ["token"]  # only the clouds the call named are answered


def test_export_names_only_providers_that_take_exports(schema):
    exporters = {name for name, p in base.REGISTRY.items() if getattr(p, "exports", True)}
    assert exporters == {"flickr"}
    assert set(answer(schema, "cloud_export")["properties"]) == {"token", *exporters}
    assert example_clouds(schema, "cloud_export") == exporters


@pytest.mark.parametrize("operation_id", ["provider_auth_open", "provider_auth_callback"])
def test_the_oauth_routes_provider_examples(schema, operation_id):
    (provider,) = [p for p in operation(schema, operation_id)["parameters"] if p["in"] == "path"]
    assert provider["name"] == "provider"
    assert {e["value"] for e in provider["examples"].values()} == set(base.REGISTRY)
