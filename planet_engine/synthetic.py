"""A synthetic, learnable photo set: four far-apart regions, each with its own colour and stripe direction, so a
frozen ImageNet backbone separates them and a classifier over cells can learn them. The tests train their tiny
checkpoint on it and the load benchmark (bench/load) serves it to its players."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from PIL import Image

# name -> ((latitude, longitude), RGB colour, stripe pattern)
REGIONS: dict[str, tuple[tuple[float, float], tuple[int, int, int], str]] = {
    "paris": ((48.85, 2.35), (200, 40, 40), "vertical"),
    "nairobi": ((-1.29, 36.82), (40, 180, 60), "horizontal"),
    "tokyo": ((35.68, 139.69), (40, 60, 210), "diagonal"),
    "lima": ((-12.05, -77.04), (220, 200, 40), "checker"),
}


def synthetic_image(
    colour: tuple[int, int, int], pattern: str, rng: np.random.Generator, size: tuple[int, int] = (96, 72)
) -> Image.Image:
    width, height = size
    y, x = np.mgrid[0:height, 0:width]
    mask = {
        "vertical": (x // 8) % 2,
        "horizontal": (y // 8) % 2,
        "diagonal": ((x + y) // 8) % 2,
        "checker": ((x // 8) + (y // 8)) % 2,
    }[pattern]
    base = np.array(colour, dtype=np.float64)[None, None, :] * (0.6 + 0.4 * mask[..., None])
    noisy = base + rng.normal(0, 12, size=(height, width, 3))
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))


def write_synthetic_set(
    folder: Path,
    *,
    per_region: int,
    seed: int,
    size: tuple[int, int] = (96, 72),
    equirectangular: int = 0,
    views_per_place: int = 1,
) -> Path:
    """JPEGs near each region's centre (jittered by ~0.3°) and their manifest; returns the manifest path.

    The default size keeps training fast; the browser tests ask for screen-sized photos (width, height) and
    a few 2:1 equirectangular panoramas (regions in turn), which add a `kind` column to the manifest. With
    views_per_place > 1 a region's photos come in places of that many views (one location, `place_id`,
    `view` and `heading` columns), as the game imports multi-view places.
    """
    rng = np.random.default_rng(seed)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, object]] = []

    def add(
        file: str, image: Image.Image, latitude: float, longitude: float, name: str, kind: str, view: int | None = None
    ) -> None:
        image.save(folder / file, quality=90)
        row: dict[str, object] = {
            "file": file,
            "latitude": latitude + rng.normal(0, 0.3),
            "longitude": longitude + rng.normal(0, 0.3),
            "country": "",
            "region": name,
        }
        if view is not None:  # the place's later views stand where its first does
            if view:
                row["latitude"], row["longitude"] = rows[-1]["latitude"], rows[-1]["longitude"]
            row |= {"place_id": f"{name}-{seed}-{len(rows) - view}", "view": f"view-{view}", "heading": 90 * view}
        rows.append(row | ({"kind": kind} if equirectangular else {}))

    for name, ((latitude, longitude), colour, pattern) in REGIONS.items():
        for k in range(per_region):
            add(
                f"images/{name}-{seed}-{k}.jpg",
                synthetic_image(colour, pattern, rng, size),
                latitude,
                longitude,
                name,
                "photo",
                k % views_per_place if views_per_place > 1 else None,
            )
    for k in range(equirectangular):
        name, ((latitude, longitude), colour, pattern) = list(REGIONS.items())[k % len(REGIONS)]
        add(
            f"images/{name}-{seed}-equirectangular-{k}.jpg",
            synthetic_image(colour, pattern, rng, (2 * size[1], size[1])),
            latitude,
            longitude,
            name,
            "equirectangular",
        )
    manifest = folder / "manifest.csv"
    with manifest.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return manifest
