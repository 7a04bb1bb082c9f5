"""run_arena's preparation (what `make play` does before serving): the demo set, and panoramax-multiview as a
second set when PLANET_DATA_DIR holds it."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command

from gameserver.inference.models import ModelVersion
from gameserver.panoramas.models import Panorama, PanoramaSet

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.embedded]


@pytest.fixture
def data_dir(tmp_path: Path, settings, synthetic_train: Path, synthetic_test: Path, source) -> Path:
    """PLANET_DATA_DIR with the synthetic sets standing in for osv5m-demo and yfcc-train."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "osv5m-demo").symlink_to(synthetic_test.parent)
    (data / "yfcc-train").symlink_to(synthetic_train.parent)
    settings.PLANET_DATA_DIR = data
    settings.PLANET_VAR_DIR = tmp_path / "var"
    settings.STATIC_ROOT = tmp_path / "static"
    return data


def test_run_arena_imports_panoramax_multiview_as_a_second_set_when_present(data_dir, source):
    rows = [
        {
            "file": source.image(f"{place}_{view}.jpg", seed=3 * p + i),
            "latitude": 44.7 + p / 100,
            "longitude": -1.1,
            "place_id": place,
            "view": view,
            "heading": 90 * i,
        }
        for p, place in enumerate(("p1", "p2"))
        for i, view in enumerate(("front", "right", "back"))
    ]
    (data_dir / "panoramax-multiview").symlink_to(source.manifest(rows).parent)
    call_command("run_arena", prepare_only=True)
    places = PanoramaSet.objects.get(name="panoramax-multiview")
    assert "Panoramax" in places.attribution and "Licence Ouverte" in places.licence
    assert list(places.panoramas.values_list("kind", flat=True)) == [Panorama.Kind.MULTIVIEW] * 2
    assert PanoramaSet.objects.get(name="osv5m-demo").panoramas.count() > 0
    assert ModelVersion.objects.filter(is_default=True).exists()
    call_command("run_arena", prepare_only=True)  # a second start imports nothing twice
    assert PanoramaSet.objects.count() == 2


def test_run_arena_starts_without_panoramax_multiview(data_dir):
    call_command("run_arena", prepare_only=True)
    assert list(PanoramaSet.objects.values_list("name", flat=True)) == ["osv5m-demo"]
