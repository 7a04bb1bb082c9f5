"""bench/engine's streaming rate: fine-tuning fed from prepared WebDataset shards (ShardStream through the
DataLoader, as `train --manifest <prepared folder>` runs it) against the same steps on batches already in memory
(compute-bound), interleaved. Goal: streaming keeps at least 90% of the compute-bound step rate."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch

from bench.engine.training import FINETUNE_BATCH, finetune_step
from bench.engine.workload import Sizes, median
from planet_engine.cells import CellSet
from planet_engine.image_sources import FolderImages
from planet_engine.labels import CellLabeler
from planet_engine.layouts import Sample
from planet_engine.manifest import read_manifest
from planet_engine.model import GeoClassifier
from planet_engine.prepare import write_shards
from planet_engine.shards import ShardStream
from planet_engine.stream_train import TrainCrop

GOAL = 0.9


def bench_streaming(sizes: Sizes, cells: CellSet, manifest_path: Path, num_workers: int) -> dict[str, Any]:
    manifest = read_manifest(manifest_path)
    samples = [Sample(f"s{k:05d}", row.file, row.latitude, row.longitude) for k, row in enumerate(manifest.rows)]
    shards = manifest_path.parent / "shards"
    total = sum(path.stat().st_size for path in manifest.image_paths)
    # At least four shards, so that every data-loader worker has its own.
    write_shards(
        samples,
        FolderImages(manifest_path.parent),
        shards,
        dataset="bench",
        shard_bytes=max(1, total // 4),
        progress=False,
    )
    torch.manual_seed(0)
    model = GeoClassifier("efficientnet-lite0", len(cells), pretrained=True)
    size = model.spec.image_size
    model.set_trainable("last")
    model.train()
    step = finetune_step(
        model, torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=3e-3, weight_decay=0.05)
    )

    def batches() -> Any:
        epoch = 0
        while True:
            stream = ShardStream(
                shards,
                TrainCrop(size),
                shuffle_buffer=64,
                epoch=epoch,
                batch_size=FINETUNE_BATCH,
                labeler=CellLabeler(cells, tau_km=None),
            )
            yield from torch.utils.data.DataLoader(stream, batch_size=FINETUNE_BATCH, num_workers=num_workers)
            epoch += 1

    feed = batches()
    cached = []
    for _ in range(4):
        batch = next(feed)
        cached.append((batch["image"].clone(), batch["label"].clamp(min=0)))
    streamed_s, cached_s = [], []
    for k in range(sizes.finetune_warmup + sizes.finetune_steps):
        start = time.perf_counter()
        batch = next(feed)  # labels built in the loader's workers, as training does
        step(batch["image"], batch["label"].clamp(min=0))
        done = time.perf_counter()
        step(*cached[k % len(cached)])
        cached_done = time.perf_counter()
        if k >= sizes.finetune_warmup:
            streamed_s.append(done - start)
            cached_s.append(cached_done - done)
    ratio = median(cached_s) / median(streamed_s)
    return {
        "shards": len(list(shards.glob("shard-*.tar"))),
        "num_workers": num_workers,
        "batch": FINETUNE_BATCH,
        "streamed_steps_per_s": 1 / median(streamed_s),
        "cached_steps_per_s": 1 / median(cached_s),
        "streamed_over_cached": ratio,
        "goal": GOAL,
        "pass": ratio >= GOAL,
    }
