"""What bench/engine runs on and how it times it: the sizes of a full and a quick run, the timing loop, and
the synthetic inputs (points on the sphere, photo-like JPEGs)."""

from __future__ import annotations

import io
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageFilter


@dataclass(frozen=True)
class Sizes:
    partition_points: int
    s2sphere_points: int
    partition_repeats: int
    predictor_backbones: tuple[str, ...]
    predictor_repeats: int
    train_images: int
    finetune_warmup: int
    finetune_steps: int
    probe_rows: int
    probe_repeats: int


FULL = Sizes(1_000_000, 20_000, 5, ("efficientnet-lite0", "efficientnet-lite2"), 21, 64, 2, 16, 8192, 7)
QUICK = Sizes(1_000_000, 5_000, 3, ("efficientnet-lite0",), 8, 32, 1, 4, 4096, 3)


def timings(fn: Callable[[], Any], *, warmup: int, repeats: int) -> list[float]:
    """Seconds per call of fn, after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    result = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        result.append(time.perf_counter() - start)
    return result


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def sphere_points(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """n points uniform on the sphere, in degrees."""
    xyz = rng.normal(size=(n, 3))
    xyz /= np.linalg.norm(xyz, axis=1, keepdims=True)
    return np.degrees(np.arcsin(xyz[:, 2])), np.degrees(np.arctan2(xyz[:, 1], xyz[:, 0]))


def photo_like_points(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Half uniform, half around 40 'cities' (sigma 3°): partitions (t1=250, t2=25) into ~500 cells."""
    lat, lon = sphere_points(rng, n)
    city_lat, city_lon = sphere_points(rng, 40)
    m = n // 2
    city = rng.integers(0, 40, m)
    lat[:m] = np.clip(city_lat[city] + rng.normal(0, 3, m), -89.9, 89.9)
    lon[:m] = (city_lon[city] + rng.normal(0, 3, m) + 180.0) % 360.0 - 180.0
    return lat, lon


def photo_jpeg(rng: np.random.Generator, width: int, height: int) -> bytes:
    """A photo-like JPEG (sky gradient, textured ground, 'buildings', sensor noise, q=88): photo-sized files
    (~100 KB at 1024x768) that decode like real ones, unlike flat synthetic images."""
    y = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    x = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :, None]
    sky = np.array([110, 160, 230], np.float32) * (1 - y) + np.array([200, 220, 240], np.float32) * y
    ground = np.array([80, 110, 60], np.float32) + 40 * np.sin(x * rng.uniform(5, 30) + y * rng.uniform(3, 10))
    horizon = rng.uniform(0.35, 0.6)
    image = np.where(y < horizon, sky, ground)
    image = np.broadcast_to(image, (height, width, 3)).copy()
    for _ in range(int(rng.integers(3, 9))):
        left, w = int(rng.integers(0, width - 20)), int(rng.integers(20, width // 4))
        top = int(rng.integers(int(height * 0.15), int(height * horizon) + 1))
        image[top : int(height * horizon) + 20, left : left + w] = rng.uniform(60, 220, 3)
    image += rng.normal(0, 18, (height, width, 3)).astype(np.float32)
    pil = Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(1.2))
    buffer = io.BytesIO()
    pil.save(buffer, "JPEG", quality=88)
    return buffer.getvalue()


def decoded(data: bytes) -> Image.Image:
    """JPEG bytes -> a decoded image held in memory, as a server holds an upload it has opened."""
    image = Image.open(io.BytesIO(data))
    image.load()
    return image
