"""Importing a set from a zip, directly and through the admin's upload form (admins only)."""

from __future__ import annotations

import io
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hypothesis
import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from hypothesis import strategies as st

from gameserver.panoramas.archives import panorama_set_import_zip
from gameserver.panoramas.models import Panorama, PanoramaSet
from gameserver.panoramas.services import PanoramaImportError
from tests.conftest import zip_of

pytestmark = pytest.mark.django_db

UPLOAD_URL = "/admin/panoramas/panoramaset/upload/"


@pytest.fixture
def two_photos(source) -> Path:
    source.manifest(
        [
            {"file": source.image("a.jpg", seed=1), "latitude": 48.85, "longitude": 2.35},
            {"file": source.image("b/c.png", seed=2), "latitude": -1.29, "longitude": 36.82},
        ]
    )
    return source.root


def test_a_zip_with_a_top_folder_imports_whole(two_photos, tmp_storage, stored_files):
    report = panorama_set_import_zip(archive=io.BytesIO(zip_of(two_photos, prefix="myset/")), name="zipped")
    assert report.count == 2 and len(stored_files()) == 2
    assert set(Panorama.objects.values_list("country", flat=True)) == {"FR", "KE"}


@pytest.mark.parametrize(
    "name,data,reason",
    [
        ("../evil.jpg", b"x", "leaves the archive"),
        ("/etc/evil.jpg", b"x", "leaves the archive"),
        ("a/../../evil.jpg", b"x", "leaves the archive"),
        ("..\\evil.jpg", b"x", "leaves the archive"),  # Windows separators
        ("C:\\evil.jpg", b"x", "leaves the archive"),
    ],
)
def test_path_traversal_is_refused_before_extracting(
    name, data, reason, two_photos, tmp_storage, stored_files, tmp_path
):
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
        link.external_attr = 0o120777 << 16  # S_IFLNK
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


@pytest.mark.parametrize(
    "archive,reason",
    [
        (b"this is not a zip", "not a readable zip"),
        (None, "exactly one manifest.csv"),
    ],
)
def test_unusable_archives_are_refused(archive, reason, two_photos, tmp_storage):
    if archive is None:  # neither a manifest nor a photo (photos alone are placed by their EXIF GPS)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as bundle:
            bundle.writestr("notes.txt", "no photos here")
        archive = buffer.getvalue()
    with pytest.raises(PanoramaImportError, match=reason):
        panorama_set_import_zip(archive=io.BytesIO(archive), name="nope")
    assert not PanoramaSet.objects.exists()


def admin_client() -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("admin", "admin@example.org", "pw"))
    return client


def test_an_admin_uploads_a_set(two_photos, tmp_storage, django_capture_on_commit_callbacks):
    client = admin_client()
    assert b"Import a set (zip)" in client.get("/admin/panoramas/panoramaset/").content
    with django_capture_on_commit_callbacks(execute=True):  # its import job runs (eager) once the request commits
        response = client.post(
            UPLOAD_URL,
            {
                "name": "uploaded",
                "licence": "CC0",
                "attribution": "tests",
                "kind": "",
                "archive": SimpleUploadedFile("set.zip", zip_of(two_photos), content_type="application/zip"),
            },
        )
    assert response.status_code == 302
    panorama_set = PanoramaSet.objects.get(name="uploaded")
    assert (panorama_set.licence, panorama_set.panoramas.count()) == ("CC0", 2)


def test_the_upload_form_lists_every_rejected_row_and_imports_nothing(
    source, tmp_storage, stored_files, django_capture_on_commit_callbacks
):
    source.manifest(
        [
            {"file": source.image("a.jpg", seed=1), "latitude": 95, "longitude": 2.35},
            {"file": source.bytes("b.jpg", b"not an image"), "latitude": 1, "longitude": 2},
        ]
    )
    client = admin_client()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            UPLOAD_URL,
            {
                "name": "broken",
                "archive": SimpleUploadedFile("set.zip", zip_of(source.root)),
            },
        )
    page = client.get(response["Location"])  # the job's page
    assert b"line 2:" in page.content and b"line 3:" in page.content and b"nothing was imported" in page.content
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
    response = admin_client().post(
        UPLOAD_URL,
        {
            "name": "big",
            "archive": SimpleUploadedFile("set.zip", zip_of(two_photos)),
        },
    )
    assert response.status_code == 400 and b"larger than 100 bytes" in response.content
    assert not PanoramaSet.objects.exists()


def archive_with_first_entry(
    folder: Path,
    name: str,
    data: bytes,
    *,
    flags: int = 0,
    method: int | None = None,
    compression: int = zipfile.ZIP_STORED,
) -> bytes:
    """A zip of `folder` after a first entry whose header flags and compression method are then rewritten,
    as another zip tool would have written them (zipfile itself writes neither encrypted nor exotic entries)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as bundle:
        bundle.writestr(name, data)
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                bundle.write(path, path.relative_to(folder).as_posix())
    archive = bytearray(buffer.getvalue())
    central = struct.unpack_from("<I", archive, len(archive) - 22 + 16)[0]  # the end record's directory offset
    for header, offset in ((0, 6), (central, 8)):  # the first local header, the first directory entry
        old_flags, old_method = struct.unpack_from("<HH", archive, header + offset)
        struct.pack_into("<HH", archive, header + offset, old_flags | flags, old_method if method is None else method)
    return bytes(archive)


def test_an_encrypted_entry_is_refused_before_extracting(
    two_photos: Path, tmp_storage: Path, stored_files: Callable[[], list[Path]]
) -> None:
    archive = archive_with_first_entry(two_photos, "secret.jpg", b"x", flags=0x1)
    with pytest.raises(PanoramaImportError) as caught:
        panorama_set_import_zip(archive=io.BytesIO(archive), name="locked")
    assert caught.value.problems == ["secret.jpg: encrypted entries are not supported"]
    assert not PanoramaSet.objects.exists() and stored_files() == []


@pytest.mark.parametrize(
    "first,options,reason",
    [
        # AES-encrypted or otherwise exotically compressed (method 99): zipfile cannot read it.
        (
            ("exotic.jpg", b"x"),
            {"method": 99},
            "exotic.jpg: cannot be extracted: That compression method is not supported",
        ),
        # Deflate data whose first block has the reserved type 3.
        (
            ("broken.jpg", b"x" * 100),
            {"compression": zipfile.ZIP_DEFLATED, "corrupt": True},
            "broken.jpg: cannot be extracted",
        ),
        # A file and a folder of the same name cannot both be unpacked.
        (("b", b"x"), {}, "b/c.png: cannot be extracted"),
    ],
    ids=["unsupported compression", "corrupt deflate data", "a file where a folder must be"],
)
def test_an_entry_that_cannot_be_extracted_is_refused_clearly(
    first: tuple[str, bytes],
    options: dict[str, Any],
    reason: str,
    two_photos: Path,
    tmp_storage: Path,
    stored_files: Callable[[], list[Path]],
) -> None:
    corrupt = options.pop("corrupt", False)
    archive = bytearray(archive_with_first_entry(two_photos, *first, **options))
    if corrupt:
        archive[30 + len(first[0])] = 0xFF  # the first byte of the first entry's data: BFINAL=1, BTYPE=11
    with pytest.raises(PanoramaImportError) as caught:
        panorama_set_import_zip(archive=io.BytesIO(bytes(archive)), name="unreadable")
    assert len(caught.value.problems) == 1 and caught.value.problems[0].startswith(reason)
    assert not PanoramaSet.objects.exists() and stored_files() == []


@pytest.mark.parametrize(
    "field,value,reason",
    [
        # The first directory entry's "version needed to extract": 25.5, newer than any zip tool writes.
        ("version", 0xFF, "not a readable zip archive: zip file version 25.5"),
        # The end record's directory offset pointing far past the directory: reads would seek before the file.
        ("directory offset", 0xFFFFFFFF, "a.jpg: cannot be extracted"),
    ],
)
def test_an_archive_with_a_damaged_directory_is_refused_clearly(
    field: str, value: int, reason: str, two_photos: Path, tmp_storage: Path, stored_files: Callable[[], list[Path]]
) -> None:
    archive = bytearray(zip_of(two_photos))
    end_record = len(archive) - 22
    if field == "version":
        struct.pack_into("<B", archive, struct.unpack_from("<I", archive, end_record + 16)[0] + 6, value)
    else:
        struct.pack_into("<I", archive, end_record + 16, value)
    with pytest.raises(PanoramaImportError) as caught:
        panorama_set_import_zip(archive=io.BytesIO(bytes(archive)), name="damaged")
    assert len(caught.value.problems) == 1 and reason in caught.value.problems[0]
    assert not PanoramaSet.objects.exists() and stored_files() == []


def test_an_archive_written_by_pythons_writestr_imports(two_photos: Path, tmp_storage: Path) -> None:
    """writestr stores permission bits without a file type (0o600): a regular file, not a link or device."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for path in sorted(two_photos.rglob("*")):
            if path.is_file():
                bundle.writestr(path.relative_to(two_photos).as_posix(), path.read_bytes())
    assert zipfile.ZipFile(buffer).infolist()[0].external_attr >> 16 == 0o600
    report = panorama_set_import_zip(archive=io.BytesIO(buffer.getvalue()), name="scripted")
    assert report.count == 2


@st.composite
def damaged(draw: st.DrawFn, archive: bytes) -> bytes:
    """The archive cut short, or with a few bytes overwritten anywhere (headers, directory, data)."""
    if draw(st.booleans()):
        return archive[: draw(st.integers(0, len(archive) - 1))]
    data = bytearray(archive)
    for _ in range(draw(st.integers(1, 4))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data)


@pytest.mark.hypothesis
def test_a_damaged_archive_imports_whole_or_is_refused_clearly(
    two_photos: Path, tmp_storage: Path, stored_files: Callable[[], list[Path]]
) -> None:
    archive = zip_of(two_photos)

    @hypothesis.settings(max_examples=2 * hypothesis.settings().max_examples // 5, deadline=None)  # 40 in ci
    @hypothesis.given(data=st.data())
    def check(data: st.DataObject) -> None:
        try:
            report = panorama_set_import_zip(archive=io.BytesIO(data.draw(damaged(archive))), name="damaged")
        except PanoramaImportError as error:
            assert error.problems and all(problem for problem in error.problems)
            assert not PanoramaSet.objects.exists() and not Panorama.objects.exists() and stored_files() == []
            return
        # A byte that changed nothing the import reads (a timestamp, a comment): the set is whole.
        assert report.count == 2 and len(stored_files()) == 2
        PanoramaSet.objects.all().delete()
        for path in stored_files():
            path.unlink()

    check()


def zip_with_names(folder: Path, names: list[str]) -> bytes:
    """zip_of(folder) plus an entry per name, each written under a same-length stand-in and then renamed in the
    local header and the directory, as another tool could have written it (zipfile cuts a name at a NUL)."""
    stand_ins = {f"{index:0{len(name)}d}"[-len(name) :] if name else "": name for index, name in enumerate(names)}
    archive = zip_of(folder, extra={stand_in: b"x" for stand_in in stand_ins if stand_in})
    for stand_in, name in stand_ins.items():
        if stand_in:
            archive = archive.replace(stand_in.encode(), name.encode())
    return archive


@pytest.mark.parametrize(
    "names,reason",
    [
        (["manifest.csv"], "manifest.csv: the same path as manifest.csv"),
        (["A.JPG"], "A.JPG: the same path as a.jpg"),
        (["b//c.png"], "b//c.png: the same path as b/c.png"),
        (["./a.jpg"], "./a.jpg: the same path as a.jpg"),
        (["b\\c.png"], "'b\\\\c.png': a NUL, control character or backslash in a name"),
        (["evil.jpg\x00.csv"], "'evil.jpg\\x00.csv': a NUL, control character or backslash in a name"),
        (["bell\x07.jpg"], "'bell\\x07.jpg': a NUL, control character or backslash in a name"),
    ],
    ids=["two manifests", "case", "double slash", "dot folder", "backslash", "NUL", "control character"],
)
def test_entries_of_the_same_path_or_odd_names_are_refused_before_extracting(
    names: list[str], reason: str, two_photos: Path, tmp_storage: Path, stored_files: Callable[[], list[Path]]
) -> None:
    with pytest.raises(PanoramaImportError) as caught:
        panorama_set_import_zip(archive=io.BytesIO(zip_with_names(two_photos, names)), name="odd")
    assert caught.value.problems == [reason]
    assert not PanoramaSet.objects.exists() and stored_files() == []


def test_an_entry_whose_directory_record_has_an_empty_name_is_refused(
    two_photos: Path, tmp_storage: Path, stored_files: Callable[[], list[Path]]
) -> None:
    archive = bytearray(zip_of(two_photos))
    central = struct.unpack_from("<I", archive, len(archive) - 22 + 16)[0]
    name_length, extra_length, comment_length = struct.unpack_from("<HHH", archive, central + 28)
    assert extra_length == comment_length == 0
    # The first directory record's name becomes its comment: the entry has no name.
    struct.pack_into("<HHH", archive, central + 28, 0, 0, name_length)
    with pytest.raises(PanoramaImportError) as caught:
        panorama_set_import_zip(archive=io.BytesIO(bytes(archive)), name="nameless")
    assert caught.value.problems == ["an entry has an empty name"]
    assert not PanoramaSet.objects.exists() and stored_files() == []


def test_a_manifest_of_many_bad_rows_lists_the_first_hundred_and_counts_the_rest(
    source, tmp_storage, stored_files, django_capture_on_commit_callbacks
):
    """A 100,000-row manifest of missing files gave a 6 MB page of 100,000 items."""
    source.image("a.jpg", seed=1)
    source.manifest([{"file": f"missing-{n}.jpg", "latitude": 1, "longitude": 2} for n in range(500)])
    client = admin_client()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            UPLOAD_URL,
            {
                "name": "broken",
                "archive": SimpleUploadedFile("set.zip", zip_of(source.root)),
            },
        )
    page = client.get(response["Location"]).content.decode()  # the job's page
    assert "500 problem(s); nothing was imported" in page
    assert page.count("<li>") <= 101 and "and 400 more" in page
    assert not PanoramaSet.objects.exists() and stored_files() == []


@pytest.mark.parametrize("name", ["a" * 1000 + ".jpg", "b/" * 300 + "c.jpg"], ids=["long name", "deep folders"])
def test_an_entry_name_longer_than_a_manifest_may_name_is_refused_short_before_extracting(
    name: str, two_photos: Path, tmp_storage: Path, stored_files: Callable[[], list[Path]]
) -> None:
    # Left to the file system it failed mid-extraction with "File name too long" quoting the whole path.
    with pytest.raises(PanoramaImportError) as caught:
        panorama_set_import_zip(archive=io.BytesIO(zip_of(two_photos, extra={name: b"x"})), name="long")
    [problem] = caught.value.problems
    assert "longer than 500 characters" in problem and len(problem) < 120
    assert not PanoramaSet.objects.exists() and stored_files() == []
