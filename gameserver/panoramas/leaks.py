"""The training-leak check: panoramas within a radius of a photo the model was trained on are flagged, and
left out of the benchmark (a model may have memorised the place)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from django.db import transaction

from gameserver.panoramas.models import Panorama, PanoramaSet
from planet_engine.geo import pairwise_distances_km
from planet_engine.manifest import read_manifest

# Distance-matrix entries computed at once: 256 x 16384 float64 is 32 MiB.
_LEAK_BLOCK_PANORAMAS = 256
_LEAK_BLOCK_TRAINING = 16_384


def panorama_set_flag_training_leaks(*, panorama_set: PanoramaSet, training_manifest: Path,
                                     radius_km: float = 1.0) -> int:
    """Record each panorama's distance to the nearest training photo and flag those within radius_km.

    Only the training manifest's coordinates are read (its images need not be here). Returns how many
    panoramas of the set are flagged; a rerun with another manifest replaces earlier flags.
    """
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
    return sum(p.near_training_photo for p in panoramas)


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
