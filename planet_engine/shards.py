"""Reading prepared datasets (written by prepare.py): `dataset.json`, the shards' samples, and ShardStream, the
IterableDataset training streams them through.

Balanced: each epoch the shards are put in a seeded order (the same on every rank) and read as one sequence;
every rank takes the same number of full batches from its own contiguous stretch of it, and each of its data-loader
workers a contiguous part of that, so all ranks see the same number of samples and at most a batch per rank is
left over (a different few each epoch). A shuffle buffer mixes each worker's stretch (prepare has mixed the
shards already); `skip_batches` resumes an epoch part-way on the very batches that were next.

Robust: a sample that fails to decode is replaced by a blank image marked invalid (the training loss leaves it
out) and named on stderr, so one bad photo neither stops training nor shifts the batches of a resumed epoch.
"""

from __future__ import annotations

import csv
import io
import json
import random
import sys
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from planet_engine.labels import CellLabeler
from planet_engine.prepare import INDEX, sha256_file

Transform = Callable[[Image.Image, np.random.Generator], torch.Tensor]


def read_index(root: Path) -> dict[str, Any]:
    """dataset.json of a prepared folder, each shard checked to be there at the size prepare wrote (a stat, not a
    hash: `verify_shards` hashes, on request)."""
    path = root / INDEX
    if not path.is_file():
        raise ValueError(f"{root}: no {INDEX}; prepare the dataset first (`python -m planet_engine prepare`)")
    index: dict[str, Any] = json.loads(path.read_text())
    wrong = [
        s["name"]
        for s in index["shards"]
        if not (root / s["name"]).is_file() or ("bytes" in s and (root / s["name"]).stat().st_size != s["bytes"])
    ]
    if wrong:
        raise ValueError(
            f"{root}: shard(s) missing or not the size prepare wrote: {', '.join(wrong[:5])}"
            f"{' ...' if len(wrong) > 5 else ''}; rerun prepare into it to rewrite them"
        )
    return index


def verify_shards(root: Path, *, part: int = 0, parts: int = 1) -> list[str]:
    """The shards among every `parts`-th from `part` whose sha256 differs from dataset.json's (each training rank
    hashes its own share, in parallel)."""
    shards = read_index(root)["shards"][part::parts]
    return [s["name"] for s in shards if sha256_file(root / s["name"]) != s["sha256"]]


def evaluation_manifest(root: Path, *, limit: int | None = None, seed: int = 0) -> Path:
    """The shards' images as files with a manifest CSV (file, latitude, longitude, country), written once under
    `root/evaluation/`: evaluation reads a manifest, and the standard test sets are small (3k to 210k photos).
    With `limit`, whole shards in a seeded order until at least `limit` photos, under `root/gallery-<limit>-<seed>/`
    (the kNN baseline's gallery from a training set of millions)."""
    index = read_index(root)
    shards = index["shards"]
    folder = root / "evaluation"
    if limit is not None and limit < index["samples"]:
        shards = epoch_order([(s["name"], s["count"]) for s in shards], seed=seed, epoch=0)
        chosen = next(n for n in range(1, len(shards) + 1) if sum(c for _, c in shards[:n]) >= limit)
        shards = [{"name": name, "count": count} for name, count in shards[:chosen]]
        folder = root / f"gallery-{limit}-{seed}"
    manifest = folder / "manifest.csv"
    if manifest.is_file():
        with manifest.open() as handle:
            if sum(1 for _ in handle) == sum(s["count"] for s in shards) + 1:
                return manifest
    folder.mkdir(exist_ok=True)
    rows = []
    for shard in shards:
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


def iter_shard(path: Path, start: int = 0) -> Iterator[tuple[str, bytes, dict[str, Any]]]:
    """(key, image bytes, json) of each sample of one shard from the `start`-th on, in order (prepare writes each
    sample's jpg then its json; the skipped samples' bytes are not read)."""
    pending: dict[str, dict[str, bytes]] = {}
    with tarfile.open(path) as tar:
        for position, member in enumerate(tar):
            if position // 2 < start:
                continue
            extracted = tar.extractfile(member)
            if extracted is None:
                continue
            key, _, suffix = member.name.rpartition(".")
            pending.setdefault(key, {})[suffix] = extracted.read()
            if {"jpg", "json"} <= pending[key].keys():
                parts = pending.pop(key)
                yield key, parts["jpg"], json.loads(parts["json"])


def epoch_order(shards: list[tuple[str, int]], *, seed: int, epoch: int) -> list[tuple[str, int]]:
    """The shards (name, count) in the order epoch `epoch` reads them: seeded, the same on every rank."""
    order = list(shards)
    random.Random(f"{seed}/{epoch}").shuffle(order)
    return order


def steps_per_epoch(total: int, *, world: int, batch_size: int) -> int:
    """Full batches each rank takes per epoch: every rank the same number of samples."""
    return total // world // batch_size


def worker_span(
    *, rank: int, world: int, worker: int, workers: int, steps: int, batch_size: int, total: int
) -> tuple[int, int]:
    """[start, stop) of the epoch's sample sequence that one data-loader worker of one rank reads: the rank's
    stretch of steps * batch_size samples, cut into its workers' batches (worker w makes batches w, w + W, ...)."""
    per_rank = total // world
    start = rank * per_rank
    for earlier in range(worker):
        start += len(range(earlier, steps, workers)) * batch_size
    return start, start + len(range(worker, steps, workers)) * batch_size


@dataclass
class ShardStream(torch.utils.data.IterableDataset[dict[str, Any]]):
    """Samples as {"image": (3, S, S), "latitude", "longitude", "label", "target": (C,) or (0,), "valid"}."""

    root: Path
    transform: Transform
    rank: int = 0
    world: int = 1
    shuffle_buffer: int = 1000
    seed: int = 0
    epoch: int = 0
    batch_size: int = 1
    skip_batches: int = 0  # batches this rank already trained on in this epoch (a mid-epoch resume)
    labeler: CellLabeler | None = None

    def __post_init__(self) -> None:
        super().__init__()
        index = read_index(self.root)
        self.shards = [(str(shard["name"]), int(shard["count"])) for shard in index["shards"]]
        self.total = sum(count for _, count in self.shards)
        self.steps = steps_per_epoch(self.total, world=self.world, batch_size=self.batch_size)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        info = torch.utils.data.get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        start, stop = worker_span(
            rank=self.rank,
            world=self.world,
            worker=worker,
            workers=workers,
            steps=self.steps,
            batch_size=self.batch_size,
            total=self.total,
        )
        order = random.Random(f"{self.seed}/{self.epoch}/{self.rank}/{worker}")
        # A DataLoader takes whole batches from its workers in turn: worker w made batches w, w + W, ...
        skip = len(range(worker, self.skip_batches, workers)) * self.batch_size
        blank: torch.Tensor | None = None
        for index, (where, latitude, longitude, data) in enumerate(self._shuffled(start, stop, order)):
            if index < skip:
                continue
            # Each sample's own crop generator: a resumed epoch crops the samples it has left as the whole would.
            generator = np.random.default_rng([self.seed, self.epoch, self.rank, worker, index])
            try:
                with Image.open(io.BytesIO(data)) as opened:
                    image = self.transform(opened.convert("RGB"), generator)
                valid = True
            except Exception as error:  # Pillow raises many kinds for a broken file
                print(f"warning: skipping sample {where}: {error}", file=sys.stderr, flush=True)
                if blank is None:
                    blank = torch.zeros_like(self.transform(Image.new("RGB", (8, 8)), generator))
                image, valid = blank, False
            label = self.labeler.label(latitude, longitude) if self.labeler else -1
            target = self.labeler.target(latitude, longitude) if self.labeler else torch.zeros(0)
            yield {
                "image": image,
                "latitude": latitude,
                "longitude": longitude,
                "label": label,
                "target": target,
                "valid": valid,
                "sample": where,
            }

    def _sequence(self, start: int, stop: int) -> Iterator[tuple[str, float, float, bytes]]:
        """The samples [start, stop) of this epoch's shard sequence."""
        offset = 0
        for name, count in epoch_order(self.shards, seed=self.seed, epoch=self.epoch):
            if offset + count > start and offset < stop:
                for position, (key, data, record) in enumerate(
                    iter_shard(self.root / name, max(0, start - offset)), start=max(0, start - offset)
                ):
                    if offset + position >= stop:
                        break
                    yield f"{name}/{key}", float(record["latitude"]), float(record["longitude"]), data
            offset += count

    def _shuffled(self, start: int, stop: int, order: random.Random) -> Iterator[tuple[str, float, float, bytes]]:
        buffer: list[tuple[str, float, float, bytes]] = []
        for item in self._sequence(start, stop):
            buffer.append(item)
            if len(buffer) >= self.shuffle_buffer:
                chosen = order.randrange(len(buffer))
                buffer[chosen], buffer[-1] = buffer[-1], buffer[chosen]
                yield buffer.pop()
        order.shuffle(buffer)
        yield from buffer
