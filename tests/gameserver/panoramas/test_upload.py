"""Importing a set from a zip, directly and through the admin's upload form (admins only)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from gameserver.panoramas.models import Panorama, PanoramaSet
from gameserver.panoramas.services import PanoramaImportError, panorama_set_import_zip

pytestmark = pytest.mark.django_db

UPLOAD_URL = "/admin/panoramas/panoramaset/upload/"


def zip_of(folder: Path, *, prefix: str = "", extra: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                bundle.write(path, prefix + path.relative_to(folder).as_posix())
        for name, data in (extra or {}).items():
            bundle.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture
def two_photos(source) -> Path:
    source.manifest([
        {"file": source.image("a.jpg", seed=1), "latitude": 48.85, "longitude": 2.35},
        {"file": source.image("b/c.png", seed=2), "latitude": -1.29, "longitude": 36.82},
    ])
    return source.root


def test_a_zip_with_a_top_folder_imports_whole(two_photos, tmp_storage, stored_files):
    report = panorama_set_import_zip(archive=io.BytesIO(zip_of(two_photos, prefix="myset/")), name="zipped")
    assert report.count == 2 and len(stored_files()) == 2
    assert set(Panorama.objects.values_list("country", flat=True)) == {"FR", "KE"}


@pytest.mark.parametrize("name,data,reason", [
    ("../evil.jpg", b"x", "leaves the archive"),
    ("/etc/evil.jpg", b"x", "leaves the archive"),
    ("a/../../evil.jpg", b"x", "leaves the archive"),
])
def test_path_traversal_is_refused_before_extracting(name, data, reason, two_photos, tmp_storage, stored_files,
                                                     tmp_path):
    archive = zip_of(two_photos, extra={name: data})
    with pytest.raises(PanoramaImportError) as caught:
        panorama_set_import_zip(archive=io.BytesIO(archive), name="evil")
    assert any(reason in problem for problem in caught.value.problems)
    assert not (tmp_path / "evil.jpg").exists() and not Path("/etc/evil.jpg").exists()
    assert not PanoramaSet.objects.exists() and stored_files() == []


def test_a_symlink_entry_is_refused(two_photos, tmp_storage):
    buffer = io.BytesIO(zip_of(two_photos))
    with zipfile.ZipFile(buffer, "a") as bundle:
        link = zipfile.ZipInfo("link.jpg")
        link.external_attr = (0o120777 << 16)  # S_IFLNK
        bundle.writestr(link, "/etc/passwd")
    with pytest.raises(PanoramaImportError, match="not a regular file"):
        panorama_set_import_zip(archive=io.BytesIO(buffer.getvalue()), name="links")


def test_a_zip_bomb_is_refused_by_its_declared_size(two_photos, tmp_storage, settings):
    settings.PANORAMA_ZIP_MAX_BYTES = 1_000_000
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("zeros.jpg", b"\0" * 5_000_000)  # compresses to a few KB
    with pytest.raises(PanoramaImportError, match="PANORAMA_ZIP_MAX_BYTES"):
        panorama_set_import_zip(archive=io.BytesIO(buffer.getvalue()), name="bomb")


@pytest.mark.parametrize("archive,reason", [
    (b"this is not a zip", "not a readable zip"),
    (None, "exactly one manifest.csv"),
])
def test_unusable_archives_are_refused(archive, reason, two_photos, tmp_storage):
    if archive is None:  # images but no manifest
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as bundle:
            bundle.write(two_photos / "a.jpg", "a.jpg")
        archive = buffer.getvalue()
    with pytest.raises(PanoramaImportError, match=reason):
        panorama_set_import_zip(archive=io.BytesIO(archive), name="nope")
    assert not PanoramaSet.objects.exists()


def admin_client() -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("admin", "admin@example.org", "pw"))
    return client


def test_an_admin_uploads_a_set(two_photos, tmp_storage):
    client = admin_client()
    assert b"Import a set (zip)" in client.get("/admin/panoramas/panoramaset/").content
    response = client.post(UPLOAD_URL, {
        "name": "uploaded", "licence": "CC0", "attribution": "tests", "kind": "",
        "archive": SimpleUploadedFile("set.zip", zip_of(two_photos), content_type="application/zip"),
    })
    assert response.status_code == 302
    panorama_set = PanoramaSet.objects.get(name="uploaded")
    assert (panorama_set.licence, panorama_set.panoramas.count()) == ("CC0", 2)


def test_the_upload_form_lists_every_rejected_row_and_imports_nothing(source, tmp_storage, stored_files):
    source.manifest([
        {"file": source.image("a.jpg", seed=1), "latitude": 95, "longitude": 2.35},
        {"file": source.bytes("b.jpg", b"not an image"), "latitude": 1, "longitude": 2},
    ])
    response = admin_client().post(UPLOAD_URL, {
        "name": "broken", "archive": SimpleUploadedFile("set.zip", zip_of(source.root)),
    })
    assert response.status_code == 400
    assert b"line 2:" in response.content and b"nothing was imported" in response.content
    assert not PanoramaSet.objects.exists() and stored_files() == []


def test_players_and_staff_without_the_permission_cannot_upload(two_photos, tmp_storage):
    anonymous = Client().get(UPLOAD_URL)
    assert anonymous.status_code == 302 and "/admin/login/" in anonymous["Location"]
    staff = Client()
    staff.force_login(User.objects.create_user("staff", password="pw", is_staff=True))
    response = staff.post(UPLOAD_URL, {"name": "x", "archive": SimpleUploadedFile("s.zip", zip_of(two_photos))})
    assert response.status_code == 403 and not PanoramaSet.objects.exists()


def test_an_upload_over_the_size_limit_is_refused(two_photos, tmp_storage, settings):
    settings.PANORAMA_UPLOAD_MAX_BYTES = 100
    response = admin_client().post(UPLOAD_URL, {
        "name": "big", "archive": SimpleUploadedFile("set.zip", zip_of(two_photos)),
    })
    assert response.status_code == 400 and b"larger than 100 bytes" in response.content
    assert not PanoramaSet.objects.exists()
