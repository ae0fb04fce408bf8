"""python manage.py flickr_downsync CONNECTION_ID --dir PATH [--remove-deleted]"""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from providers.flickr.downsync import downsync
from providers.models import ProviderConnection

BAR = 30


class Command(BaseCommand):
    help = (
        "Mirror a Flickr connection's photos (originals, a few sizes, metadata) and albums into"
        " a folder; a second run fetches only what changed."
    )

    def add_arguments(self, parser):
        parser.add_argument("connection_id", type=int)
        parser.add_argument("--dir", required=True, type=Path, help="the folder to mirror into")
        parser.add_argument(
            "--remove-deleted",
            action="store_true",
            help="delete the files of photos that are no longer on Flickr",
        )

    def handle(self, *args, **options):
        connection = (
            ProviderConnection.objects.select_related("app")
            .filter(pk=options["connection_id"], provider="flickr")
            .first()
        )
        if connection is None:
            raise CommandError(f"no Flickr connection {options['connection_id']}")
        summary = downsync(
            connection,
            options["dir"],
            remove_deleted=options["remove_deleted"],
            progress=self._bar if options["verbosity"] > 0 else None,
        )
        self.stderr.write("")
        self.stdout.write(
            f"{summary.photos} photos: {len(summary.downloaded)} downloaded"
            f" ({summary.files_fetched} files), {summary.unchanged} unchanged,"
            f" {len(summary.removed)} removed"
        )

    def _bar(self, done: int, total: int) -> None:
        filled = BAR * done // max(total, 1)
        self.stderr.write(
            f"\r[{'#' * filled}{' ' * (BAR - filled)}] {done}/{total} photos", ending=""
        )
        sys.stderr.flush()
