"""Sharded datasets in the WebDataset layout: tar files of `<key>.jpg` + `<key>.json` ({"latitude", "longitude",
...}), about `shard_bytes` each, beside `dataset.json` (the shards, their sample counts and sha256),
`SHA256SUMS` (`sha256sum -c` checks them) and `locations.csv` (file, latitude, longitude: what `partition`
reads). Writing is resumable: each shard is written as `.partial` and renamed when whole, and `progress.json`
records the finished ones, so a rerun after an interruption starts at the first unfinished shard.

Reading: ShardStream, an IterableDataset that gives each (rank, data-loader worker) its own shards and mixes
samples through a shuffle buffer, seeded per epoch; `skip_batches` resumes an epoch part-way.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import random
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from planet_engine.data import Progress
from planet_engine.layouts import ImageSource, Sample

DEFAULT_SHARD_BYTES = 1_000_000_000
INDEX = "dataset.json"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 0
    tar.addfile(info, io.BytesIO(data))


def _check_image(sample: Sample, data: bytes) -> None:
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
    except Exception as error:  # PIL raises many kinds for a broken file
        raise ValueError(f"{sample.image}: not a readable image ({error})") from None


def write_shards(samples: list[Sample], source: ImageSource, out: Path, *, dataset: str,
                 shard_bytes: int = DEFAULT_SHARD_BYTES, progress: bool = True) -> dict[str, Any]:
    """Write `samples` as shards under `out`, resuming from progress.json; returns dataset.json's content."""
    out.mkdir(parents=True, exist_ok=True)
    fingerprint = hashlib.sha256("\n".join(f"{s.key},{s.image},{s.latitude!r},{s.longitude!r}"
                                           for s in samples).encode()).hexdigest()
    state_path = out / "progress.json"
    state: dict[str, Any] = {"fingerprint": fingerprint, "shards": []}
    if state_path.is_file():
        saved = json.loads(state_path.read_text())
        if saved.get("fingerprint") != fingerprint:
            raise ValueError(f"{out} holds shards of other rows: prepare into an empty folder")
        state = saved
    done = sum(shard["count"] for shard in state["shards"])
    bar = Progress("samples", len(samples), enabled=progress)
    bar.update(done)
    position = done
    while position < len(samples):
        name = f"shard-{len(state['shards']):06d}.tar"
        partial = out / f"{name}.partial"
        first, size = position, 0
        with tarfile.open(partial, "w") as tar:
            while position < len(samples) and (size == 0 or size < shard_bytes):
                sample = samples[position]
                data = source.read(sample.image)
                _check_image(sample, data)
                record = json.dumps({"latitude": sample.latitude, "longitude": sample.longitude,
                                     **sample.meta}, sort_keys=True).encode()
                _add(tar, f"{sample.key}.jpg", data)
                _add(tar, f"{sample.key}.json", record)
                size += len(data) + len(record) + 1024
                position += 1
                bar.update()
        partial.rename(out / name)
        state["shards"].append({"name": name, "first": first, "count": position - first,
                                "sha256": _sha256(out / name)})
        state_path.write_text(json.dumps(state, indent=1))
    return _finish(samples, state, out, dataset)


def _finish(samples: list[Sample], state: dict[str, Any], out: Path, dataset: str) -> dict[str, Any]:
    index = {"format": "webdataset", "dataset": dataset, "samples": len(samples), "shards": state["shards"]}
    (out / INDEX).write_text(json.dumps(index, indent=1))
    (out / "SHA256SUMS").write_text("".join(f"{s['sha256']}  {s['name']}\n" for s in state["shards"]))
    with (out / "locations.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "latitude", "longitude"])
        for shard in state["shards"]:
            for sample in samples[shard["first"]:shard["first"] + shard["count"]]:
                writer.writerow([f"{shard['name']}/{sample.key}.jpg", repr(sample.latitude), repr(sample.longitude)])
    return index


def read_index(root: Path, *, verify: bool = False) -> dict[str, Any]:
    """dataset.json of a prepared folder; `verify` checks every shard's sha256 too."""
    path = root / INDEX
    if not path.is_file():
        raise ValueError(f"{root}: no {INDEX}; prepare the dataset first (`python -m planet_engine prepare`)")
    index: dict[str, Any] = json.loads(path.read_text())
    if verify:
        bad = [s["name"] for s in index["shards"] if _sha256(root / s["name"]) != s["sha256"]]
        if bad:
            raise ValueError(f"{root}: shard(s) changed since prepare: {', '.join(bad)}")
    return index


def evaluation_manifest(root: Path) -> Path:
    """The shards' images as files with a manifest CSV (file, latitude, longitude, country), written once under
    `root/evaluation/`: evaluation reads a manifest, and the standard test sets are small (3k to 210k photos)."""
    folder = root / "evaluation"
    manifest = folder / "manifest.csv"
    index = read_index(root)
    if manifest.is_file():
        with manifest.open() as handle:
            if sum(1 for _ in handle) == index["samples"] + 1:
                return manifest
    folder.mkdir(exist_ok=True)
    rows = []
    for shard in index["shards"]:
        for key, data, record in iter_shard(root / shard["name"]):
            (folder / f"{key}.jpg").write_bytes(data)
            rows.append([f"{key}.jpg", repr(record["latitude"]), repr(record["longitude"]), record.get("country", "")])
    with_country = all(row[3] for row in rows)  # a country column only where every photo has one (OSV-5M)
    partial = manifest.with_suffix(".partial")
    with partial.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "latitude", "longitude", *(["country"] if with_country else [])])
        writer.writerows(row if with_country else row[:3] for row in rows)
    partial.rename(manifest)
    return manifest


def iter_shard(path: Path) -> Iterator[tuple[str, bytes, dict[str, Any]]]:
    """(key, image bytes, json) of each sample of one shard, in order."""
    pending: dict[str, dict[str, Any]] = {}
    with tarfile.open(path) as tar:
        for member in tar:
            extracted = tar.extractfile(member)
            if extracted is None:
                continue
            key, _, suffix = member.name.rpartition(".")
            pending.setdefault(key, {})[suffix] = extracted.read()
            if {"jpg", "json"} <= pending[key].keys():
                parts = pending.pop(key)
                yield key, parts["jpg"], json.loads(parts["json"])


def shards_of(shards: list[str], rank: int, world: int, worker: int, workers: int) -> list[str]:
    """The shards one data-loader worker of one rank reads: every (world * workers)-th, so none is read twice."""
    return shards[rank * workers + worker::world * workers]


@dataclass
class ShardStream(torch.utils.data.IterableDataset[tuple[torch.Tensor, float, float]]):
    root: Path
    transform: Callable[[Image.Image, np.random.Generator], torch.Tensor]
    rank: int = 0
    world: int = 1
    shuffle_buffer: int = 1000
    seed: int = 0
    epoch: int = 0
    batch_size: int = 1
    skip_batches: int = 0  # batches this rank already trained on in this epoch (a mid-epoch resume)

    def __post_init__(self) -> None:
        super().__init__()
        self.shards = [shard["name"] for shard in read_index(self.root)["shards"]]
        if len(self.shards) < self.world:
            raise ValueError(f"{self.root}: {len(self.shards)} shard(s) for {self.world} ranks; prepare with "
                             "a smaller --shard-size so that every rank gets at least one")

    def __iter__(self) -> Iterator[tuple[torch.Tensor, float, float]]:
        info = torch.utils.data.get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        mine = shards_of(self.shards, self.rank, self.world, worker, workers)
        order = random.Random(f"{self.seed}/{self.epoch}/{self.rank}/{worker}")
        order.shuffle(mine)
        # A DataLoader takes whole batches from its workers in turn: worker w made batches w, w + W, ...
        skip = len(range(worker, self.skip_batches, workers)) * self.batch_size
        for index, (latitude, longitude, data) in enumerate(self._shuffled(mine, order)):
            if index < skip:
                continue
            with Image.open(io.BytesIO(data)) as opened:
                image = opened.convert("RGB")
            # Each sample's own crop generator: a resumed epoch crops the samples it has left as the whole would.
            generator = np.random.default_rng([self.seed, self.epoch, self.rank, worker, index])
            yield self.transform(image, generator), latitude, longitude

    def _shuffled(self, shards: list[str], order: random.Random) -> Iterator[tuple[float, float, bytes]]:
        buffer: list[tuple[float, float, bytes]] = []
        for shard in shards:
            for _, data, record in iter_shard(self.root / shard):
                buffer.append((float(record["latitude"]), float(record["longitude"]), data))
                if len(buffer) >= self.shuffle_buffer:
                    yield buffer.pop(order.randrange(len(buffer)))
        order.shuffle(buffer)
        yield from buffer


def steps_per_epoch(root: Path, *, world: int, workers: int, batch_size: int) -> int:
    """Full batches every rank can take in an epoch: DDP ranks must take the same number of steps."""
    counts: list[int] = [int(shard["count"]) for shard in read_index(root)["shards"]]
    return min(sum(sum(counts[rank * workers + worker::world * workers]) // batch_size for worker in range(workers))
               for rank in range(world))
