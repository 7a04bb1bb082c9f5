"""bench/engine's training step rates: fine-tuning fed by the DataLoader from JPEG files and from cached
tensors, interleaved, and the linear probe on cached embeddings."""

from __future__ import annotations

import csv
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from bench.engine.workload import Sizes, median, photo_jpeg, timings
from planet_engine.cells import CellSet
from planet_engine.data import ImageDataset
from planet_engine.manifest import read_manifest
from planet_engine.model import GeoClassifier

FINETUNE_BATCH = 16
PROBE_BATCH = 64


def write_training_set(
    folder: Path, rng: np.random.Generator, count: int, lat: np.ndarray, lon: np.ndarray, assignment: np.ndarray
) -> Path:
    """`count` 640x480 JPEGs at photo locations that fall in kept cells, and their manifest."""
    (folder / "images").mkdir(parents=True, exist_ok=True)
    chosen = rng.choice(np.flatnonzero(assignment >= 0), size=count, replace=False)
    manifest = folder / "manifest.csv"
    with manifest.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "latitude", "longitude"])
        for k, row in enumerate(chosen):
            name = f"images/{k:04d}.jpg"
            (folder / name).write_bytes(photo_jpeg(rng, 640, 480))
            writer.writerow([name, f"{lat[row]:.6f}", f"{lon[row]:.6f}"])
    return manifest


def finetune_step(
    model: GeoClassifier, optimizer: torch.optim.Optimizer
) -> Callable[[torch.Tensor, torch.Tensor], None]:
    """One fine-tuning step as train.py takes it on CPU (no autocast, AdamW, cross-entropy, its bookkeeping)."""

    def step(images: torch.Tensor, labels: torch.Tensor) -> None:
        logits = model(images)
        loss = F.cross_entropy(logits.float(), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]  # torch leaves Tensor.backward unannotated
        optimizer.step()
        float(loss.detach()), int((logits.argmax(1) == labels).sum())

    return step


def bench_training(sizes: Sizes, cells: CellSet, manifest_path: Path, num_workers: int) -> dict[str, Any]:
    manifest = read_manifest(manifest_path)
    labels = torch.from_numpy(cells.assign(manifest.latitudes, manifest.longitudes))
    assert bool((labels >= 0).all()), "training photos must fall in kept cells"
    backbone = "efficientnet-lite0"
    previous_deterministic = torch.are_deterministic_algorithms_enabled()
    torch.manual_seed(0)
    torch.use_deterministic_algorithms(True, warn_only=True)  # as train.py's default (deterministic=True)
    try:
        # Fine-tuning, as train.py's _finetune_epochs runs it on CPU (no autocast, AdamW, cross-entropy).
        model = GeoClassifier(backbone, len(cells), pretrained=True)
        size = model.spec.image_size
        model.set_trainable("last")
        optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=3e-3, weight_decay=0.05)
        dataset = ImageDataset(manifest.image_paths, size, train=True, seed=0)
        loader = torch.utils.data.DataLoader(
            dataset,
            batch_size=FINETUNE_BATCH,
            shuffle=True,
            num_workers=num_workers,
            generator=torch.Generator().manual_seed(0),
            persistent_workers=num_workers > 0,
        )
        model.train()

        train_step = finetune_step(model, optimizer)

        def step(images: torch.Tensor, index: torch.Tensor) -> None:
            train_step(images, labels[index])

        def batches() -> Any:
            epoch = 0
            while True:
                dataset.epoch = epoch
                yield from loader
                epoch += 1

        # The same batches pre-decoded in memory: one epoch's worth, cycled.
        cached = [(images.clone(), index.clone()) for images, index in loader]
        stream = batches()
        load_s, loaded_step_s, cached_step_s = [], [], []
        for k in range(sizes.finetune_warmup + sizes.finetune_steps):
            # Interleaved: one step fed by the DataLoader (its decode + crop timed), one from memory.
            start = time.perf_counter()
            images, index = next(stream)
            fetched = time.perf_counter()
            step(images, index)
            done = time.perf_counter()
            step(*cached[k % len(cached)])
            cached_done = time.perf_counter()
            if k >= sizes.finetune_warmup:
                load_s.append(fetched - start)
                loaded_step_s.append(done - start)
                cached_step_s.append(cached_done - done)
        t_loaded, t_cached = median(loaded_step_s), median(cached_step_s)

        # Linear probe on cached embeddings: head only, batch 64, as _linear_probe_epochs.
        probe = GeoClassifier(backbone, len(cells), pretrained=False)
        probe.set_trainable("head")
        probe_optimizer = torch.optim.AdamW(
            [p for p in probe.parameters() if p.requires_grad], lr=3e-3, weight_decay=0.05
        )
        generator = torch.Generator().manual_seed(0)
        embeddings = torch.rand(sizes.probe_rows, probe.spec.embedding_dim, generator=generator)
        probe_labels = torch.randint(0, len(cells), (sizes.probe_rows,), generator=generator)
        probe.train()

        def probe_epoch() -> None:
            order = torch.randperm(len(embeddings), generator=generator)
            for start in range(0, len(order), PROBE_BATCH):
                batch = order[start : start + PROBE_BATCH]
                logits = probe.classify(embeddings[batch])
                loss = F.cross_entropy(logits, probe_labels[batch])
                probe_optimizer.zero_grad(set_to_none=True)
                loss.backward()  # type: ignore[no-untyped-call]  # as above
                probe_optimizer.step()
                float(loss.detach()), int((logits.argmax(1) == probe_labels[batch]).sum())

        steps_per_epoch = -(-sizes.probe_rows // PROBE_BATCH)
        t_probe = median(timings(probe_epoch, warmup=1, repeats=sizes.probe_repeats)) / steps_per_epoch
    finally:
        torch.use_deterministic_algorithms(previous_deterministic)
    return {
        "backbone": backbone,
        "image_size": size,
        "cells": len(cells),
        "trainable": "last",
        "train_images": len(manifest),
        "jpeg": "640x480",
        "num_workers": num_workers,
        "finetune_batch": FINETUNE_BATCH,
        "finetune_steps_timed": sizes.finetune_steps,
        "finetune_jpeg_s_per_step": t_loaded,
        "finetune_jpeg_steps_per_s": 1 / t_loaded,
        "finetune_jpeg_images_per_s": FINETUNE_BATCH / t_loaded,
        "finetune_load_s_per_batch": median(load_s),
        "finetune_cached_s_per_step": t_cached,
        "finetune_cached_steps_per_s": 1 / t_cached,
        "finetune_cached_images_per_s": FINETUNE_BATCH / t_cached,
        "probe_batch": PROBE_BATCH,
        "probe_s_per_step": t_probe,
        "probe_steps_per_s": 1 / t_probe,
        "probe_images_per_s": PROBE_BATCH / t_probe,
    }
