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
from django.db.models.query import get_related_populators


@dataclass(frozen=True)
class _Plan:
    sql: str  # with named placeholders: %(name)s, one per example
    converters: tuple[tuple[int, tuple[Callable, ...], Any], ...]
    model: type[Model]
    init_list: tuple[str, ...]
    start: int
    end: int
    populators: tuple


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
        instance = plan.model.from_db(alias, plan.init_list, row[plan.start : plan.end])
        for populator in plan.populators:
            populator.populate(row, instance)
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
            plan = _Plan(
                sql=_named(sql, order),
                converters=tuple(
                    (position, tuple(functions), expression)
                    for position, (functions, expression) in compiler.get_converters(fields).items()
                ),
                model=klass_info["model"],
                init_list=tuple(column.target.attname for column, _, _ in select[start:end]),
                start=start,
                end=end,
                populators=tuple(get_related_populators(klass_info, select, alias)),
            )
            self._plans[alias] = plan
            return plan


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
