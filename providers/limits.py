"""The hourly call budget per provider API key, shared by every user and every process.

Redis (CACHE_URL=redis://…): an INCR per key and hour window. Otherwise a database row per key
and window, spent with a conditional UPDATE (count < limit), atomic on SQLite and PostgreSQL.
Over budget → ProviderBusy (429) before anything is sent to the provider.
"""

import time

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F

from providers.errors import ProviderError
from providers.models import CallBudget, digest

WINDOW = 3600


class ProviderBusy(ProviderError):
    status = 429
    code = "provider_rate_limited"

    def __init__(self, detail: str, retry_after: int):
        super().__init__(detail)
        self.retry_after = retry_after


def _uses_redis() -> bool:
    return "redis" in settings.CACHES["default"]["BACKEND"].lower()


def redis_name(key: str, window: int) -> str:
    return f"openpicker:budget:{key}:{window}"


def forget(provider: str, api_key: str, now: float | None = None) -> None:
    """Drop this hour's count for a key (tests, operators)."""
    window = int((time.time() if now is None else now) // WINDOW)
    key = digest(f"{provider}:{api_key}")
    cache.delete(redis_name(key, window))
    CallBudget.objects.filter(key_digest=key, window=window).delete()


def spent(provider: str, api_key: str, now: float | None = None) -> int:
    """Calls counted against a key in the current hour window (the portal's usage page)."""
    window = int((time.time() if now is None else now) // WINDOW)
    key = digest(f"{provider}:{api_key}")
    if _uses_redis():
        return int(cache.get(redis_name(key, window)) or 0)
    row = CallBudget.objects.filter(key_digest=key, window=window).first()
    return row.count if row else 0


def spend(provider: str, api_key: str, limit: int, now: float | None = None) -> None:
    """Count one call against the key's budget for this hour, or raise ProviderBusy."""
    now = time.time() if now is None else now
    window = int(now // WINDOW)
    key = digest(f"{provider}:{api_key}")
    if _uses_redis():
        name = redis_name(key, window)
        cache.add(name, 0, timeout=WINDOW + 60)
        allowed = cache.incr(name) <= limit
    else:
        allowed = _spend_row(key, window, limit)
    if not allowed:
        retry_after = max(1, int((window + 1) * WINDOW - now))
        raise ProviderBusy(
            f"the {provider} API budget of {limit} calls an hour is spent;"
            f" retry in {retry_after} s",
            retry_after,
        )


def _spend_row(key: str, window: int, limit: int) -> bool:
    rows = CallBudget.objects.filter(key_digest=key, window=window, count__lt=limit)
    if rows.update(count=F("count") + 1):
        return True
    try:
        with transaction.atomic():
            CallBudget.objects.create(key_digest=key, window=window, count=1)
        return limit >= 1
    except IntegrityError:
        # The row exists (full, or made by another process meanwhile): one more try.
        return bool(rows.update(count=F("count") + 1))
