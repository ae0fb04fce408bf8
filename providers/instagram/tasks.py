"""Instagram's periodic task: refresh long-lived tokens before they expire (beat, hourly)."""

from celery import shared_task


@shared_task(name="providers.instagram.refresh_tokens")
def refresh_tokens() -> dict:
    from providers.instagram.provider import refresh_expiring

    return refresh_expiring()
