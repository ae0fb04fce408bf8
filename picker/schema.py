"""OpenAPI response shapes for drf-spectacular (views build their own JSON; request bodies are
serializers in the API package's payloads module, which validate as well as document)."""

from drf_spectacular.utils import OpenApiParameter, inline_serializer
from rest_framework import serializers

ERROR = inline_serializer(
    "Error", {"error": serializers.CharField(), "detail": serializers.CharField()}
)

BLOB = inline_serializer(
    "Blob",
    {
        "url": serializers.URLField(),
        "handle": serializers.CharField(),
        "filename": serializers.CharField(),
        "size": serializers.IntegerField(),
        "type": serializers.CharField(),
        "mimetype": serializers.CharField(),
        "key": serializers.CharField(),
        "container": serializers.CharField(),
        "client": serializers.CharField(),
        "isWriteable": serializers.BooleanField(),
        "status": serializers.CharField(),
    },
)

METADATA = inline_serializer(
    "Metadata",
    {
        "handle": serializers.CharField(),
        "size": serializers.IntegerField(required=False),
        "mimetype": serializers.CharField(required=False),
        "filename": serializers.CharField(required=False),
        "uploaded": serializers.FloatField(required=False),
        "writeable": serializers.BooleanField(required=False),
        "location": serializers.CharField(required=False),
        "path": serializers.CharField(required=False),
        "container": serializers.CharField(required=False),
        "width": serializers.IntegerField(required=False, allow_null=True),
        "height": serializers.IntegerField(required=False, allow_null=True),
    },
)


def errors(*statuses: int) -> dict:
    """The JSON error body for each of these statuses (drf-spectacular's responses= form)."""
    return {(status, "application/json"): ERROR for status in statuses}


def security_params() -> list[OpenApiParameter]:
    return [OpenApiParameter("policy", str), OpenApiParameter("signature", str)]
