"""`manage.py addwebhook APIKEY URL [--events all|fp.upload,fp.export,…]`."""

import json

from django.core.management.base import BaseCommand, CommandError

from picker.errors import PickerError
from picker.models import App
from webhooks.endpoints import add_endpoint


class Command(BaseCommand):
    help = 'Subscribe a URL to an app\'s events; prints {"id", "secret"} (the signing secret).'

    def add_arguments(self, parser):
        parser.add_argument("apikey")
        parser.add_argument("url")
        parser.add_argument("--events", default="all", help="all, or a comma-separated list")

    def handle(self, *args, apikey, url, events, **options):
        app = App.objects.filter(apikey=apikey).first()
        if app is None:
            raise CommandError("unknown API key")
        try:
            endpoint = add_endpoint(app, url, events)
        except PickerError as exc:
            raise CommandError(exc.detail) from None
        self.stdout.write(json.dumps({"id": endpoint.pk, "secret": endpoint.secret}))
