"""Flagging panoramas that lie near a photo the model was trained on (they are excluded from statistics)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gameserver.panoramas import leaks
from gameserver.panoramas.leaks import panorama_set_flag_training_leaks
from gameserver.panoramas.models import PanoramaSet
from gameserver.panoramas.services import panorama_set_import
from planet_engine.geo import distance_km, pairwise_distances_km

pytestmark = pytest.mark.django_db

# One km of latitude is 1 / 111.195 degrees.
PARIS = (48.8566, 2.3522)
NEAR = (PARIS[0] + 0.5 / 111.195, PARIS[1])  # 0.5 km north of a training photo
FAR = (PARIS[0] + 5.0 / 111.195, PARIS[1])  # 5 km north of it


@pytest.fixture
def panorama_set(source, tmp_storage) -> PanoramaSet:
    manifest = source.manifest(
        [
            {"file": source.image("near.jpg", seed=1), "latitude": NEAR[0], "longitude": NEAR[1]},
            {"file": source.image("far.jpg", seed=2), "latitude": FAR[0], "longitude": FAR[1]},
        ]
    )
    return PanoramaSet.objects.get(pk=panorama_set_import(manifest_path=manifest, name="city").set_id)


def training_manifest(folder: Path, points: list[tuple[float, float]]) -> Path:
    # Only coordinates are read: the training images need not exist here.
    lines = ["file,latitude,longitude"] + [f"train/{i}.jpg,{lat},{lon}" for i, (lat, lon) in enumerate(points)]
    path = folder / "training.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_panorama_within_1_km_of_a_training_photo_is_flagged(panorama_set, tmp_path):
    training = training_manifest(tmp_path, [PARIS, (-33.86, 151.21)])

    flagged = panorama_set_flag_training_leaks(panorama_set=panorama_set, training_manifest=training)

    assert flagged == 1
    near, far = panorama_set.panoramas.get(source_file="near.jpg"), panorama_set.panoramas.get(source_file="far.jpg")
    assert near.near_training_photo and not far.near_training_photo
    assert near.nearest_training_km == pytest.approx(distance_km(*NEAR, *PARIS))
    assert far.nearest_training_km == pytest.approx(5.0, abs=0.01)


def test_a_larger_radius_flags_more_and_a_rerun_replaces_the_flags(panorama_set, tmp_path):
    training = training_manifest(tmp_path, [PARIS])

    assert panorama_set_flag_training_leaks(panorama_set=panorama_set, training_manifest=training, radius_km=10) == 2
    assert panorama_set_flag_training_leaks(panorama_set=panorama_set, training_manifest=training, radius_km=0.1) == 0
    assert not panorama_set.panoramas.filter(near_training_photo=True).exists()


def test_the_blocked_search_finds_the_same_nearest_distances(panorama_set, tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    points = [(float(a), float(b)) for a, b in zip(rng.uniform(48, 49.5, 37), rng.uniform(1.5, 3.5, 37), strict=True)]
    monkeypatch.setattr(leaks, "_LEAK_BLOCK_PANORAMAS", 1)
    monkeypatch.setattr(leaks, "_LEAK_BLOCK_TRAINING", 5)

    panorama_set_flag_training_leaks(panorama_set=panorama_set, training_manifest=training_manifest(tmp_path, points))

    panoramas = list(panorama_set.panoramas.order_by("pk"))
    lats, lons = np.array(points).T
    expected = pairwise_distances_km(
        np.array([p.latitude for p in panoramas]), np.array([p.longitude for p in panoramas]), lats, lons
    ).min(axis=1)
    assert [p.nearest_training_km for p in panoramas] == pytest.approx(expected.tolist())


@pytest.mark.parametrize("radius_km", [-1.0, float("nan"), float("inf")])
def test_a_bad_radius_is_refused(radius_km, panorama_set, tmp_path):
    with pytest.raises(ValueError, match="radius_km"):
        panorama_set_flag_training_leaks(
            panorama_set=panorama_set, training_manifest=training_manifest(tmp_path, [PARIS]), radius_km=radius_km
        )
