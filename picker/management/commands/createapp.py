"""`manage.py createapp NAME [--owner EMAIL] [--security] [--origin URL ...]`."""

import json

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import URLValidator, validate_email
from django.db import transaction

from picker.models import App


class Command(BaseCommand):
    help = "Create an app and print its API key and secret as JSON."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--owner", help="owner's email; the user is created if missing")
        parser.add_argument(
            "--security", action="store_true", help="require a policy and signature on every call"
        )
        parser.add_argument(
            "--origin",
            action="append",
            default=[],
            help="an integrator origin allowed to open the dialog (repeatable)",
        )
        parser.add_argument(
            "--get-or-create",
            action="store_true",
            help="print the existing app of this name (and owner) if there is one",
        )

    def handle(self, *args, name, owner, security, origin, get_or_create, **options):
        origins = [_origin(value) for value in origin]
        with transaction.atomic():
            user = _owner(owner) if owner else None
            app = None
            if get_or_create:
                app = App.objects.filter(name=name, owner=user).order_by("pk").first()
            if app is None:
                app = App.objects.create(
                    name=name, owner=user, security_required=security, allowed_origins=origins
                )
        self.stdout.write(json.dumps({"apikey": app.apikey, "secret": app.secret}))


def _owner(email: str):
    try:
        validate_email(email)
    except ValidationError:
        raise CommandError(f"--owner: {email!r} is not an email address") from None
    user_model = get_user_model()
    user, _ = user_model.objects.get_or_create(
        username=email, defaults={"email": email, "is_active": True}
    )
    return user


def _origin(value: str) -> str:
    try:
        URLValidator(schemes=["http", "https"])(value)
    except ValidationError:
        raise CommandError(f"--origin: {value!r} is not an http(s) origin") from None
    return value.rstrip("/")
