"""Importing multi-view places: rows sharing a place_id become one panorama with several views (name, heading),
all or nothing; rows without a place_id import as before."""

from __future__ import annotations

import hashlib
import io

import pytest
from PIL import ExifTags, Image

from gameserver.objectstore import object_read
from gameserver.panoramas.models import Panorama, PanoramaSet, PanoramaView
from gameserver.panoramas.services import PanoramaImportError, panorama_set_import
from gameserver.panoramas.storage import panorama_image_key, stored_image_key
from planet_engine.manifest import data_dir

pytestmark = pytest.mark.django_db

LEGE = {"latitude": 44.7447471, "longitude": -1.10709685}
PARIS = {"latitude": 48.8566, "longitude": 2.3522}
TURNS = (("front", 146), ("right", 236), ("back", 326), ("left", 56))


def place_rows(source, place: str, seed: int, position: dict[str, float]) -> list[dict[str, object]]:
    return [
        {
            "file": source.image(f"{place}_{view}.jpg", seed=seed + i),
            **position,
            "place_id": place,
            "view": view,
            "heading": heading,
        }
        for i, (view, heading) in enumerate(TURNS)
    ]


def test_rows_of_one_place_become_one_panorama_with_its_views_in_manifest_order(source, tmp_storage):
    manifest = source.manifest(
        [
            *place_rows(source, "p1", 10, LEGE),
            {"file": source.image("alone.jpg", seed=1), **PARIS, "place_id": "", "view": "", "heading": ""},
            *place_rows(source, "p2", 20, PARIS),
        ]
    )
    report = panorama_set_import(manifest_path=manifest, name="places", licence="etalab-2.0")
    assert report.count == 3
    places = Panorama.objects.filter(kind=Panorama.Kind.MULTIVIEW).order_by("pk")
    assert places.count() == 2
    photo = Panorama.objects.get(kind=Panorama.Kind.PHOTO)
    assert photo.source_file == "alone.jpg" and not photo.views.exists()
    first = places[0]
    assert (first.latitude, first.longitude) == (LEGE["latitude"], LEGE["longitude"]) and first.country == "FR"
    views = list(first.views.order_by("index"))
    assert [(v.index, v.name, v.heading) for v in views] == [(i, name, float(h)) for i, (name, h) in enumerate(TURNS)]
    for view in views:
        stored = object_read(key=stored_image_key(name=view.image_name))
        assert hashlib.sha256(stored).hexdigest() == view.content_sha256
        original = (source.root / view.source_file).read_bytes()
        assert hashlib.sha256(original).hexdigest() == view.source_sha256 != view.content_sha256
        # Stored under a random name: neither the place id nor the view's file name.
        # (A random name may hold "p1" by chance, one in ~70: the view's own file name it never holds.)
        assert view.image_name.endswith(".jpg") and len(view.image_name) == 22 + len(".jpg")
        assert view.source_file.removesuffix(".jpg") not in view.image_name
    # The panorama's own image is its first view's, so everything that shows one picture of it still can.
    assert panorama_image_key(panorama=first) == stored_image_key(name=views[0].image_name)
    assert len({v.image_name for v in PanoramaView.objects.all()}) == 8


def test_views_without_a_name_are_numbered_and_the_import_drops_their_metadata(source, tmp_storage):
    exif = Image.Exif()
    exif.get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSLatitude] = (44.0, 44.0, 41.0)
    manifest = source.manifest(
        [
            {"file": source.image("a.jpg", seed=1, exif=exif), **LEGE, "place_id": "x"},
            {"file": source.image("b.jpg", seed=2), **LEGE, "place_id": "x"},
        ]
    )
    panorama_set_import(manifest_path=manifest, name="unnamed")
    views = list(PanoramaView.objects.order_by("index"))
    assert [(v.name, v.heading) for v in views] == [("view 1", None), ("view 2", None)]
    with Image.open(io.BytesIO(object_read(key=stored_image_key(name=views[0].image_name)))) as image:
        assert not image.getexif() and "icc_profile" not in image.info


def test_a_place_whose_rows_disagree_on_the_location_is_refused_whole_naming_its_rows(
    source, tmp_storage, stored_files
):
    rows = place_rows(source, "p1", 10, LEGE)
    rows[2] = {**rows[2], "latitude": LEGE["latitude"] + 0.01}  # about 1.1 km north
    manifest = source.manifest([*rows, *place_rows(source, "p2", 20, PARIS)])
    with pytest.raises(PanoramaImportError) as refused:
        panorama_set_import(manifest_path=manifest, name="bad")
    assert refused.value.problems == [
        "place 'p1' (lines 2-5): line 4 is 1.11 km from line 2; a place's views share one location"
    ]
    assert not PanoramaSet.objects.exists() and not Panorama.objects.exists() and not PanoramaView.objects.exists()
    assert stored_files() == []


def test_a_place_with_a_repeated_view_name_a_panorama_view_or_too_many_views_is_refused(source, tmp_storage):
    repeated = place_rows(source, "p1", 10, LEGE)
    repeated[1] = {**repeated[1], "view": "front"}
    sphere = {
        "file": source.image("sphere.jpg", size=(200, 100), seed=5),
        **PARIS,
        "place_id": "p2",
        "kind": "equirectangular",
    }
    crowded = [{"file": source.image(f"c{i}.jpg", seed=100 + i), **PARIS, "place_id": "p3"} for i in range(13)]
    manifest = source.manifest([*repeated, sphere, *crowded])
    with pytest.raises(PanoramaImportError) as refused:
        panorama_set_import(manifest_path=manifest, name="bad")
    assert refused.value.problems == [
        "place 'p1' (lines 2-5): view 'front' is named twice (lines 2, 3)",
        "place 'p2' (line 6): line 6 is equirectangular; a place's views are photos",
        "place 'p3' (lines 7-19): 13 views, more than 12",
    ]
    assert not Panorama.objects.exists()


def test_the_real_multiview_set_imports_as_one_hundred_places_of_four_views(tmp_storage):
    manifest = data_dir() / "panoramax-multiview" / "manifest.csv"
    report = panorama_set_import(manifest_path=manifest, name="panoramax-multiview")
    assert report.count == 100 and report.countries == 1
    assert PanoramaView.objects.count() == 400
    assert set(Panorama.objects.values_list("kind", flat=True)) == {Panorama.Kind.MULTIVIEW}
    assert {tuple(p.views.order_by("index").values_list("name", flat=True)) for p in Panorama.objects.all()} == {
        ("front", "right", "back", "left")
    }


def test_multiview_is_not_a_kind_a_manifest_or_an_operator_can_name(source, tmp_storage):
    manifest = source.manifest([{"file": source.image("a.jpg", seed=1), **LEGE, "kind": "multiview"}])
    with pytest.raises(PanoramaImportError) as refused:
        panorama_set_import(manifest_path=manifest, name="rows")
    assert refused.value.problems == ["line 2: kind 'multiview' is not one of photo, equirectangular"]
    plain = source.manifest([{"file": source.image("a.jpg", seed=1), **LEGE}])
    with pytest.raises(PanoramaImportError) as refused:
        panorama_set_import(manifest_path=plain, name="set", kind="multiview")
    assert refused.value.problems == ["kind 'multiview' is not one of photo, equirectangular"]
    assert not Panorama.objects.exists()


def test_the_admin_shows_a_places_views_read_only(source, tmp_storage, admin_client):
    panorama_set_import(manifest_path=source.manifest(place_rows(source, "p1", 10, LEGE)), name="places")
    page = admin_client.get(f"/admin/panoramas/panorama/{Panorama.objects.get().pk}/change/")
    assert page.status_code == 200
    text = page.content.decode()
    assert all(name in text for name, _ in TURNS) and 'name="views-0-name"' not in text  # no form field
