"""Importing a manifest as a panorama set: every row stored without metadata, or nothing at all."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from pathlib import Path

import hypothesis
import pytest
from hypothesis import strategies as st
from PIL import ExifTags, Image, ImageCms

from gameserver.objectstore import object_read, planet_storage
from gameserver.panoramas.models import Panorama, PanoramaSet
from gameserver.panoramas.services import PanoramaImportError, panorama_set_import
from gameserver.panoramas.storage import panorama_image_key
from planet_engine.manifest import data_dir

pytestmark = pytest.mark.django_db

PARIS = {"latitude": 48.8566, "longitude": 2.3522}
NAIROBI = {"latitude": -1.2921, "longitude": 36.8219}
TOKYO = {"latitude": 35.6762, "longitude": 139.6503}
MID_PACIFIC = {"latitude": -5.0, "longitude": -140.0}  # more than 200 km from any coast: the lookup finds nothing


def camera_exif() -> Image.Exif:
    """What a phone writes: GPS position, maker, and 'rotate 90° clockwise to display'."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "SpyCam"
    exif[ExifTags.Base.Orientation] = 6
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (48.0, 51.0, 24.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (2.0, 21.0, 8.0)
    return exif


def srgb_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def assert_nothing_written(stored_files) -> None:
    assert not PanoramaSet.objects.exists()
    assert not Panorama.objects.exists()
    assert stored_files() == []


def test_import_stores_every_row_as_a_metadata_free_jpeg(source, tmp_storage, stored_files):
    phone = source.image("phone.jpg", seed=1, exif=camera_exif(), icc_profile=srgb_profile(), comment=b"secret")
    assert Image.open(source.root / phone).getexif().get_ifd(ExifTags.IFD.GPSInfo), "the source carries GPS"
    manifest = source.manifest(
        [
            {"file": phone, **PARIS},
            {"file": source.image("nairobi.png", seed=2), **NAIROBI},
            {"file": source.image("tokyo.webp", seed=3), **TOKYO, "licence": "CC0", "attribution": "me"},
        ]
    )

    report = panorama_set_import(manifest_path=manifest, name="cities", licence="CC BY 4.0", attribution="them")

    assert (report.count, report.countries) == (3, 3)
    panorama_set = PanoramaSet.objects.get(pk=report.set_id)
    assert (panorama_set.name, panorama_set.licence, panorama_set.attribution) == ("cities", "CC BY 4.0", "them")
    panoramas = {p.source_file: p for p in panorama_set.panoramas.all()}
    assert len(stored_files()) == 3
    for panorama in panoramas.values():
        key = panorama_image_key(panorama=panorama)
        assert Path(planet_storage().path(key)) == tmp_storage / f"{panorama.public_id}.jpg"
        data = object_read(key=key)
        with Image.open(io.BytesIO(data)) as served:
            assert (served.format, served.mode) == ("JPEG", "RGB")
            assert served.size == (panorama.width, panorama.height)
            assert not served.getexif()
            assert not {"exif", "icc_profile", "comment", "xmp"} & set(served.info)
        assert b"SpyCam" not in data and b"secret" not in data and b"ICC_PROFILE" not in data
        assert panorama.content_sha256 == hashlib.sha256(data).hexdigest()
        assert panorama.source_sha256 == hashlib.sha256((source.root / panorama.source_file).read_bytes()).hexdigest()
    paris = panoramas[phone]
    assert (paris.width, paris.height) == (72, 96), "EXIF orientation is applied before the tag is dropped"
    assert (paris.country, paris.continent) == ("FR", "Europe")
    assert (panoramas["nairobi.png"].country, panoramas["nairobi.png"].continent) == ("KE", "Africa")
    assert (paris.licence, paris.attribution) == ("CC BY 4.0", "them")
    assert (panoramas["tokyo.webp"].licence, panoramas["tokyo.webp"].attribution) == ("CC0", "me")
    assert paris.kind == Panorama.Kind.PHOTO and paris.heading is None and not paris.near_training_photo


def test_heading_kind_and_manifest_country_columns_are_used(source, tmp_storage):
    manifest = source.manifest(
        [
            {"file": source.image("pano.jpg", size=(200, 100)), **PARIS, "kind": "equirectangular", "heading": "90.5"},
            {"file": source.image("sea.jpg", seed=4), **MID_PACIFIC, "country": "pf", "heading": "360"},
        ]
    )

    panorama_set_import(manifest_path=manifest, name="columns")

    pano, sea = Panorama.objects.get(source_file="pano.jpg"), Panorama.objects.get(source_file="sea.jpg")
    assert (pano.kind, pano.heading, pano.width, pano.height) == ("equirectangular", 90.5, 200, 100)
    assert (sea.kind, sea.heading) == ("photo", 0.0)
    assert (sea.country, sea.continent) == ("PF", "Oceania"), "the manifest's country where the lookup finds none"


def test_kind_argument_applies_to_rows_without_a_kind(source, tmp_storage):
    manifest = source.manifest(
        [
            {"file": source.image("a.jpg", size=(200, 100), seed=1), **PARIS},
            {"file": source.image("b.jpg", seed=2), **TOKYO, "kind": "photo"},
        ]
    )

    panorama_set_import(manifest_path=manifest, name="panos", kind="equirectangular")

    assert dict(Panorama.objects.values_list("source_file", "kind")) == {"a.jpg": "equirectangular", "b.jpg": "photo"}


def good_row(source) -> dict[str, object]:
    return {"file": source.image("good.jpg", seed=100), **PARIS}


def jpeg_bytes(source, size: tuple[int, int] = (96, 72)) -> bytes:
    return (source.root / source.image("scratch/full.jpg", size=size, seed=7)).read_bytes()


def solid_png(size: tuple[int, int]) -> bytes:
    """A real, tiny-on-disk PNG of any size: one colour compresses to almost nothing."""
    buffer = io.BytesIO()
    Image.new("RGB", size, (90, 120, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


BAD_ROWS = {
    "missing file": (lambda s: {"file": "nowhere.jpg", **TOKYO}, "not found"),
    "not an image": (lambda s: {"file": s.bytes("notes.jpg", b"just some text\n" * 50), **TOKYO}, "not an image"),
    "empty file": (lambda s: {"file": s.bytes("empty.jpg", b""), **TOKYO}, "not an image"),
    "a GIF named .jpg": (
        lambda s: {"file": s.image("anim.jpg", seed=8, format="GIF"), **TOKYO},
        "not an image in one of JPEG, PNG, WEBP",
    ),
    # Over PANORAMA_MAX_PIXELS (40 M) but under twice it, where Pillow only warns: refused from the header.
    "huge dimensions": (
        lambda s: {"file": s.png_header("huge.png", width=8000, height=6000), **TOKYO},
        "decompression bomb",
    ),
    # Only 700 k pixels, but no JPEG can be wider than 65500: it could never be served.
    "wider than a JPEG can be": (
        lambda s: {"file": s.bytes("strip.png", solid_png((70_000, 10))), **TOKYO},
        "70000x10 is larger than a JPEG can be (65500 pixels a side)",
    ),
    "truncated jpeg": (lambda s: {"file": s.bytes("cut.jpg", jpeg_bytes(s)[:1500]), **TOKYO}, "does not decode"),
    "decompression bomb": (
        lambda s: {"file": s.png_header("bomb.png", width=50_000, height=50_000), **TOKYO},
        "decompression bomb",
    ),
    "latitude out of range": (
        lambda s: {"file": s.image("far.jpg", seed=8), "latitude": 91, "longitude": 0},
        "outside [-90, 90]",
    ),
    "longitude not a number": (
        lambda s: {"file": s.image("far.jpg", seed=8), "latitude": 0, "longitude": "east"},
        "not a number",
    ),
    "duplicate row": (lambda s: {"file": "good.jpg", **TOKYO}, "duplicate of line 2"),
    "duplicate content": (
        lambda s: {"file": s.bytes("copy.jpg", (s.root / "good.jpg").read_bytes()), **TOKYO},
        "same image as line 2",
    ),
    "bad kind": (lambda s: {"file": s.image("k.jpg", seed=9), **TOKYO, "kind": "cubemap"}, "kind 'cubemap'"),
    "bad heading": (lambda s: {"file": s.image("h.jpg", seed=9), **TOKYO, "heading": "north"}, "heading 'north'"),
    "heading out of range": (lambda s: {"file": s.image("h.jpg", seed=9), **TOKYO, "heading": "400"}, "heading"),
    "equirectangular not 2:1": (
        lambda s: {"file": s.image("e.jpg", size=(300, 100), seed=9), **TOKYO, "kind": "equirectangular"},
        "must be 2:1, got 300x100",
    ),
    "bad country": (lambda s: {"file": s.image("c.jpg", seed=9), **TOKYO, "country": "Japan"}, "alpha-2"),
    "blank coordinates, no EXIF GPS": (
        lambda s: {"file": s.image("nogps.jpg", seed=9), "latitude": "", "longitude": ""},
        "no EXIF GPS position",
    ),
    "one coordinate blank": (
        lambda s: {"file": s.image("half.jpg", seed=9), "latitude": "", "longitude": 3},
        "latitude '' is not a number",
    ),
}


@pytest.mark.parametrize("case", BAD_ROWS, ids=list(BAD_ROWS))
def test_a_bad_row_is_reported_by_line_and_nothing_is_written(case, source, tmp_storage, stored_files):
    make_row, reason = BAD_ROWS[case]
    good = good_row(source)  # written first: some bad rows copy it
    manifest = source.manifest([good, make_row(source)])

    with pytest.raises(PanoramaImportError) as caught:
        panorama_set_import(manifest_path=manifest, name="bad")

    assert len(caught.value.problems) == 1
    assert caught.value.problems[0].startswith("line 3: ") and reason in caught.value.problems[0]
    assert_nothing_written(stored_files)


def test_images_over_the_pixel_limit_are_refused(source, tmp_storage, stored_files, settings):
    settings.PANORAMA_MAX_PIXELS = 10_000  # the good row has 96 x 72 = 6,912
    manifest = source.manifest([good_row(source), {"file": source.image("big.jpg", size=(200, 100)), **TOKYO}])

    with pytest.raises(PanoramaImportError) as caught:
        panorama_set_import(manifest_path=manifest, name="bad")

    assert caught.value.problems == [
        "line 3: 200x100 is more than PANORAMA_MAX_PIXELS (10000 pixels): refused as a possible decompression bomb"
    ]
    assert_nothing_written(stored_files)


def test_files_over_the_byte_limit_are_refused(source, tmp_storage, stored_files, settings):
    rows = [good_row(source), {"file": source.image("big.png", size=(400, 300), seed=5), **TOKYO}]
    settings.PANORAMA_MAX_BYTES = (source.root / "good.jpg").stat().st_size + 10

    with pytest.raises(PanoramaImportError) as caught:
        panorama_set_import(manifest_path=source.manifest(rows), name="bad")

    limit = settings.PANORAMA_MAX_BYTES
    assert caught.value.problems == [f"line 3: file is larger than PANORAMA_MAX_BYTES ({limit} bytes)"]
    assert_nothing_written(stored_files)


def test_every_bad_row_is_listed_at_once(source, tmp_storage, stored_files):
    manifest = source.manifest(
        [
            good_row(source),
            {"file": source.bytes("text.jpg", b"hello"), **TOKYO},
            {"file": source.image("k.jpg", seed=3), **NAIROBI, "kind": "sphere", "heading": "-5"},
            {"file": source.bytes("copy.jpg", (source.root / "good.jpg").read_bytes()), **NAIROBI},
        ]
    )

    with pytest.raises(PanoramaImportError) as caught:
        panorama_set_import(manifest_path=manifest, name="bad")

    assert [problem.split(":")[0] for problem in caught.value.problems] == ["line 3", "line 4", "line 4", "line 5"]
    assert_nothing_written(stored_files)


def test_a_taken_set_name_is_refused_and_the_first_set_is_untouched(source, tmp_storage, stored_files):
    manifest = source.manifest([good_row(source)])
    panorama_set_import(manifest_path=manifest, name="once")
    before = stored_files()

    with pytest.raises(PanoramaImportError, match="already exists"):
        panorama_set_import(manifest_path=manifest, name="once")

    assert PanoramaSet.objects.count() == 1 and Panorama.objects.count() == 1
    assert stored_files() == before


@pytest.mark.parametrize("name", ["has spaces", "slash/name", ""])
def test_a_set_name_that_is_not_a_slug_is_refused(name, source, tmp_storage, stored_files):
    with pytest.raises(PanoramaImportError, match="slug"):
        panorama_set_import(manifest_path=source.manifest([good_row(source)]), name=name)
    assert_nothing_written(stored_files)


def test_a_database_failure_removes_the_written_images(source, tmp_storage, stored_files, monkeypatch):
    def fail(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(Panorama.objects, "bulk_create", fail)
    manifest = source.manifest([good_row(source), {"file": source.image("b.jpg", seed=2), **TOKYO}])

    with pytest.raises(RuntimeError, match="went away"):
        panorama_set_import(manifest_path=manifest, name="doomed")

    assert_nothing_written(stored_files)


def test_the_demo_set_imports_whole(tmp_storage, stored_files):
    manifest = data_dir() / "osv5m-demo" / "manifest.csv"
    assert manifest.is_file(), f"demo set not found at {manifest} (PLANET_DATA_DIR)"

    report = panorama_set_import(manifest_path=manifest, name="osv5m-demo", licence="CC BY-SA 4.0")

    assert report.count == 121 and report.countries >= 60
    assert len(stored_files()) == 121
    assert Panorama.objects.exclude(continent="").count() == 121
    assert Panorama.objects.values("content_sha256").distinct().count() == 121


def test_blank_coordinates_are_read_from_the_images_exif_gps(source, tmp_storage, stored_files):
    south_west = camera_exif()
    gps = south_west.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef], gps[ExifTags.GPS.GPSLatitude] = "S", (33.0, 52.0, 4.8)
    gps[ExifTags.GPS.GPSLongitudeRef], gps[ExifTags.GPS.GPSLongitude] = "W", (151.0, 12.0, 36.0)
    manifest = source.manifest(
        [
            {"file": source.image("paris.jpg", seed=1, exif=camera_exif()), "latitude": "", "longitude": ""},
            {"file": source.image("sw.jpg", seed=2, exif=south_west), "latitude": " ", "longitude": ""},
            # The manifest wins over EXIF where it gives coordinates.
            {"file": source.image("tokyo.jpg", seed=3, exif=camera_exif()), **TOKYO},
        ]
    )

    panorama_set_import(manifest_path=manifest, name="exif")

    paris = Panorama.objects.get(source_file="paris.jpg")
    assert (paris.latitude, paris.longitude) == pytest.approx((48 + 51 / 60 + 24 / 3600, 2 + 21 / 60 + 8 / 3600))
    assert (paris.country, paris.continent) == ("FR", "Europe")
    sw = Panorama.objects.get(source_file="sw.jpg")
    assert (sw.latitude, sw.longitude) == pytest.approx((-33.868, -151.21))
    assert Panorama.objects.get(source_file="tokyo.jpg").latitude == TOKYO["latitude"]
    for panorama in Panorama.objects.all():  # the position was read, never kept in the served bytes
        with Image.open(io.BytesIO(object_read(key=panorama_image_key(panorama=panorama)))) as served:
            assert not served.getexif()


BAD_MANIFESTS = {
    "wrong columns": (b"path,lat,lon\ngood.jpg,48.85,2.35\n", "missing column(s) file, latitude, longitude"),
    "cut inside a quoted field": (b'file,latitude,longitude\ngood.jpg,48.85,"2.3', "malformed CSV"),
    "cut mid-row": (b"file,latitude,longitude\ngood.jpg,48.85,2.35\ngood2.jp", "line 3: expected 3 fields"),
    "not UTF-8": (b"file,latitude,longitude\ngood.jpg,48.85,2.35\n\xff\xfe\x00", "not UTF-8"),
    "header only": (b"file,latitude,longitude\n", "no rows"),
    "empty": (b"", "missing column(s)"),
    "the same row twice": (
        b"file,latitude,longitude\ngood.jpg,48.85,2.35\ngood.jpg,48.85,2.35\n",
        "line 3: duplicate of line 2 (good.jpg)",
    ),
}


@pytest.mark.parametrize("case", BAD_MANIFESTS, ids=list(BAD_MANIFESTS))
def test_a_malformed_manifest_is_refused_and_nothing_is_written(
    case: str, source, tmp_storage: Path, stored_files: Callable[[], list[Path]]
) -> None:
    text, reason = BAD_MANIFESTS[case]
    good_row(source)
    manifest = source.root / "manifest.csv"
    manifest.write_bytes(text)

    with pytest.raises(PanoramaImportError) as caught:
        panorama_set_import(manifest_path=manifest, name="bad")

    assert str(caught.value).startswith("nothing imported, 1 problem(s):")
    assert reason in caught.value.problems[0]
    assert_nothing_written(stored_files)


@pytest.mark.hypothesis
@pytest.mark.parametrize("extension", ["jpg", "png", "webp"])
def test_every_truncation_of_an_image_is_refused_and_nothing_is_written(
    extension: str, source, tmp_storage: Path, stored_files: Callable[[], list[Path]]
) -> None:
    whole = (source.root / source.image(f"whole.{extension}", seed=11)).read_bytes()
    # A PNG cut after its last compressed pixel still holds every pixel: the zlib checksum, the chunk's CRC
    # and the IEND chunk that follow it (4 + 4 + 12 bytes) are not needed to decode it whole.
    last_pixel_byte = whole.rindex(b"IEND") - 12 if extension == "png" else len(whole)

    @hypothesis.settings(max_examples=3 * hypothesis.settings().max_examples // 25, deadline=None)  # 12 in ci
    @hypothesis.given(cut=st.integers(min_value=0, max_value=last_pixel_byte - 1))
    def check(cut: int) -> None:
        manifest = source.manifest([good_row(source), {"file": source.bytes(f"cut.{extension}", whole[:cut]), **TOKYO}])
        with pytest.raises(PanoramaImportError) as caught:
            panorama_set_import(manifest_path=manifest, name="cut")
        assert len(caught.value.problems) == 1
        assert caught.value.problems[0].startswith("line 3: ")
        assert "does not decode" in caught.value.problems[0] or "not an image" in caught.value.problems[0]
        assert_nothing_written(stored_files)

    check()
