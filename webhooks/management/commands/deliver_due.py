"""`manage.py deliver_due [--now ISO-8601] [--inline]`: run the webhook sweeper once."""

from datetime import UTC

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from webhooks import delivery


class Command(BaseCommand):
    help = "Claim due and orphaned webhook deliveries and queue an attempt for each."

    def add_arguments(self, parser):
        parser.add_argument(
            "--now", help="as if the time were this (ISO-8601); attempts are dated so too"
        )
        parser.add_argument(
            "--inline", action="store_true", help="make the attempts here instead of queueing"
        )

    def handle(self, *args, now, inline, **options):
        at = None
        if now:
            at = parse_datetime(now)
            if at is None:
                raise CommandError(f"--now: {now!r} is not an ISO-8601 date and time")
            if timezone.is_naive(at):
                at = timezone.make_aware(at, UTC)
        run = delivery.run_inline if inline else delivery.enqueue
        count = delivery.deliver_due(at, driven=at is not None, run=run)
        self.stdout.write(f"{count} deliveries claimed")
