"""The training-leak check: a panorama within LEAK_RADIUS_KM of a photo a model was trained on is left out of the
benchmark (the model may have memorised the place).

Each model version is checked on its own: registering it stores the places of its training photos in the object
store (a kNN checkpoint carries them; a PlaNet checkpoint names its training manifest and records its
fingerprint, and the manifest is read when it is on this server), and every set is measured against them, now and
at each later import, whatever path imports it (TrainingLeakCheck rows). A panorama's near_training_photo is
true when any version's check found it near. A version whose training places are not stored is reported by the
import; `check_training_leaks --model NAME --training-manifest PATH` stores them once the manifest is here (its
fingerprint must be the one the checkpoint records)."""

from __future__ import annotations

import io
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.db import transaction
from django.db.models import Min, Q

from gameserver.inference.models import ModelVersion
from gameserver.objectstore import object_exists, object_read, object_write
from gameserver.panoramas.models import Panorama, PanoramaSet, TrainingLeakCheck
from gameserver.panoramas.storage import training_places_key
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


def training_places_store(*, version: ModelVersion, latitudes: np.ndarray, longitudes: np.ndarray) -> None:
    """Keep a version's training places ((N,) degrees each) in the store, keyed by its manifest's fingerprint."""
    buffer = io.BytesIO()
    np.savez(buffer, latitudes=np.asarray(latitudes, dtype=np.float64),
             longitudes=np.asarray(longitudes, dtype=np.float64))
    object_write(key=training_places_key(manifest_sha256=version.train_manifest_sha256), data=buffer.getvalue())
    ModelVersion.objects.filter(pk=version.pk).update(training_places_stored=True)
    version.training_places_stored = True


def training_places_from_manifest(*, version: ModelVersion, manifest: Path) -> int:
    """Store a version's training places from its manifest (coordinates only; the images need not be here), which
    must be the manifest its checkpoint records; ValueError saying why not. Returns how many photos it holds."""
    training = read_manifest(manifest, check_files=False)
    fingerprint = training.fingerprint()
    if version.train_manifest_sha256 and fingerprint != version.train_manifest_sha256:
        raise ValueError(f"{manifest.name} is not the manifest {version.name!r} was trained on (its fingerprint "
                         f"{fingerprint[:12]}, the checkpoint records {version.train_manifest_sha256[:12]})")
    if not version.train_manifest_sha256:  # an external model, or a checkpoint from before fingerprints
        ModelVersion.objects.filter(pk=version.pk).update(train_manifest_sha256=fingerprint)
        version.train_manifest_sha256 = fingerprint
    training_places_store(version=version, latitudes=training.latitudes, longitudes=training.longitudes)
    return len(training)


def model_version_leak_check(*, version: ModelVersion, panorama_sets: Iterable[PanoramaSet] | None = None) -> int:
    """Measure every panorama of these sets (default: all) against the version's stored training places; the
    number flagged. Nothing is measured when its places are not stored."""
    places = _training_places(version)
    if places is None:
        return 0
    sets = list(PanoramaSet.objects.all() if panorama_sets is None else panorama_sets)
    return sum(_check(version=version, panorama_set=s, places=places) for s in sets)


def panorama_set_leak_check(*, panorama_set: PanoramaSet) -> LeakReport:
    """Measure a set against every registered version that has training places (its import calls this)."""
    flagged: dict[str, int] = {}
    unchecked: list[str] = []
    for version in ModelVersion.objects.order_by("name"):
        places = _training_places(version)
        if places is None:
            unchecked.append(version.name)
        else:
            flagged[version.name] = _check(version=version, panorama_set=panorama_set, places=places)
    return LeakReport(flagged=flagged, unchecked=unchecked)


def panorama_set_flag_training_leaks(*, panorama_set: PanoramaSet, training_manifest: Path,
                                     radius_km: float = LEAK_RADIUS_KM) -> int:
    """Flag the set's panoramas within radius_km of any photo of a training manifest that belongs to no registered
    version (a rerun replaces these flags; a version's own checks stay). Returns how many are flagged."""
    if not (math.isfinite(radius_km) and radius_km >= 0.0):
        raise ValueError(f"radius_km must be a finite number >= 0, got {radius_km}")
    training = read_manifest(training_manifest, check_files=False)
    panoramas = list(panorama_set.panoramas.order_by("pk").only("pk", "latitude", "longitude"))
    if not panoramas:
        return 0
    nearest = _nearest_km(
        np.array([p.latitude for p in panoramas]), np.array([p.longitude for p in panoramas]),
        training.latitudes, training.longitudes,
    )
    for panorama, km in zip(panoramas, nearest.tolist(), strict=True):
        panorama.nearest_training_km = km
        panorama.near_training_photo = km <= radius_km
    with transaction.atomic():
        Panorama.objects.bulk_update(panoramas, ["near_training_photo", "nearest_training_km"], batch_size=500)
        _flags_merge(panoramas)
    return sum(p.near_training_photo for p in panoramas)


def _training_places(version: ModelVersion) -> tuple[np.ndarray, np.ndarray] | None:
    if not (version.training_places_stored and version.train_manifest_sha256):
        return None
    key = training_places_key(manifest_sha256=version.train_manifest_sha256)
    if not object_exists(key=key):
        return None
    with np.load(io.BytesIO(object_read(key=key)), allow_pickle=False) as stored:
        return stored["latitudes"], stored["longitudes"]


def _check(*, version: ModelVersion, panorama_set: PanoramaSet, places: tuple[np.ndarray, np.ndarray]) -> int:
    panoramas = list(panorama_set.panoramas.order_by("pk").only("pk", "latitude", "longitude",
                                                                "near_training_photo", "nearest_training_km"))
    if not panoramas or not places[0].size:
        return 0
    nearest = _nearest_km(np.array([p.latitude for p in panoramas]), np.array([p.longitude for p in panoramas]),
                          *places)
    checks = [TrainingLeakCheck(model_version=version, panorama=p, nearest_km=km, near=km <= LEAK_RADIUS_KM)
              for p, km in zip(panoramas, nearest.tolist(), strict=True)]
    with transaction.atomic():
        TrainingLeakCheck.objects.filter(model_version=version, panorama__panorama_set=panorama_set).delete()
        TrainingLeakCheck.objects.bulk_create(checks, batch_size=500)
        _flags_merge(panoramas)
    return sum(check.near for check in checks)


def _flags_merge(panoramas: list[Panorama]) -> None:
    """A panorama is near a training photo when its own flag or any version's check says so; the nearest km is
    the least of them."""
    found = {row["panorama_id"]: row for row in TrainingLeakCheck.objects.filter(
        panorama__in=[p.pk for p in panoramas]).values("panorama_id").annotate(
        km=Min("nearest_km"), near=Min("pk", filter=Q(near=True)))}
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
