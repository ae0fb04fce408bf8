"""Hot queries compiled once: the ORM builds the SQL, each request only executes it.

Every read, metadata and conversion request starts with the same one-row lookups. Run through
the ORM each time (filter + select_related + first) they cost more to compile than to execute:
60-70 % of a metadata request went to building the same SQL again, and the cached rendition's
existing-row query was about 40 % of its Python time (benchmarks/README.md). A `Lookup` asks
the ORM for the SQL once per database, with example values standing in for the real ones, and
turns each row into instances the way the ORM's own iterator does (its column converters,
`Model.from_db`, its select_related populators), so what comes back is what `.first()` gives.

The values are passed to the database as given, so a Lookup is for plain columns (text,
integers) whose values need no preparation by their field; each example must be a value that
appears once in the compiled parameters, which is checked when the plan is built.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model, QuerySet
from django.db.models.base import ModelState
from django.db.models.query import RelatedPopulator, get_related_populators
from django.db.models.query_utils import DeferredAttribute
from django.db.models.signals import post_init, pre_init


@dataclass(frozen=True)
class _Plan:
    sql: str  # with named placeholders: %(name)s, one per example
    converters: tuple[tuple[int, tuple[Callable, ...], Any], ...]
    model: type[Model]
    init_list: tuple[str, ...]
    start: int
    end: int
    populators: tuple
    plain: bool  # every model of the row can be built without Model.__init__ (see _build)


class Lookup:
    """`build(**values)` is a queryset; `first(**values)` is `build(**values).first()`."""

    def __init__(self, build: Callable[..., QuerySet], **examples: Any) -> None:
        self._build = build
        self._examples = examples
        self._plans: dict[str, _Plan] = {}
        self._lock = threading.Lock()

    def first(self, alias: str = DEFAULT_DB_ALIAS, **values: Any) -> Model | None:
        plan = self._plans.get(alias) or self._plan(alias)
        connection = connections[alias]
        if _plain_connection(connection):
            # What connection.cursor() would wrap, without the wrapping (see _plain_connection).
            with connection.wrap_database_errors:
                cursor = connection.create_cursor()
                try:
                    cursor.execute(plan.sql, values)
                    row = cursor.fetchone()
                finally:
                    cursor.close()
        else:
            with connection.cursor() as cursor:
                cursor.execute(plan.sql, values)
                row = cursor.fetchone()
        if row is None:
            return None
        if plan.converters:
            row = list(row)
            for position, functions, expression in plan.converters:
                for function in functions:
                    row[position] = function(row[position], expression, connection)
        if plan.plain and not (pre_init.receivers or post_init.receivers):
            build, populate = _build, _populate
        else:
            build, populate = _from_db, RelatedPopulator.populate
        instance = build(plan.model, alias, plan.init_list, row[plan.start : plan.end])
        for populator in plan.populators:
            populate(populator, row, instance)
        return instance

    def _plan(self, alias: str) -> _Plan:
        with self._lock:
            if alias in self._plans:
                return self._plans[alias]
            queryset = self._build(**self._examples)
            compiler = queryset.query.get_compiler(alias)
            sql, params = compiler.as_sql()
            order = []
            for param in params:
                names = [name for name, example in self._examples.items() if example == param]
                if len(names) != 1:
                    raise ValueError(f"parameter {param!r} is not exactly one example value")
                order.append(names[0])
            if sorted(order) != sorted(self._examples):
                raise ValueError("each example value must appear once in the compiled query")
            if compiler.annotation_col_map:
                raise ValueError("a Lookup builds model instances only, without annotations")
            select, klass_info = compiler.select, compiler.klass_info
            fields = [expression for expression, _, _ in select[: compiler.col_count]]
            fields_at = klass_info["select_fields"]
            start, end = fields_at[0], fields_at[-1] + 1
            init_list = tuple(column.target.attname for column, _, _ in select[start:end])
            populators = tuple(get_related_populators(klass_info, select, alias))
            plan = _Plan(
                sql=_named(sql, order),
                converters=tuple(
                    (position, tuple(functions), expression)
                    for position, (functions, expression) in compiler.get_converters(fields).items()
                ),
                model=klass_info["model"],
                init_list=init_list,
                start=start,
                end=end,
                populators=populators,
                plain=_plain(klass_info["model"], init_list)
                and all(_plain_populator(populator) for populator in populators),
            )
            self._plans[alias] = plan
            return plan


def _plain_connection(connection) -> bool:
    """Whether a cursor of Django's own would add nothing but its cost to one query.

    connection.cursor() checks the connection's health and thread, opens it when needed, then
    wraps the driver's cursor so that every call is checked for an event loop, run through the
    execute wrappers, logged when queries are logged, and has its errors mapped: about 50,000
    instructions a query (3 % of a 2 KiB read, benchmarks/count_api.py). When the connection is
    open, healthy, this thread's, not in a failed transaction, with nobody logging or wrapping
    queries, all that remains is the error mapping, which the caller keeps. Otherwise Django's
    cursor does it all (assertNumQueries and the debug toolbar see the query as before).
    """
    return (
        connection.connection is not None
        and not connection.queries_logged
        and not connection.execute_wrappers
        and not connection.needs_rollback
        and (connection.health_check_done or not connection.health_check_enabled)
        and connection._thread_ident == threading.get_ident()
    )


def _plain(model: type[Model], init_list: tuple[str, ...]) -> bool:
    """Whether `_build` makes what `model.from_db` would: the model keeps Django's own
    `from_db` and `__init__`, the row holds its primary key and concrete fields in their order
    (those missing are deferred: from_db leaves them out of the instance too), and each field's
    attribute on the class is one that stores its value as it comes."""
    loaded = set(init_list)
    return (
        model.from_db.__func__ is Model.from_db.__func__
        and model.__init__ is Model.__init__
        and model._meta.pk.attname in loaded
        and init_list
        == tuple(f.attname for f in model._meta.concrete_fields if f.attname in loaded)
        and all(type(model.__dict__.get(name)) in _STORING for name in init_list)
    )


def _plain_populator(populator: RelatedPopulator) -> bool:
    return (
        populator.reorder_for_init is None
        and _plain(populator.model_cls, tuple(populator.init_list))
        and all(_plain_populator(nested) for nested in populator.related_populators)
    )


def _storing_attributes() -> frozenset[type]:
    from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute

    return frozenset({DeferredAttribute, ForeignKeyDeferredAttribute})


# A DeferredAttribute only reads; a ForeignKeyDeferredAttribute's __set__ also drops a cached
# related object, of which a new instance has none: storing in __dict__ is the same.
_STORING = _storing_attributes()


def deferring(model: type[Model], keep: frozenset[str], prefix: str = "") -> list[str]:
    """The names to pass to `.defer()` so that only `keep` of `model`'s fields are loaded
    (`prefix`: the path to the model in a select_related query, e.g. "source__")."""
    return [
        f"{prefix}{field.name}" for field in model._meta.concrete_fields if field.name not in keep
    ]


def _from_db(model: type[Model], alias: str, init_list: tuple[str, ...], values) -> Model:
    return model.from_db(alias, init_list, values)


def _build(model: type[Model], alias: str, init_list: tuple[str, ...], values) -> Model:
    """`model.from_db(alias, init_list, values)` for a `_plain` model with no init signals.

    Model.__init__ walks the fields one setattr at a time and sends pre_init and post_init (no
    receivers here): a quarter of the handle lookup's Python time for its three models.
    """
    instance = model.__new__(model)
    state = instance._state = ModelState()
    state.adding = False
    state.db = alias
    instance.__dict__.update(zip(init_list, values, strict=True))
    return instance


def _populate(populator: RelatedPopulator, row, parent: Model) -> None:
    """RelatedPopulator.populate with `_build` for its (plain) model."""
    values = row[populator.cols_start : populator.cols_end]
    if values[populator.pk_idx] is None:
        related = None
    else:
        related = _build(populator.model_cls, populator.db, populator.init_list, values)
        for nested in populator.related_populators:
            _populate(nested, row, related)
    populator.local_setter(parent, related)
    if related is not None:
        populator.remote_setter(related, parent)


_PLACEHOLDER = re.compile(r"%%|%s")


def _named(sql: str, order: list[str]) -> str:
    """The compiled SQL with its `%s` placeholders named after the values they take, in order.

    Django's SQLite backend turns `%s` into `?` with a regular expression over the whole
    statement on every execute (tens of µs for the three-table handle lookup, 247 -> 151 µs);
    named placeholders it maps with one `%` formatting, and PostgreSQL's drivers take them too.
    """
    names = iter(order)
    return _PLACEHOLDER.sub(
        lambda match: "%%" if match.group() == "%%" else f"%({next(names)})s", sql
    )
