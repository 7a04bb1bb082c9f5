"""Fixtures shared by every test package: a synthetic, learnable photo set (colour and texture encode the
region), a real tiny checkpoint trained on it (the game server's and the browser tests' opponent) and the
real datasets' location."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from planet_engine.cells import CellSet, adaptive_partition
from planet_engine.manifest import data_dir, read_manifest
from planet_engine.train import TrainConfig, train

# Four far-apart regions; each has its own colour and stripe direction, so a frozen ImageNet backbone
# separates them and a classifier over cells can learn them.
REGIONS = {
    "paris": ((48.85, 2.35), (200, 40, 40), "vertical"),
    "nairobi": ((-1.29, 36.82), (40, 180, 60), "horizontal"),
    "tokyo": ((35.68, 139.69), (40, 60, 210), "diagonal"),
    "lima": ((-12.05, -77.04), (220, 200, 40), "checker"),
}


def synthetic_image(colour: tuple[int, int, int], pattern: str, rng: np.random.Generator,
                    size: tuple[int, int] = (96, 72)) -> Image.Image:
    width, height = size
    y, x = np.mgrid[0:height, 0:width]
    mask = {"vertical": (x // 8) % 2, "horizontal": (y // 8) % 2, "diagonal": ((x + y) // 8) % 2,
            "checker": ((x // 8) + (y // 8)) % 2}[pattern]
    base = np.array(colour, dtype=np.float64)[None, None, :] * (0.6 + 0.4 * mask[..., None])
    noisy = base + rng.normal(0, 12, size=(height, width, 3))
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))


def write_synthetic_set(folder: Path, *, per_region: int, seed: int, size: tuple[int, int] = (96, 72),
                        equirectangular: int = 0) -> Path:
    """JPEGs near each region's centre (jittered by ~0.3°) and their manifest; returns the manifest path.

    The default size keeps training fast; the browser tests ask for screen-sized photos (width, height) and
    a few 2:1 equirectangular panoramas (regions in turn), which add a `kind` column to the manifest.
    """
    rng = np.random.default_rng(seed)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, object]] = []

    def add(file: str, image: Image.Image, latitude: float, longitude: float, name: str, kind: str) -> None:
        image.save(folder / file, quality=90)
        rows.append({"file": file, "latitude": latitude + rng.normal(0, 0.3),
                     "longitude": longitude + rng.normal(0, 0.3), "country": "", "region": name}
                    | ({"kind": kind} if equirectangular else {}))

    for name, ((latitude, longitude), colour, pattern) in REGIONS.items():
        for k in range(per_region):
            add(f"images/{name}-{seed}-{k}.jpg", synthetic_image(colour, pattern, rng, size),
                latitude, longitude, name, "photo")
    for k in range(equirectangular):
        name, ((latitude, longitude), colour, pattern) = list(REGIONS.items())[k % len(REGIONS)]
        add(f"images/{name}-{seed}-equirectangular-{k}.jpg",
            synthetic_image(colour, pattern, rng, (2 * size[1], size[1])), latitude, longitude, name,
            "equirectangular")
    manifest = folder / "manifest.csv"
    with manifest.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return manifest


@pytest.fixture(scope="session")
def synthetic_set_writer() -> Callable[..., Path]:
    """write_synthetic_set for the conftests below this one, which cannot import it: each is a `conftest`."""
    return write_synthetic_set


@pytest.fixture(scope="session")
def synthetic_train(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic_set(tmp_path_factory.mktemp("synthetic-train"), per_region=12, seed=1)


@pytest.fixture(scope="session")
def synthetic_test(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic_set(tmp_path_factory.mktemp("synthetic-test"), per_region=5, seed=2)


@pytest.fixture(scope="session")
def tiny_checkpoint(synthetic_train: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real PlaNet checkpoint (Lite0 linear probe at 64 px) that tells the four synthetic regions apart."""
    folder = tmp_path_factory.mktemp("tiny-model")
    manifest = read_manifest(synthetic_train)
    partition = adaptive_partition(manifest.latitudes, manifest.longitudes, t1=10, t2=2)
    CellSet.from_partition(partition).write_csv(folder / "cells.csv")
    train(TrainConfig(manifest=str(synthetic_train), cells=str(folder / "cells.csv"), out=str(folder / "model.pt"),
                      image_size=64, epochs=15, lr=1e-2, weight_decay=1e-4, cache_dir=None, quiet=True))
    return folder / "model.pt"


@pytest.fixture(scope="session")
def datasets() -> Path:
    """The real datasets (../shared/datasets by default); a missing folder fails loudly, never skips."""
    folder = data_dir()
    assert (folder / "yfcc-train" / "manifest.csv").is_file(), f"datasets not found in {folder} (PLANET_DATA_DIR)"
    return folder
