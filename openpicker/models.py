"""Claims: named, time-bound exclusive rights to do a piece of periodic work.

Periodic jobs run from beat, once per deployment; an operator may start two beats by mistake,
and two nodes may each run one. A job that cannot make its work exclusive within one database
transaction (it calls a remote service between reading and writing) first claims each item:
`claim(name, seconds)` succeeds for exactly one caller until the claim's time is past.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import IntegrityError, models, transaction
from django.utils import timezone


class Claim(models.Model):
    name = models.CharField(max_length=200, unique=True)
    until = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} until {self.until:%Y-%m-%d %H:%M:%S}"


def claim(name: str, seconds: float, now=None) -> bool:
    """Take the claim `name` for `seconds`; False if someone holds it (atomic on SQLite and
    PostgreSQL: a conditional UPDATE of an expired claim, or the INSERT of a new one)."""
    now = now or timezone.now()
    until = now + timedelta(seconds=seconds)
    if Claim.objects.filter(name=name, until__lte=now).update(until=until):
        return True
    try:
        with transaction.atomic():
            Claim.objects.create(name=name, until=until)
        return True
    except IntegrityError:
        return False


def release(name: str) -> None:
    Claim.objects.filter(name=name).delete()
