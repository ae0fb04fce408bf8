"""Credentials > Webhooks: endpoints, and the delivery log read through the log API's selector."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect
from django.views.generic import TemplateView

from picker.errors import PickerError
from portal.forms import WebhookForm
from portal.ownership import OwnedAppMixin
from webhooks import endpoints, log

PAGE_SIZE = 20


class WebhooksView(OwnedAppMixin, TemplateView):
    template_name = "portal/webhooks.html"
    section = "webhooks"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        query = self.request.GET
        status = query.get("status") if query.get("status") in log.STATUSES else None
        rows = log.deliveries(self.app, status=status)
        page = Paginator(rows, PAGE_SIZE).get_page(query.get("page"))
        context.update(
            endpoints=[log.endpoint_entry(e) for e in log.endpoints(self.app)],
            deliveries=[log.delivery_entry(row) for row in page],
            page=page,
            status=status or "",
            statuses=log.STATUSES,
        )
        context.setdefault("form", WebhookForm())
        return context

    def post(self, request, app_id):
        form = WebhookForm(request.POST)
        if form.is_valid():
            try:
                endpoints.add_endpoint(self.app, form.cleaned_data["url"], form.chosen())
            except PickerError as exc:  # not an http(s) URL, or one the outbound guard refuses
                form.add_error("url", exc.detail)
            else:
                messages.success(request, "Webhook added.")
                return redirect("portal:webhooks", app_id=app_id)
        return self.render_to_response(self.get_context_data(form=form), status=400)


class EndpointAction(WebhooksView):
    http_method_names = ["post"]

    def endpoint(self):
        """The app's endpoint, or the selector's NotFound (the portal's 404 page)."""
        return log.endpoint(self.app, self.kwargs["endpoint_id"])


class DeleteEndpointView(EndpointAction):
    def post(self, request, app_id, endpoint_id):
        self.endpoint().delete()
        messages.success(request, "Webhook removed.")
        return redirect("portal:webhooks", app_id=app_id)


class TestEndpointView(EndpointAction):
    def post(self, request, app_id, endpoint_id):
        endpoints.send_test_event(self.app, self.endpoint())
        messages.success(request, "Test event queued; it shows in the log below.")
        return redirect("portal:webhooks", app_id=app_id)


class RevealEndpointSecretView(EndpointAction):
    def post(self, request, app_id, endpoint_id):
        endpoint = self.endpoint()
        return self.render_to_response(
            self.get_context_data(revealed_endpoint=endpoint.pk, endpoint_secret=endpoint.secret)
        )


class RedeliverView(WebhooksView):
    http_method_names = ["post"]

    def post(self, request, app_id, delivery_id):
        delivery = log.delivery(self.app, delivery_id)
        endpoints.queue_redelivery(delivery)
        messages.success(request, f"Delivery {delivery.pk} queued for another attempt.")
        return redirect("portal:webhooks", app_id=app_id)
