"""The webhooks API for integrators (HTTP Basic `app:SECRET` only): endpoints and the log."""

from __future__ import annotations

from django.core.paginator import EmptyPage, Paginator
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from picker import access, params
from picker.errors import AuthenticationFailed, BadRequest
from picker.models import App
from picker.schema import errors
from webhooks import log, schema
from webhooks.endpoints import add_endpoint, queue_redelivery, send_test_event

MAX_PAGE_SIZE = 100


def secret_app(request) -> App:
    """The app whose secret the request presents; a bare API key is not enough here."""
    creds = params.credentials(request)
    if not creds.basic_secret:
        raise AuthenticationFailed(
            "the webhooks API needs HTTP Basic app:SECRET", code="secret_required"
        )
    return access.resolve_app(creds)


def _positive(value: str | None, name: str, default: int, ceiling: int | None = None) -> int:
    if value in (None, ""):
        return default
    if not value.isdigit() or int(value) < 1:
        raise BadRequest(f"{name} is a positive integer", code=f"invalid_{name}")
    return min(int(value), ceiling) if ceiling else int(value)


class EndpointsView(APIView):
    """GET: the app's endpoints; POST {url, actions}: subscribe one (answers its secret once)."""

    @extend_schema(
        operation_id="webhook_endpoints", responses={200: schema.ENDPOINT_LIST, **errors(401)}
    )
    def get(self, request):
        app = secret_app(request)
        return Response({"endpoints": [log.endpoint_entry(e) for e in log.endpoints(app)]})

    @extend_schema(
        operation_id="webhook_endpoint_add",
        request=schema.EndpointRequest,
        responses={201: schema.NEW_ENDPOINT, **errors(400, 401)},
    )
    def post(self, request):
        app = secret_app(request)
        body = schema.EndpointRequest(data=params.json_object(request))
        if not body.is_valid():
            raise BadRequest(f"invalid body: {dict(body.errors)}", code="invalid_body")
        data = body.validated_data
        endpoint = add_endpoint(app, data["url"], data.get("actions"))
        return Response({**log.endpoint_entry(endpoint), "secret": endpoint.secret}, status=201)


class TestEventView(APIView):
    """POST: send the endpoint an `fp.test` event, through the same delivery as any other."""

    @extend_schema(
        operation_id="webhook_test",
        request=None,
        responses={202: schema.TEST_SENT, **errors(401, 404)},
    )
    def post(self, request, endpoint_id: int):
        app = secret_app(request)
        delivery = send_test_event(app, log.endpoint(app, endpoint_id))
        return Response({"event_id": delivery.event_id, "delivery_id": delivery.pk}, status=202)


class DeliveriesView(APIView):
    """GET: the delivery log, newest first; ?status=, ?action=, ?page=, ?page_size=."""

    @extend_schema(
        operation_id="webhook_deliveries",
        parameters=schema.LOG_PARAMS,
        responses={200: schema.DELIVERY_PAGE, **errors(400, 401)},
    )
    def get(self, request):
        app = secret_app(request)
        query = request.query_params
        rows = log.deliveries(app, status=query.get("status"), action=query.get("action"))
        size = _positive(query.get("page_size"), "page_size", 50, MAX_PAGE_SIZE)
        number = _positive(query.get("page"), "page", 1)
        pages = Paginator(rows, size)
        try:
            page = pages.page(number)
        except EmptyPage:
            results, has_next = [], False
        else:
            results, has_next = [log.delivery_entry(row) for row in page], page.has_next()
        return Response(
            {
                "count": pages.count,
                "page": number,
                "page_size": size,
                "next_page": number + 1 if has_next else None,
                "results": results,
            }
        )


class RedeliverView(APIView):
    """POST: queue a manual attempt; the schedule stays where it is."""

    @extend_schema(
        operation_id="webhook_redeliver",
        request=None,
        responses={202: schema.QUEUED, **errors(401, 404)},
    )
    def post(self, request, delivery_id: int):
        app = secret_app(request)
        delivery = log.delivery(app, delivery_id)
        queue_redelivery(delivery)
        return Response({"id": delivery.pk, "queued": True}, status=202)
