"""picker.queries.Lookup: compiled once, and what it returns is what the ORM's .first() returns."""

import pytest
from django.db.models.sql.compiler import SQLCompiler

from conversions.models import Rendition
from picker.models import FileLink
from picker.queries import Lookup


def fields(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


def renditions(source, version, spec):
    return Rendition.objects.filter(source_id=source, version=version, spec=spec)[:1]


def test_several_values_reach_their_own_placeholders(app):
    link = FileLink.objects.create(app=app, filename="a.jpg", version=3)
    other = FileLink.objects.create(app=app, filename="b.jpg", version=3)
    for source, spec in [(link, "resize=width:10"), (other, "resize=width:20")]:
        Rendition.objects.create(source=source, version=3, spec=spec, key=f"k/{spec}")
    lookup = Lookup(renditions, source=2_147_480_001, version=2_147_480_002, spec="?")

    got = lookup.first(source=other.pk, version=3, spec="resize=width:20")
    want = Rendition.objects.get(source=other, spec="resize=width:20")
    assert fields(got) == fields(want)
    assert got.queued_at.tzinfo is not None  # the database's converters ran
    assert not got._state.adding and got._state.db == "default"
    # Each value to its own column: swapping any of them finds nothing.
    assert lookup.first(source=link.pk, version=3, spec="resize=width:20") is None
    assert lookup.first(source=other.pk, version=4, spec="resize=width:20") is None
    assert lookup.first(source=link.pk, version=3, spec="resize=width:10").source_id == link.pk


def test_the_sql_is_compiled_once_per_database(app, monkeypatch):
    link = FileLink.objects.create(app=app, filename="a.jpg")
    lookup = Lookup(lambda handle: FileLink.objects.filter(handle=handle), handle="?")
    calls = []
    compile_sql = SQLCompiler.as_sql

    def counting(self, *args, **kwargs):
        calls.append(self)
        return compile_sql(self, *args, **kwargs)

    monkeypatch.setattr(SQLCompiler, "as_sql", counting)
    for _ in range(5):
        assert lookup.first(handle=link.handle).pk == link.pk
    assert len(calls) == 1


def test_select_related_builds_the_related_instances(app):
    link = FileLink.objects.create(app=app, filename="a.jpg")
    lookup = Lookup(
        lambda handle: FileLink.objects.select_related("app", "storage_target").filter(
            handle=handle
        ),
        handle="?",
    )
    got = lookup.first(handle=link.handle)
    assert fields(got.app) == fields(app)
    assert got.app.secret == app.secret  # decrypted by the field's converter
    assert got.storage_target is None  # a null foreign key, cached as None
    assert FileLink.app.is_cached(got) and FileLink.storage_target.is_cached(got)


@pytest.mark.parametrize(
    "examples",
    [
        {"handle": "?", "spare": "!"},  # a value that is not in the query
        {"handle": "?", "again": "?"},  # two names for one value
    ],
)
def test_examples_must_name_each_parameter_once(examples, db):
    lookup = Lookup(lambda handle, **_: FileLink.objects.filter(handle=handle), **examples)
    with pytest.raises(ValueError):
        lookup.first(**examples)


def test_annotations_are_refused(db):
    from django.db.models import Value

    lookup = Lookup(
        lambda handle: FileLink.objects.filter(handle=handle).annotate(one=Value(1)), handle="?"
    )
    with pytest.raises(ValueError):
        lookup.first(handle="x")


def test_the_placeholders_are_named_so_sqlite_maps_them_without_a_regex(
    app, django_assert_num_queries
):
    link = FileLink.objects.create(app=app, filename="100%.jpg")
    lookup = Lookup(renditions, source=2_147_480_001, version=2_147_480_002, spec="?")
    Rendition.objects.create(source=link, version=link.version, spec="a%s%%b", key="k")
    with django_assert_num_queries(1):  # the debug cursor logs a statement with named values
        got = lookup.first(source=link.pk, version=link.version, spec="a%s%%b")
    assert got.spec == "a%s%%b"
    sql = lookup._plans["default"].sql
    assert "%s" not in sql.replace("%%", "")
    assert all(f"%({name})s" in sql for name in ("source", "version", "spec"))
