"""Fine-tuning from prepared shards (`prepare`), for datasets too large to list as loose files: samples stream
through ShardStream (each rank and data-loader worker its own shards, a shuffle buffer), mixed precision on
GPUs, DDP under `torchrun --nproc-per-node N` (NCCL on GPUs, Gloo on CPUs). A checkpoint every
`checkpoint_every` steps and after each epoch holds the optimiser, the scheduler and the step, so `--resume`
continues mid-epoch on the very batches that were next. Images per second are logged and recorded.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from planet_engine.cells import CellSet
from planet_engine.checkpoint import EpochRecord, build_payload, save_checkpoint
from planet_engine.config import TrainConfig
from planet_engine.data import Progress, train_transform
from planet_engine.model import GeoClassifier
from planet_engine.shards import INDEX, ShardStream, read_index, steps_per_epoch
from planet_engine.train import (
    RESUME_KEYS,
    TrainResult,
    cell_loss,
    config_record,
    mixed_precision,
    resume_payload,
    soft_targets,
    training_start,
)


def is_prepared(path: str | Path) -> bool:
    """A folder written by `prepare` (rather than a manifest CSV)."""
    return (Path(path) / INDEX).is_file()


class TrainCrop:
    """The training crop at a fixed size (a class, not a closure: data-loader workers pickle it)."""

    def __init__(self, size: int) -> None:
        self.size = size

    def __call__(self, image: Image.Image, generator: np.random.Generator) -> torch.Tensor:
        return train_transform(image, self.size, generator)


def train_from_shards(config: TrainConfig) -> TrainResult:
    started = time.perf_counter()
    rank, world, device = training_start(config)
    if config.trainable == "head":
        raise ValueError("training from shards fine-tunes the network: --trainable last or all (the linear probe "
                         "caches every photo's embedding, which is for small manifests)")
    root = Path(config.manifest)
    index = read_index(root, verify=rank == 0)
    cells = CellSet.read_csv(config.cells)
    workers = max(1, config.num_workers)
    steps = steps_per_epoch(root, world=world, workers=workers, batch_size=config.batch_size)
    if steps == 0:
        raise ValueError(f"{root}: fewer than one batch of {config.batch_size} per rank and worker")

    model = GeoClassifier(config.backbone, len(cells), pretrained=config.pretrained, dropout=config.dropout)
    size = config.image_size or model.spec.image_size
    model.set_trainable(config.trainable)
    model.to(device)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=config.lr,
                                  weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs * steps)
    out = Path(config.out)
    start_epoch, start_step, history = 0, 0, list[EpochRecord]()
    if config.resume and out.is_file():
        start_epoch, start_step, history = _resume(out, config, cells, model, optimizer, scheduler)
    network: torch.nn.Module = model
    if world > 1:
        network = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None)
    use_amp, amp_dtype, scaler = mixed_precision(config, device)
    dataset_sha256 = hashlib.sha256((root / INDEX).read_bytes()).hexdigest()
    if rank == 0 and not config.quiet:
        print(f"training {config.backbone} (trainable={config.trainable}) from {len(index['shards'])} shards, "
              f"{index['samples']} samples, {len(cells)} cells, {steps} steps of {config.batch_size} per rank and "
              f"epoch, device {device}, world {world}", flush=True)

    def checkpoint(epoch: int, step: int, rate: float) -> str:
        payload = build_payload(model=model, cells=cells, config=config_record(config, size), extra={
            "epoch": epoch, "step": step, "optimizer_state": optimizer.state_dict(),
            "scheduler_state": scheduler.state_dict(), "history": history, "train_manifest_sha256": dataset_sha256,
            "train_photos": int(index["samples"]), "dropped_photos": 0, "images_per_second": rate})
        return save_checkpoint(out, payload)

    result_sha, rate = "", 0.0
    for epoch in range(start_epoch, config.epochs):
        first = start_step if epoch == start_epoch else 0
        stream = ShardStream(root, TrainCrop(size), rank=rank, world=world, shuffle_buffer=config.shuffle_buffer,
                             seed=config.seed, epoch=epoch, batch_size=config.batch_size, skip_batches=first)
        loader = torch.utils.data.DataLoader(stream, batch_size=config.batch_size, num_workers=config.num_workers,
                                             pin_memory=device.type == "cuda")
        network.train()
        total_loss, correct, seen, epoch_started = 0.0, 0, 0, time.perf_counter()
        progress = Progress(f"epoch {epoch + 1}", (steps - first) * config.batch_size,
                            enabled=rank == 0 and not config.quiet)
        for step, (images, latitudes, longitudes) in enumerate(loader, start=first):
            if step >= steps:
                break
            # The network's own randomness (dropout, stochastic depth) seeded per step: a resumed run draws what
            # the uninterrupted one drew.
            torch.manual_seed(hash((config.seed, epoch, step, rank)) & 0x7FFF_FFFF)
            labels = torch.from_numpy(cells.assign(latitudes.numpy(), longitudes.numpy()))  # (B,), -1: dropped
            kept = labels >= 0
            targets = (soft_targets(latitudes.numpy(), longitudes.numpy(), cells, config.tau_km).to(device)
                       if config.loss == "haversine" else None)
            with torch.autocast(device.type, dtype=amp_dtype, enabled=use_amp):
                logits = network(images.to(device, non_blocking=True)).float()  # (B, C)
            # A batch with no photo in a kept cell still takes its step (the ranks stay in step): a zero loss.
            loss = (cell_loss(logits[kept], labels[kept].to(device), None if targets is None else targets[kept])
                    if kept.any() else logits.sum() * 0.0)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            total_loss += float(loss.detach()) * int(kept.sum())
            correct += int((logits.argmax(1).cpu()[kept] == labels[kept]).sum())
            seen += len(labels)
            progress.update(len(labels), f"loss {float(loss.detach()):.3f}")
            rate = seen * world / max(time.perf_counter() - epoch_started, 1e-9)
            if config.checkpoint_every and (step + 1) % config.checkpoint_every == 0 and step + 1 < steps \
                    and rank == 0:
                checkpoint(epoch, step + 1, rate)
        history.append({"epoch": epoch, "loss": total_loss / max(seen, 1), "train_accuracy": correct / max(seen, 1),
                        "lr": float(scheduler.get_last_lr()[0])})
        if rank == 0:
            if not config.quiet:
                print(f"epoch {epoch + 1}/{config.epochs}  loss {history[-1]['loss']:.4f}  train acc "
                      f"{history[-1]['train_accuracy']:.3f}  {rate:.1f} images/s (all ranks)", flush=True)
            result_sha = checkpoint(epoch, -1, rate)
    if world > 1:
        torch.distributed.barrier()
    return TrainResult(checkpoint=out, checkpoint_sha256=result_sha, num_classes=len(cells),
                       train_photos=int(index["samples"]), dropped_photos=0, history=history,
                       seconds=time.perf_counter() - started)


def _resume(out: Path, config: TrainConfig, cells: CellSet, model: GeoClassifier, optimizer: torch.optim.Optimizer,
            scheduler: torch.optim.lr_scheduler.LRScheduler) -> tuple[int, int, list[EpochRecord]]:
    """(epoch, step within it, history) to continue from; the manifest run's checks, and the same shards."""
    payload = resume_payload(out, config, cells, model, optimizer, scheduler,
                             keys=(*RESUME_KEYS, "manifest", "shuffle_buffer"))
    step = int(payload.get("step", -1))
    epoch = int(payload["epoch"])
    return (epoch + 1, 0, list(payload["history"])) if step < 0 else (epoch, step, list(payload["history"]))
