"""OpenAPI shapes of the webhooks API (the views build their own JSON; see webhooks.log)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, inline_serializer
from rest_framework import serializers

ATTEMPTS = inline_serializer(
    "WebhookAttempt",
    many=True,
    fields={
        "number": serializers.IntegerField(),
        "trigger": serializers.ChoiceField(["scheduled", "manual"]),
        "at": serializers.DateTimeField(),
        "status_code": serializers.IntegerField(allow_null=True),
        "error": serializers.CharField(),
        "duration_ms": serializers.IntegerField(),
        "reply": serializers.CharField(),
    },
)

DELIVERIES = inline_serializer(
    "WebhookDelivery",
    many=True,
    fields={
        "id": serializers.IntegerField(),
        "event_id": serializers.IntegerField(),
        "action": serializers.CharField(),
        "timestamp": serializers.IntegerField(),
        "endpoint_id": serializers.IntegerField(),
        "url": serializers.URLField(),
        "status": serializers.ChoiceField(["pending", "delivered", "failed"]),
        "first_attempt_at": serializers.DateTimeField(allow_null=True),
        "next_attempt_at": serializers.DateTimeField(allow_null=True),
        "attempts": ATTEMPTS,
    },
)

DELIVERY_PAGE = inline_serializer(
    "WebhookDeliveryPage",
    {
        "count": serializers.IntegerField(),
        "page": serializers.IntegerField(),
        "page_size": serializers.IntegerField(),
        "next_page": serializers.IntegerField(allow_null=True),
        "results": DELIVERIES,
    },
)

ENDPOINT_FIELDS = {
    "id": serializers.IntegerField(),
    "url": serializers.URLField(),
    "actions": serializers.ListField(child=serializers.CharField()),
    "active": serializers.BooleanField(),
    "created_at": serializers.DateTimeField(),
}
ENDPOINTS = inline_serializer("WebhookEndpoint", ENDPOINT_FIELDS, many=True)
ENDPOINT_LIST = inline_serializer("WebhookEndpointList", {"endpoints": ENDPOINTS})
NEW_ENDPOINT = inline_serializer(
    "NewWebhookEndpoint", {**ENDPOINT_FIELDS, "secret": serializers.CharField()}
)
QUEUED = inline_serializer(
    "WebhookQueued", {"id": serializers.IntegerField(), "queued": serializers.BooleanField()}
)
TEST_SENT = inline_serializer(
    "WebhookTestSent",
    {"event_id": serializers.IntegerField(), "delivery_id": serializers.IntegerField()},
)

LOG_PARAMS = [
    OpenApiParameter("status", str, enum=["pending", "delivered", "failed"]),
    OpenApiParameter("action", str),
    OpenApiParameter("page", OpenApiTypes.INT),
    OpenApiParameter("page_size", OpenApiTypes.INT, description="at most 100"),
]


class EndpointRequest(serializers.Serializer):
    """POST /api/webhooks/endpoints: a URL and "all" or a list of actions."""

    url = serializers.CharField(max_length=2048)
    actions = serializers.ListField(
        child=serializers.CharField(max_length=32), required=False, max_length=16
    )
