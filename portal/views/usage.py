"""Usage: per day and per app counts from the stored events, and the Flickr call budget."""

from __future__ import annotations

from django.contrib.auth.mixins import LoginRequiredMixin
from django.views.generic import TemplateView

from portal import usage
from portal.ownership import OwnedAppMixin, owned_apps


def usage_context(apps) -> dict:
    rows = usage.daily(apps)
    chart = usage.chart(rows)
    return {
        "rows": rows,
        "chart": chart,
        "metrics": usage.METRICS,
        "legend": [
            (metric, label, usage.COLOURS[metric], chart.totals[metric])
            for metric, label in usage.METRICS
        ],
        "budgets": [(app, usage.flickr_budget(app)) for app in apps],
    }


class UsageView(LoginRequiredMixin, TemplateView):
    template_name = "portal/usage.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(usage_context(list(owned_apps(self.request.user))))
        return context


class AppUsageView(OwnedAppMixin, TemplateView):
    template_name = "portal/app_usage.html"
    section = "usage"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(usage_context([self.app]))
        return context
