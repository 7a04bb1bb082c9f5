"""The training-leak check: a panorama within LEAK_RADIUS_KM of a photo a model was trained on is left out of the
benchmark (the model may have memorised the place).

Each model version is checked on its own (inference/leaks.py keeps its training places in the object store), and
every set is measured against them, now and at each later import, whatever path imports it (TrainingLeakCheck
rows). A panorama's near_training_photo is true when any version's check found it near. A version whose training
places are not stored is reported by the import. A set may also be flagged against a manifest of no registered
model (panorama_set_flag_training_leaks)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.db import transaction
from django.db.models import Min, Q

from gameserver.panoramas.models import Panorama, PanoramaSet, TrainingLeakCheck
from planet_engine.geo import pairwise_distances_km
from planet_engine.manifest import read_manifest

LEAK_RADIUS_KM = 1.0
# Distance-matrix entries computed at once: 256 x 16384 float64 is 32 MiB.
_LEAK_BLOCK_PANORAMAS = 256
_LEAK_BLOCK_TRAINING = 16_384


@dataclass(frozen=True)
class LeakReport:
    flagged: dict[str, int]  # version name -> panoramas of the set within the radius of its training photos
    unchecked: list[str]  # versions whose training places are not stored: not checked


@dataclass(frozen=True)
class VersionPlaces:
    version_id: int
    name: str
    places: tuple[np.ndarray, np.ndarray] | None  # (N,) latitudes, (N,) longitudes; None: not stored, not checked


def _no_versions() -> list[VersionPlaces]:
    return []


# Every registered model version's training places, by name. Model versions are the inference app's, above this
# one: it provides them (InferenceConfig.ready) so that every import is checked against each version.
_versions_places: Callable[[], list[VersionPlaces]] = _no_versions


def versions_places_provide(provider: Callable[[], list[VersionPlaces]]) -> None:
    global _versions_places
    _versions_places = provider


def panorama_set_leak_check(*, panorama_set: PanoramaSet) -> LeakReport:
    """Measure a set against every registered version that has training places (its import calls this)."""
    flagged: dict[str, int] = {}
    unchecked: list[str] = []
    for version in _versions_places():
        if version.places is None:
            unchecked.append(version.name)
        else:
            flagged[version.name] = panorama_set_places_check(
                version_id=version.version_id, panorama_set=panorama_set, places=version.places
            )
    return LeakReport(flagged=flagged, unchecked=unchecked)


def panorama_set_flag_training_leaks(
    *, panorama_set: PanoramaSet, training_manifest: Path, radius_km: float = LEAK_RADIUS_KM
) -> int:
    """Flag the set's panoramas within radius_km of any photo of a training manifest that belongs to no registered
    version (a rerun replaces these flags; a version's own checks stay). Returns how many are flagged."""
    if not (math.isfinite(radius_km) and radius_km >= 0.0):
        raise ValueError(f"radius_km must be a finite number >= 0, got {radius_km}")
    training = read_manifest(training_manifest, check_files=False)
    panoramas = list(panorama_set.panoramas.order_by("pk").only("pk", "latitude", "longitude"))
    if not panoramas:
        return 0
    nearest = _nearest_km(
        np.array([p.latitude for p in panoramas]),
        np.array([p.longitude for p in panoramas]),
        training.latitudes,
        training.longitudes,
    )
    for panorama, km in zip(panoramas, nearest.tolist(), strict=True):
        panorama.nearest_training_km = km
        panorama.near_training_photo = km <= radius_km
    with transaction.atomic():
        Panorama.objects.bulk_update(panoramas, ["near_training_photo", "nearest_training_km"], batch_size=500)
        _flags_merge(panoramas)
    return sum(p.near_training_photo for p in panoramas)


def panorama_set_places_check(
    *, version_id: int, panorama_set: PanoramaSet, places: tuple[np.ndarray, np.ndarray]
) -> int:
    """Measure a set against one model version's training places ((N,) latitudes, (N,) longitudes); the number
    flagged. Its earlier checks against that version are replaced."""
    panoramas = list(
        panorama_set.panoramas.order_by("pk").only(
            "pk", "latitude", "longitude", "near_training_photo", "nearest_training_km"
        )
    )
    if not panoramas or not places[0].size:
        return 0
    nearest = _nearest_km(
        np.array([p.latitude for p in panoramas]), np.array([p.longitude for p in panoramas]), *places
    )
    checks = [
        TrainingLeakCheck(model_version_id=version_id, panorama=p, nearest_km=km, near=km <= LEAK_RADIUS_KM)
        for p, km in zip(panoramas, nearest.tolist(), strict=True)
    ]
    with transaction.atomic():
        TrainingLeakCheck.objects.filter(model_version_id=version_id, panorama__panorama_set=panorama_set).delete()
        TrainingLeakCheck.objects.bulk_create(checks, batch_size=500)
        _flags_merge(panoramas)
    return sum(check.near for check in checks)


def _flags_merge(panoramas: list[Panorama]) -> None:
    """A panorama is near a training photo when its own flag or any version's check says so; the nearest km is
    the least of them."""
    found = {
        row["panorama_id"]: row
        for row in TrainingLeakCheck.objects.filter(panorama__in=[p.pk for p in panoramas])
        .values("panorama_id")
        .annotate(km=Min("nearest_km"), near=Min("pk", filter=Q(near=True)))
    }
    for panorama in panoramas:
        row = found.get(panorama.pk)
        if row is None:
            continue
        panorama.near_training_photo = panorama.near_training_photo or row["near"] is not None
        known = [km for km in (panorama.nearest_training_km, row["km"]) if km is not None]
        panorama.nearest_training_km = min(known)
    Panorama.objects.bulk_update(panoramas, ["near_training_photo", "nearest_training_km"], batch_size=500)


def _nearest_km(lat: np.ndarray, lon: np.ndarray, train_lat: np.ndarray, train_lon: np.ndarray) -> np.ndarray:
    """(N,) panoramas, (M,) training photos -> (N,) km to the closest training photo, in bounded blocks."""
    nearest = np.full(lat.size, np.inf)
    for start in range(0, lat.size, _LEAK_BLOCK_PANORAMAS):
        rows = slice(start, start + _LEAK_BLOCK_PANORAMAS)
        for train_start in range(0, train_lat.size, _LEAK_BLOCK_TRAINING):
            cols = slice(train_start, train_start + _LEAK_BLOCK_TRAINING)
            block = pairwise_distances_km(lat[rows], lon[rows], train_lat[cols], train_lon[cols])  # (n, m)
            nearest[rows] = np.minimum(nearest[rows], block.min(axis=1))
    return nearest
