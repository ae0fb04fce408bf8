"""access.filelink_for: the precompiled lookup gives what the ORM's select_related query gives."""

import pytest
from django.utils import timezone

from picker import access
from picker.errors import NotFound
from picker.models import App, FileLink, StorageTarget


def fields(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


def orm(handle: str) -> FileLink:
    return FileLink.objects.select_related("app", "storage_target").get(handle=handle)


def test_lookup_matches_the_orm_with_and_without_a_storage_target(app, make_app):
    own = make_app("own", security_required=True, allowed_origins=["https://a.example"])
    target = StorageTarget.objects.create(
        app=own, bucket="b", region="eu-west-1", access_key_id="AKIA", secret_access_key="s3cr3t"
    )
    plain = FileLink.objects.create(app=app, filename="a.txt", size=3, md5="0" * 32, width=4)
    stored = FileLink.objects.create(
        app=own, filename="b.bin", storage_target=target, key="k/b.bin", size=None
    )
    for link in (plain, stored):
        got, want = access.filelink_for(link.handle), orm(link.handle)
        assert fields(got) == fields(want)
        assert fields(got.app) == fields(want.app)
        assert got.storage_target == want.storage_target
        if want.storage_target is not None:
            assert fields(got.storage_target) == fields(want.storage_target)
        assert got.app.secret == App.objects.get(pk=got.app_id).secret  # decrypted
        assert not got._state.adding
    assert access.filelink_for(stored.handle).storage_target.secret_access_key == "s3cr3t"
    assert access.filelink_for(plain.handle).created_at.tzinfo is not None
    assert access.filelink_for(stored.handle).app.allowed_origins == ["https://a.example"]
    assert access.filelink_for(stored.handle).app.security_required is True


def test_lookup_refuses_unknown_and_deleted_handles(app):
    link = FileLink.objects.create(app=app, filename="a.txt")
    with pytest.raises(NotFound):
        access.filelink_for("A" * 20)
    FileLink.objects.filter(pk=link.pk).update(deleted_at=timezone.now())
    with pytest.raises(NotFound):
        access.filelink_for(link.handle)


def test_a_saved_lookup_result_updates_its_row(app):
    link = access.filelink_for(FileLink.objects.create(app=app, filename="a.txt").handle)
    link.filename = "b.txt"
    link.save()
    assert FileLink.objects.get(pk=link.pk).filename == "b.txt"
    assert FileLink.objects.count() == 1
