"""`manage.py rotate_keys`: re-encrypt stored secrets with the newest OPENPICKER_ENCRYPTION_KEYS."""

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from picker.crypto import EncryptedTextField


class Command(BaseCommand):
    help = "Re-encrypt every encrypted column with the newest encryption key."

    def handle(self, *args, **options):
        total = 0
        for model in apps.get_models():
            fields = [f.name for f in model._meta.fields if isinstance(f, EncryptedTextField)]
            if not fields:
                continue
            with transaction.atomic():
                for row in model.objects.select_for_update().only("pk", *fields):
                    # Loading decrypted with any key; saving encrypts with the newest one.
                    row.save(update_fields=fields)
                    total += 1
        self.stdout.write(f"re-encrypted {total} rows")
