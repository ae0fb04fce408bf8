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


def _with_app_and_target():
    return Lookup(
        lambda handle: FileLink.objects.select_related("app", "storage_target").filter(
            handle=handle
        ),
        handle="?",
    )


def _state(instance) -> dict:
    """Everything an instance holds: its fields, its related caches, its _state."""
    cache = instance._state.fields_cache
    return {
        "fields": fields(instance),
        "related": {name: _state(value) if value else value for name, value in cache.items()},
        "adding": instance._state.adding,
        "db": instance._state.db,
        "type": type(instance),
    }


def test_models_are_built_without_init_and_hold_what_from_db_gives(app, monkeypatch):
    from picker import queries
    from picker.models import StorageTarget

    target = StorageTarget.objects.create(
        app=app, bucket="b", region="eu-west-1", access_key_id="AK", secret_access_key="SK"
    )
    link = FileLink.objects.create(app=app, filename="a.jpg", storage_target=target)
    lookup = _with_app_and_target()
    assert lookup.first(handle=link.handle) is not None
    assert lookup._plans["default"].plain
    inits = []
    monkeypatch.setattr(queries.Model, "__init__", lambda *a, **k: inits.append(a))

    got = lookup.first(handle=link.handle)

    assert inits == []  # no model went through __init__
    monkeypatch.undo()
    want = FileLink.objects.select_related("app", "storage_target").get(handle=link.handle)
    assert _state(got) == _state(want)
    assert got.app.secret == app.secret and got.storage_target.pk == target.pk
    assert got.storage_target.app_id == app.pk  # a ForeignKey's column, stored as the ORM does
    got.app_id = app.pk  # the descriptors still work on a built instance
    assert got.app is got.app


def test_an_init_signal_receiver_gets_the_ordinary_from_db(app):
    from django.db.models.signals import post_init

    link = FileLink.objects.create(app=app, filename="a.jpg")
    lookup = _with_app_and_target()
    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(sender)

    post_init.connect(receiver)
    try:
        got = lookup.first(handle=link.handle)
    finally:
        post_init.disconnect(receiver)
    assert got.pk == link.pk
    assert seen == [FileLink, type(app)]  # the link, then its app (the null target: none)


def test_a_model_with_its_own_init_or_without_its_key_or_order_is_not_plain(monkeypatch):
    from picker import queries

    fields_in_order = tuple(f.attname for f in FileLink._meta.concrete_fields)
    assert queries._plain(FileLink, fields_in_order)
    assert queries._plain(FileLink, fields_in_order[:-1])  # deferred: left out, as from_db does
    assert not queries._plain(FileLink, fields_in_order[1:])  # no primary key
    assert not queries._plain(FileLink, fields_in_order[::-1])  # not the model's order
    with monkeypatch.context() as patched:
        patched.setattr(FileLink, "__init__", lambda self, *args: None)
        assert not queries._plain(FileLink, fields_in_order)


def test_deferred_fields_are_deferred_as_from_db_leaves_them(app):
    link = FileLink.objects.create(app=app, filename="a.jpg", sha256="ab" * 32)
    deferring = Lookup(
        lambda handle: (
            FileLink.objects.select_related("app")
            .defer("sha256", "app__name")
            .filter(handle=handle)
        ),
        handle="?",
    )
    got = deferring.first(handle=link.handle)
    assert deferring._plans["default"].plain
    want = FileLink.objects.select_related("app").defer("sha256", "app__name").get(pk=link.pk)
    assert got.get_deferred_fields() == want.get_deferred_fields() == {"sha256"}
    assert got.app.get_deferred_fields() == {"name"}
    assert _state(got) == _state(want)  # reading a deferred field loads it, on both
    assert got.sha256 == "ab" * 32


def test_an_open_quiet_connection_runs_the_query_on_the_drivers_cursor(app, monkeypatch):
    from django.db import DatabaseError, connection

    from picker import queries

    link = FileLink.objects.create(app=app, filename="a.jpg")
    lookup = _with_app_and_target()
    want = _state(lookup.first(handle=link.handle))  # Django's cursor (and the plan) first
    assert queries._plain_connection(connection)

    def refuse():
        raise AssertionError("Django's cursor was asked for")

    with monkeypatch.context() as patched:
        patched.setattr(connection, "cursor", refuse)
        assert _state(lookup.first(handle=link.handle)) == want
        assert lookup.first(handle="none-such-handle-x") is None
        # A driver's error still comes out as Django's, and marks the connection for its check.
        broken = Lookup(lambda handle: FileLink.objects.filter(handle=handle), handle="?")
        broken._plans["default"] = queries._Plan(
            **{**lookup._plans["default"].__dict__, "sql": "SELECT * FROM no_such_table"}
        )
        with pytest.raises(DatabaseError) as raised:
            broken.first(handle=link.handle)
        assert type(raised.value).__module__ == "django.db.utils"


def test_a_logged_wrapped_or_failed_connection_gets_djangos_cursor(app, django_assert_num_queries):
    from django.db import connection, transaction

    from picker import queries

    link = FileLink.objects.create(app=app, filename="a.jpg")
    lookup = _with_app_and_target()
    with django_assert_num_queries(1):  # the debug cursor logs it
        assert not queries._plain_connection(connection)
        assert lookup.first(handle=link.handle).pk == link.pk
    seen = []

    def wrapper(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        assert lookup.first(handle=link.handle).pk == link.pk
    assert len(seen) == 1
    with transaction.atomic():
        transaction.set_rollback(True)
        assert not queries._plain_connection(connection)
