"""`python -m bench.engine.throughput`: how fast `prepare` writes shards (images/s per core, peak memory) and how
fast the training loader feeds samples (samples/s per data-loader worker, labels and soft targets included), on
an OSV-5M-like miniature built here (zipped like the download, photos the size of OSV-5M's), with the projection
for the full OSV-5M on N cores.

Each number is a median of `--repeats` runs. The loader runs without a network: it is the feed, to compare with a
training step's rate on the machine that trains (bench.engine measures the CPU's; a GPU's was not measured).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import shutil
import tempfile
import time
import zipfile
from pathlib import Path
from statistics import median
from typing import Any

import numpy as np
import torch
from PIL import Image

from planet_engine.cells import CellSet, adaptive_partition
from planet_engine.labels import CellLabeler
from planet_engine.layouts import read_layout
from planet_engine.prepare import write_shards
from planet_engine.shards import ShardStream
from planet_engine.stream_train import TrainCrop
from tests.planet_engine import miniatures as mini

OSV5M_TRAIN_IMAGES = 4_894_685  # train.csv's rows
OSV5M_SIZE = (512, 384)  # OSV-5M's images are 512 px wide


def photo(seed: int) -> bytes:
    """A 512x384 JPEG that compresses like a photo (smooth fields and some texture), ~30-60 KB."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0 : OSV5M_SIZE[1], 0 : OSV5M_SIZE[0]]
    base = np.stack([np.sin(x / rng.uniform(20, 80) + c) * np.cos(y / rng.uniform(20, 80)) for c in range(3)], -1)
    pixels = np.clip(128 + 90 * base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def build(root: Path, count: int) -> None:
    latitudes = np.random.default_rng(1).uniform(-60, 70, count)
    longitudes = np.random.default_rng(2).uniform(-180, 180, count)
    places = [(float(lat), float(lon)) for lat, lon in zip(latitudes, longitudes, strict=True)]
    ids = mini.osv5m(root, places=places, zips=4)
    # Real-sized photos in place of the miniature's thumbnails.
    images = root / "images" / "train"
    for archive in images.glob("*.zip"):
        archive.unlink()
    for n, identifier in enumerate(ids):
        with zipfile.ZipFile(images / f"{n % 4:02d}.zip", "a") as handle:
            handle.writestr(f"{n % 4:02d}/{identifier}.jpg", photo(n))


def peak_rss_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def bench_prepare(root: Path, jobs: int, repeats: int) -> dict[str, Any]:
    read = read_layout("osv5m", root=root)
    times = []
    for _ in range(repeats):
        out = root.parent / f"shards-{jobs}"
        shutil.rmtree(out, ignore_errors=True)
        started = time.perf_counter()
        write_shards(read.samples, read.source, out, dataset="osv5m", shard_bytes=2_000_000, jobs=jobs, progress=False)
        times.append(time.perf_counter() - started)
    rate = len(read.samples) / median(times)
    return {
        "jobs": jobs,
        "images": len(read.samples),
        "images_per_s": rate,
        "images_per_s_per_job": rate / jobs,
        "peak_rss_mb": peak_rss_mb(),
    }


def bench_loader(shards: Path, cells: CellSet, workers: int, size: int, repeats: int) -> dict[str, Any]:
    rates = []
    for _ in range(repeats):
        stream = ShardStream(
            shards, TrainCrop(size), shuffle_buffer=256, batch_size=32, labeler=CellLabeler(cells, tau_km=75.0)
        )
        loader = torch.utils.data.DataLoader(stream, batch_size=32, num_workers=workers)
        started, seen = time.perf_counter(), 0
        for batch in loader:
            seen += len(batch["label"])
        rates.append(seen / (time.perf_counter() - started))
    rate = median(rates)
    return {"workers": workers, "samples_per_s": rate, "samples_per_s_per_worker": rate / max(workers, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.engine.throughput", description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=600)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--image-size", type=int, default=260, help="training crop (Lite2's native 260)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="planet-throughput-") as temporary:
        root = Path(temporary) / "osv5m"
        build(root, args.images)
        prepare = [bench_prepare(root, jobs, args.repeats) for jobs in sorted({1, cores})]
        shards = root.parent / "shards-1"
        locations = np.loadtxt(shards / "locations.csv", delimiter=",", skiprows=1, usecols=(1, 2))
        cells = CellSet.from_partition(adaptive_partition(locations[:, 0], locations[:, 1], t1=2, t2=1))
        loader = [
            bench_loader(shards, cells, workers, args.image_size, args.repeats) for workers in sorted({0, 1, cores})
        ]
    per_core = prepare[0]["images_per_s"]
    result = {
        "machine_cores": cores,
        "prepare": prepare,
        "loader": loader,
        "cells": len(cells),
        "osv5m_prepare_core_hours": OSV5M_TRAIN_IMAGES / per_core / 3600,
    }
    print(json.dumps(result, indent=1))
    for cores_projected in (8, 16, 32, 64):
        print(
            f"OSV-5M train ({OSV5M_TRAIN_IMAGES:,} images) on {cores_projected} cores: "
            f"{OSV5M_TRAIN_IMAGES / per_core / cores_projected / 60:.0f} min if prepare scales with --jobs"
        )
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
