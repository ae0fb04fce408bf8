"""Usage, counted from the stored webhooks Events (every event is stored, DESIGN.md §2).

Per day and per app: picks (fp.upload of a link to a provider's item, no stored object),
stores (fp.upload with a stored object: a `key` in its text), conversions (fp.converse),
exports (fp.export) and webhook deliveries (one per event and subscribed endpoint). The Flickr
figure is the hourly call budget of the key the app uses (its own, else the instance's), read
from the same counter the limiter spends (providers.limits).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from providers import limits
from providers.flickr.provider import keys as flickr_keys
from webhooks.models import Delivery, Event

METRICS = (
    ("picks", "Picks"),
    ("stores", "Stores"),
    ("conversions", "Conversions"),
    ("exports", "Exports"),
    ("deliveries", "Webhook deliveries"),
)
COLOURS = {
    "picks": "#4e79a7",
    "stores": "#f28e2b",
    "conversions": "#59a14f",
    "exports": "#b07aa1",
    "deliveries": "#e15759",
}
DAYS = 14


@dataclass
class DayRow:
    day: date
    app_id: int
    app_name: str
    picks: int = 0
    stores: int = 0
    conversions: int = 0
    exports: int = 0
    deliveries: int = 0

    def count(self, metric: str) -> int:
        return getattr(self, metric)


def _since(today: date, days: int) -> datetime:
    return datetime.combine(today - timedelta(days=days - 1), time.min, tzinfo=UTC)


def daily(apps, *, days: int = DAYS, today: date | None = None) -> list[DayRow]:
    """One row per day and app that had any activity, newest day first."""
    today = today or timezone.now().date()
    since = _since(today, days)
    names = {app.pk: app.name for app in apps}
    rows: dict[tuple[date, int], DayRow] = {}

    def row(day: date, app_id: int) -> DayRow:
        return rows.setdefault((day, app_id), DayRow(day, app_id, names[app_id]))

    events = (
        Event.objects.filter(app__in=list(names), timestamp__gte=since)
        .annotate(day=TruncDate("timestamp"))
        .values("day", "app_id")
        .annotate(
            picks=Count("pk", filter=Q(action="fp.upload") & ~Q(text__has_key="key")),
            stores=Count("pk", filter=Q(action="fp.upload", text__has_key="key")),
            conversions=Count("pk", filter=Q(action="fp.converse")),
            exports=Count("pk", filter=Q(action="fp.export")),
        )
    )
    for item in events:
        target = row(item["day"], item["app_id"])
        for metric in ("picks", "stores", "conversions", "exports"):
            setattr(target, metric, item[metric])
    deliveries = (
        Delivery.objects.filter(event__app__in=list(names), event__timestamp__gte=since)
        .annotate(day=TruncDate("event__timestamp"))
        .values("day", "event__app_id")
        .annotate(n=Count("pk"))
    )
    for item in deliveries:
        row(item["day"], item["event__app_id"]).deliveries = item["n"]
    return sorted(rows.values(), key=lambda r: (r.day, r.app_name), reverse=True)


@dataclass(frozen=True)
class Bar:
    metric: str
    label: str
    day: date
    count: int
    x: float
    y: float
    width: float
    height: float
    colour: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    days: list[tuple[date, float]]  # each day and the x of its label
    maximum: int
    totals: dict[str, int]


def chart(rows: list[DayRow], *, days: int = DAYS, today: date | None = None) -> Chart:
    """Grouped bars (one group per day, one bar per metric) as SVG geometry."""
    today = today or timezone.now().date()
    span = [today - timedelta(days=offset) for offset in range(days - 1, -1, -1)]
    per_day = {day: {metric: 0 for metric, _ in METRICS} for day in span}
    for row in rows:
        if row.day in per_day:
            for metric, _ in METRICS:
                per_day[row.day][metric] += row.count(metric)
    maximum = max([1, *(n for counts in per_day.values() for n in counts.values())])
    width, height, top, bottom, left = 760, 220, 10, 30, 30
    group = (width - left) / days
    bar = (group - 6) / len(METRICS)
    plot = height - top - bottom
    bars, labels = [], []
    for index, day in enumerate(span):
        x0 = left + index * group + 3
        labels.append((day, x0 + (group - 6) / 2))
        for position, (metric, label) in enumerate(METRICS):
            count = per_day[day][metric]
            h = plot * count / maximum
            bars.append(
                Bar(
                    metric,
                    label,
                    day,
                    count,
                    round(x0 + position * bar, 1),
                    round(top + plot - h, 1),
                    round(bar - 1, 1),
                    round(h, 1),
                    COLOURS[metric],
                )
            )
    totals = {metric: sum(per_day[d][metric] for d in span) for metric, _ in METRICS}
    return Chart(width, height, bars, labels, maximum, totals)


@dataclass(frozen=True)
class Budget:
    label: str
    spent: int
    limit: int

    @property
    def percent(self) -> float:
        return round(100 * self.spent / self.limit, 1) if self.limit else 100.0

    @property
    def bar_width(self) -> float:
        return round(min(self.percent, 100) * 4, 1)  # of a 400 px gauge


def flickr_budget(app) -> Budget:
    key, _ = flickr_keys(app)
    own = app.provider_credentials.filter(provider="flickr").exists()
    label = "this app's own Flickr key" if own else "the instance's Flickr key (shared)"
    return Budget(label, limits.spent("flickr", key), settings.OPENPICKER_FLICKR_CALLS_PER_HOUR)
