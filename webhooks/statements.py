"""The delivery path's SQL: the take and the record, written once per database, run bare.

Through the ORM an attempt cost six statements in nine round trips (the take's UPDATE, a
select_related get, then a transaction of SELECT … FOR UPDATE, an aggregate over the attempts,
an INSERT and an UPDATE): most of a delivery's time on PostgreSQL, spent compiling SQL and
waiting on the server (benchmarks/README.md). Here, on PostgreSQL, a scheduled attempt is two
autocommitted statements:

- take: `UPDATE delivery … FROM event, endpoint WHERE id, token, pending RETURNING` what the POST
  needs. The conditional UPDATE is what makes a claim taken once: of two copies of one message,
  the second finds the token cleared and posts nothing.
- record: `WITH moved AS (UPDATE delivery SET attempts_made = attempts_made + 1, <schedule> WHERE
  id [AND scheduled_attempts = seen] RETURNING …) INSERT INTO attempt … SELECT … FROM moved`.
  The UPDATE's row lock orders concurrent records, so each takes the next number; the attempt
  and the step of the schedule commit together, or neither does.

On PostgreSQL both run on a server-side-binding cursor, so psycopg prepares them once per
connection (after `prepare_threshold` runs, 5 by default; `None` in the database OPTIONS turns
it off, as a pooler in transaction mode needs), and both commit asynchronously
(`synchronous_commit` off for that transaction only, through `set_config(…, true)` in the
statement itself): the commit does not wait for the WAL flush. What that risks is the last
fraction of a second of takes and records if PostgreSQL itself crashes, never a half-written
row: a lost take or record leaves the lease to run out, the sweeper claims the delivery again,
and the receiver gets the event once more with the same id (at least once, as a worker killed
mid-attempt already does). Not having it costs a WAL flush per statement, two per delivery.

SQLite's RETURNING cannot name an UPDATE's FROM tables, nor has it DML in a WITH: there the
take is the UPDATE and a SELECT, and the record the UPDATE and the INSERT in one transaction
(in-process calls, no round trips). Values come back through the ORM's own converters (dates,
JSON, the encrypted secret), as picker/access.py does for the handle lookup.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from webhooks.models import Attempt, Delivery, Event, WebhookEndpoint

# What a take returns, in this order: the delivery's schedule, the event, the endpoint.
_TAKEN = (
    (Delivery, ("scheduled_attempts", "first_attempt_at")),
    (Event, ("id", "action", "timestamp", "text")),
    (WebhookEndpoint, ("url", "secret")),
)
_ATTEMPT_COLUMNS = ("trigger", "started_at", "duration_ms", "status_code", "error", "reply")
# A one-row FROM item that turns synchronous_commit off for the statement's own transaction.
_ASYNC_COMMIT = "(SELECT set_config('synchronous_commit', 'off', true)) AS async_commit"


def _run(connection: BaseDatabaseWrapper, sql: str, params) -> tuple | None:
    """Execute one statement and fetch its first row. PostgreSQL: on a server-side-binding
    cursor of Django's connection (psycopg prepares what runs repeatedly), errors mapped to
    Django's as its own cursors map them."""
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()
    import psycopg

    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


@dataclass(frozen=True)
class Taken:
    """A claim turned into the running attempt: what to POST, and the schedule it moves."""

    delivery_id: int
    scheduled_attempts: int
    first_attempt_at: datetime | None
    event: Event
    endpoint: WebhookEndpoint


def _fields():
    return [model._meta.get_field(name) for model, names in _TAKEN for name in names]


def _qualified(field) -> str:
    return f"{field.model._meta.db_table}.{field.column}"


@lru_cache(maxsize=4)
def _take_plan(alias: str) -> tuple[list[str], list[list]]:
    """The take's statements and, per returned column, the ORM's converters for its field."""
    connection = connections[alias]
    d, e, p = (model._meta.db_table for model, _ in _TAKEN)
    fields = _fields()
    lease = f"UPDATE {d} SET lease_token = '', lease_until = %s"  # noqa: S608 (names, not values)
    match = f"{d}.id = %s AND {d}.lease_token = %s AND {d}.status = 'pending'"
    if connection.vendor == "postgresql":
        returned = ", ".join(_qualified(f) for f in fields)
        statements = [
            f"{lease} FROM {e}, {p}, {_ASYNC_COMMIT} WHERE {match} AND {e}.id = {d}.event_id "
            f"AND {p}.id = {d}.endpoint_id RETURNING {returned}"
        ]
    else:
        own = ", ".join(f.column for f in fields[:2])
        joined = ", ".join(_qualified(f) for f in fields[2:])
        statements = [
            f"{lease} WHERE {match} RETURNING {own}, event_id, endpoint_id",
            f"SELECT {joined} FROM {e}, {p} WHERE {e}.id = %s AND {p}.id = %s",  # noqa: S608
        ]
    converters = []
    for field in fields:
        column = field.get_col(field.model._meta.db_table)
        converters.append(
            connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        )
    return statements, converters


def _convert(values, converters, connection) -> list:
    converted = []
    for value, functions in zip(values, converters, strict=True):
        for function in functions:
            value = function(value, None, connection)
        converted.append(value)
    return converted


def take(delivery_id: int, token: str, lease_until: datetime, alias=DEFAULT_DB_ALIAS):
    """Take a claim (clear its token, hold the lease on): what to POST, or None if not ours."""
    if not token:  # a taken claim's token is "": nothing may take it again
        return None
    connection = connections[alias]
    statements, converters = _take_plan(alias)
    until = connection.ops.adapt_datetimefield_value(lease_until)
    row = _run(connection, statements[0], (until, delivery_id, token))
    if row is not None and len(statements) > 1:
        joined = _run(connection, statements[1], row[2:])
        row = None if joined is None else (*row[:2], *joined)
    if row is None:
        return None
    scheduled, first, *rest = _convert(row, converters, connection)
    event = Event.from_db(alias, ["id", "action", "timestamp", "text"], rest[:4])
    endpoint = WebhookEndpoint.from_db(alias, ["url", "secret"], rest[4:])
    return Taken(delivery_id, scheduled, first, event, endpoint)


@lru_cache(maxsize=4)
def _typed_placeholders(alias: str) -> str:
    """The attempt's values as typed parameters: a server-side parameter in a SELECT list would
    otherwise be text (and a NULL status code text, which an integer column refuses)."""
    connection = connections[alias]
    types = (Attempt._meta.get_field(name).db_type(connection) for name in _ATTEMPT_COLUMNS)
    return ", ".join(f"%s::{db_type}" for db_type in types)


@dataclass(frozen=True)
class Step:
    """How recording an attempt moves its delivery: SET clauses (with parameters), a condition."""

    sets: tuple[tuple[str, tuple], ...] = ()
    # Only when the delivery still has this many scheduled attempts (None: whatever it has).
    scheduled_attempts: int | None = None


DELIVERED = Delivery.Status.DELIVERED.value
_KEEP_DELIVERED = f"CASE WHEN status = '{DELIVERED}' THEN {{}} ELSE %s END"


def schedule_step(fields: dict, seen: int) -> Step:
    """The step of `Delivery.next_after`'s fields, unless another copy recorded it first.

    A manual attempt that succeeded first keeps the delivery delivered (and nothing next); the
    lease is released.
    """
    next_at = fields["next_attempt_at"]
    return Step(
        sets=(
            ("scheduled_attempts = %s", (fields["scheduled_attempts"],)),
            ("first_attempt_at = %s", (fields["first_attempt_at"],)),
            ("status = " + _KEEP_DELIVERED.format("status"), (fields["status"],)),
            ("next_attempt_at = " + _KEEP_DELIVERED.format("NULL"), (next_at,))
            if next_at is not None
            else ("next_attempt_at = NULL", ()),
            ("lease_until = NULL, lease_token = ''", ()),
        ),
        scheduled_attempts=seen,
    )


DELIVERED_STEP = Step(sets=((f"status = '{DELIVERED}', next_attempt_at = NULL", ()),))
NO_STEP = Step()


def record(
    delivery_id: int, attempt: dict, step: Step, alias=DEFAULT_DB_ALIAS
) -> tuple[int, int] | None:
    """Store one attempt (its number the delivery's next) and the step; (attempt id, number).

    None when the delivery does not exist, or `step.scheduled_attempts` no longer holds (then
    nothing was written).
    """
    connection = connections[alias]
    d, a = Delivery._meta.db_table, Attempt._meta.db_table
    adapt = connection.ops.adapt_datetimefield_value
    sets = "".join(f", {clause}" for clause, _ in step.sets)
    values = [adapt(v) if isinstance(v, datetime) else v for _, vs in step.sets for v in vs]
    where, where_values = "id = %s", [delivery_id]
    if step.scheduled_attempts is not None:
        where += " AND scheduled_attempts = %s"
        where_values.append(step.scheduled_attempts)
    moved = f"UPDATE {d} SET attempts_made = attempts_made + 1{sets} WHERE {where}"  # noqa: S608
    columns = ", ".join(_ATTEMPT_COLUMNS)
    row = [adapt(v) if isinstance(v, datetime) else v for v in map(attempt.get, _ATTEMPT_COLUMNS)]
    placeholders = ", ".join(["%s"] * len(row))
    if connection.vendor == "postgresql":
        insert = f"INSERT INTO {a} (delivery_id, number, {columns}) SELECT id, attempts_made"
        sql = f"WITH moved AS ({moved} RETURNING id, attempts_made) {insert}, "
        sql += _typed_placeholders(alias)
        return _run(
            connection,
            f"{sql} FROM moved, {_ASYNC_COMMIT} RETURNING id, number",
            (*values, *where_values, *row),
        )
    with transaction.atomic(using=alias), connection.cursor() as cursor:
        cursor.execute(f"{moved} RETURNING attempts_made", (*values, *where_values))
        got = cursor.fetchone()
        if got is None:
            return None
        insert = f"INSERT INTO {a} (delivery_id, number, {columns}) VALUES (%s, %s, {placeholders})"  # noqa: S608, E501
        cursor.execute(f"{insert} RETURNING id", (delivery_id, got[0], *row))
        return cursor.fetchone()[0], got[0]
