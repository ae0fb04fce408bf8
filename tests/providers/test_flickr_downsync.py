"""python manage.py flickr_downsync against the sandbox Flickr: a mirror, then only changes."""

import io
import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from PIL import Image

from providers import limits
from providers.flickr.provider import FlickrProvider
from providers.models import ProviderConnection
from providers.sandbox.models import FlickrUpload
from tests.providers.test_cloud_folder_list import connected_token

pytestmark = pytest.mark.django_db(transaction=True)


def run(connection, folder, *flags) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "flickr_downsync", str(connection.pk), "--dir", str(folder), *flags, stdout=out, stderr=err
    )
    return out.getvalue().strip(), err.getvalue()


def snapshot(folder) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in (folder / "photos").iterdir()}


def test_downsync_twice_then_changes_and_pruning(flickr_sandbox, sandbox_api, app, tmp_path):
    connected_token(sandbox_api, app, perms="write")
    limits.forget("flickr", settings.OPENPICKER_FLICKR_KEY)
    connection = ProviderConnection.objects.get()

    first, bar = run(connection, tmp_path)
    assert first == "36 photos: 36 downloaded (144 files), 0 unchanged, 0 removed"
    assert "36/36 photos" in bar
    with Image.open(tmp_path / "photos" / "50000000001_o.jpg") as original:
        assert original.size == (1600, 1200)
    with Image.open(tmp_path / "photos" / "50000000001_q.jpg") as square:
        assert square.size == (150, 150)
    meta = json.loads((tmp_path / "photos" / "50000000001.json").read_text())
    assert meta["title"] == "Sandbox photo 01"
    albums = json.loads((tmp_path / "albums.json").read_text())
    assert [(a["title"], len(a["photos"])) for a in albums] == [
        ("Mountains", 12),
        ("Sea", 12),
        ("City", 12),
    ]
    before = snapshot(tmp_path)

    second, _ = run(connection, tmp_path)
    assert second == "36 photos: 0 downloaded (0 files), 36 unchanged, 0 removed"
    assert snapshot(tmp_path) == before  # nothing rewritten

    image = io.BytesIO()
    Image.new("RGB", (64, 48), (0, 90, 200)).save(image, "JPEG")
    new = FlickrProvider().export(connection, image.getvalue(), "blue.jpg")
    third, _ = run(connection, tmp_path)
    assert third == "37 photos: 1 downloaded (4 files), 36 unchanged, 0 removed"
    assert (tmp_path / "photos" / f"{new['id']}_o.jpg").read_bytes() == image.getvalue()

    upload = FlickrUpload.objects.get()
    FlickrUpload.objects.filter(pk=upload.pk).update(updated=upload.updated + timedelta(hours=1))
    changed, _ = run(connection, tmp_path)
    assert changed == "37 photos: 1 downloaded (4 files), 36 unchanged, 0 removed"

    (tmp_path / "photos" / "50000000002_z.jpg").unlink()  # a file lost locally is fetched again
    assert run(connection, tmp_path)[0].startswith("37 photos: 1 downloaded (4 files)")

    upload.delete()  # gone from Flickr
    kept, _ = run(connection, tmp_path)
    assert kept == "36 photos: 0 downloaded (0 files), 36 unchanged, 0 removed"
    assert (tmp_path / "photos" / f"{new['id']}_o.jpg").exists()
    pruned, _ = run(connection, tmp_path, "--remove-deleted")
    assert pruned == "36 photos: 0 downloaded (0 files), 36 unchanged, 1 removed"
    assert not list((tmp_path / "photos").glob(f"{new['id']}*"))
    assert len(list((tmp_path / "photos").iterdir())) == 36 * 5


def test_unknown_connection_is_an_error(db, tmp_path):
    with pytest.raises(CommandError, match="no Flickr connection"):
        call_command("flickr_downsync", "999999", "--dir", str(tmp_path))
