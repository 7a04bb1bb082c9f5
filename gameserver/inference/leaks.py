"""Each model version's training places, for the training-leak check (panoramas/leaks.py measures the sets):
registering a version stores the places of its training photos in the object store (a kNN checkpoint carries
them; a PlaNet checkpoint names its training manifest and records its fingerprint, and the manifest is read when
it is on this server). `check_training_leaks --model NAME --training-manifest PATH` stores them once the manifest
is here (its fingerprint must be the one the checkpoint records)."""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from gameserver.inference.models import ModelVersion
from gameserver.objectstore import object_exists, object_read, object_write
from gameserver.panoramas.leaks import VersionPlaces, panorama_set_places_check
from gameserver.panoramas.models import PanoramaSet
from planet_engine.manifest import read_manifest


def training_places_key(*, manifest_sha256: str) -> str:
    """The places (latitude, longitude) of the photos a model was trained on, by its manifest's fingerprint."""
    return f"training/{manifest_sha256}.npz"


def training_places_store(*, version: ModelVersion, latitudes: np.ndarray, longitudes: np.ndarray) -> None:
    """Keep a version's training places ((N,) degrees each) in the store, keyed by its manifest's fingerprint."""
    buffer = io.BytesIO()
    np.savez(
        buffer, latitudes=np.asarray(latitudes, dtype=np.float64), longitudes=np.asarray(longitudes, dtype=np.float64)
    )
    object_write(key=training_places_key(manifest_sha256=version.train_manifest_sha256), data=buffer.getvalue())
    ModelVersion.objects.filter(pk=version.pk).update(training_places_stored=True)
    version.training_places_stored = True


def training_places_from_manifest(*, version: ModelVersion, manifest: Path) -> int:
    """Store a version's training places from its manifest (coordinates only; the images need not be here), which
    must be the manifest its checkpoint records; ValueError saying why not. Returns how many photos it holds."""
    training = read_manifest(manifest, check_files=False)
    fingerprint = training.fingerprint()
    if version.train_manifest_sha256 and fingerprint != version.train_manifest_sha256:
        raise ValueError(
            f"{manifest.name} is not the manifest {version.name!r} was trained on (its fingerprint "
            f"{fingerprint[:12]}, the checkpoint records {version.train_manifest_sha256[:12]})"
        )
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
    return sum(panorama_set_places_check(version_id=version.pk, panorama_set=s, places=places) for s in sets)


def versions_places() -> list[VersionPlaces]:
    """Every registered version's training places, by name (what an import measures a new set against)."""
    return [
        VersionPlaces(version_id=version.pk, name=version.name, places=_training_places(version))
        for version in ModelVersion.objects.order_by("name")
    ]


def _training_places(version: ModelVersion) -> tuple[np.ndarray, np.ndarray] | None:
    if not (version.training_places_stored and version.train_manifest_sha256):
        return None
    key = training_places_key(manifest_sha256=version.train_manifest_sha256)
    if not object_exists(key=key):
        return None
    with np.load(io.BytesIO(object_read(key=key)), allow_pickle=False) as stored:
        return stored["latitudes"], stored["longitudes"]
