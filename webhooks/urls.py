"""Routes of the webhooks API (DESIGN.md §4)."""

from django.urls import path

from webhooks import api

urlpatterns = [
    path("api/webhooks/endpoints", api.EndpointsView.as_view(), name="webhook-endpoints"),
    path(
        "api/webhooks/endpoints/<int:endpoint_id>/test",
        api.TestEventView.as_view(),
        name="webhook-test",
    ),
    path("api/webhooks/deliveries", api.DeliveriesView.as_view(), name="webhook-deliveries"),
    path(
        "api/webhooks/deliveries/<int:delivery_id>/redeliver",
        api.RedeliverView.as_view(),
        name="webhook-redeliver",
    ),
]
