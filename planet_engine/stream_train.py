"""Fine-tuning from prepared shards (`prepare`), for datasets too large to list as loose files: samples stream
through ShardStream (every rank the same number, each data-loader worker its own stretch, labels and soft targets
built in the workers), mixed precision on GPUs, DDP under `torchrun --nproc-per-node N` (NCCL on GPUs, Gloo on
CPUs). A checkpoint every `checkpoint_every` steps and after each epoch holds the optimiser, the scheduler, the
step and the ranks x workers the epoch was cut for, so `--resume` continues mid-epoch on the very batches that
were next; another world size or worker count is refused unless `rescale`. The loop never waits on the GPU for a
number (the loss and accuracy add up on the device); images per second and samples that failed to decode are
logged and recorded.
"""

from __future__ import annotations

import hashlib
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from planet_engine.cells import CellSet
from planet_engine.checkpoint import CheckpointError, EpochRecord, build_payload, save_checkpoint
from planet_engine.config import TrainConfig
from planet_engine.data import train_transform
from planet_engine.labels import CellLabeler
from planet_engine.model import GeoClassifier
from planet_engine.prepare import INDEX
from planet_engine.progress import Progress
from planet_engine.shards import ShardStream, read_index, steps_per_epoch, verify_shards
from planet_engine.train import RESUME_KEYS, TrainResult, config_record, mixed_precision, resume_payload, training_start


def is_prepared(path: str | Path) -> bool:
    """A folder written by `prepare` (rather than a manifest CSV)."""
    return (Path(path) / INDEX).is_file()


class TrainCrop:
    """The training crop at a fixed size (a class, not a closure: data-loader workers pickle it)."""

    def __init__(self, size: int) -> None:
        self.size = size

    def __call__(self, image: Image.Image, generator: np.random.Generator) -> torch.Tensor:
        return train_transform(image, self.size, generator)


def _check_shards(root: Path, rank: int, world: int) -> None:
    """Every rank hashes its share of the shards and all learn of any mismatch before training starts."""
    bad = verify_shards(root, part=rank, parts=world)
    if world > 1:
        gathered: list[list[str] | None] = [None] * world
        torch.distributed.all_gather_object(gathered, bad)
        bad = sorted(name for part in gathered for name in part or [])
    if bad:
        raise ValueError(f"{root}: shard(s) changed since prepare (sha256): {', '.join(bad[:5])}; rerun prepare")


def shuffle_buffer_size(requested: int, index: dict[str, Any], workers: int) -> int:
    """`requested`, or with 0 as many samples as an eighth of the memory free now holds across this machine's
    loader workers (torchrun's LOCAL_WORLD_SIZE ranks x `workers`), between 1,000 and 50,000."""
    if requested > 0:
        return requested
    mean_bytes = sum(int(s.get("bytes", 0)) for s in index["shards"]) / max(int(index["samples"]), 1) or 100_000
    free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    readers = workers * int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    return int(min(50_000, max(1_000, free // 8 // readers // mean_bytes)))


def masked_loss(
    logits: torch.Tensor, labels: torch.Tensor, targets: torch.Tensor, kept: torch.Tensor, count: int
) -> torch.Tensor:
    """The mean cell loss over the `count` kept samples of (B, C) logits, without indexing by a mask (which
    would wait for the GPU); targets (B, C) under the haversine loss, else (B, 0) and the (B,) labels count."""
    if targets.shape[1]:
        per_sample = -(targets * F.log_softmax(logits, dim=1)).sum(dim=1)
    else:
        per_sample = F.cross_entropy(logits, labels.clamp(min=0), reduction="none")
    return (per_sample * kept).sum() / max(count, 1)


def train_from_shards(config: TrainConfig) -> TrainResult:
    started = time.perf_counter()
    rank, world, device = training_start(config)
    if config.trainable == "head":
        raise ValueError(
            "training from shards fine-tunes the network: --trainable last or all (the linear probe "
            "caches every photo's embedding, which is for small manifests)"
        )
    root = Path(config.manifest)
    index = read_index(root)
    if config.verify_shards:
        _check_shards(root, rank, world)
    cells = CellSet.read_csv(config.cells)
    workers = max(1, config.num_workers)
    steps = steps_per_epoch(int(index["samples"]), world=world, batch_size=config.batch_size)
    if steps == 0:
        raise ValueError(f"{root}: {index['samples']} samples, fewer than one batch of {config.batch_size} per rank")

    model = GeoClassifier(config.backbone, len(cells), pretrained=config.pretrained, dropout=config.dropout)
    size = config.image_size or model.spec.image_size
    model.set_trainable(config.trainable)
    model.to(device)
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=config.lr, weight_decay=config.weight_decay
    )
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs * steps)
    out = Path(config.out)
    start_epoch, start_step, history = 0, 0, list[EpochRecord]()
    buffer = shuffle_buffer_size(config.shuffle_buffer, index, workers)
    if config.resume and out.is_file():
        start_epoch, start_step, history, buffer = _resume(
            out,
            config,
            cells,
            model,
            optimizer,
            scheduler,
            world=world,
            workers=workers,
            steps=steps,
            rank=rank,
            buffer=buffer,
        )
    network: torch.nn.Module = model
    if world > 1:
        network = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
    use_amp, amp_dtype, scaler = mixed_precision(config, device)
    dataset_sha256 = hashlib.sha256((root / INDEX).read_bytes()).hexdigest()
    labeler = CellLabeler(cells, tau_km=config.tau_km if config.loss == "haversine" else None)
    unused = int(index["samples"]) - steps * config.batch_size * world
    if rank == 0 and not config.quiet:
        print(
            f"training {config.backbone} (trainable={config.trainable}) from {len(index['shards'])} shards, "
            f"{index['samples']} samples, {len(cells)} cells, {steps} steps of {config.batch_size} per rank and "
            f"epoch, device {device}, world {world}; {unused} samples left over each epoch (under a batch per "
            f"rank, a different few each epoch); shuffle buffer {buffer} per worker",
            flush=True,
        )

    def checkpoint(epoch: int, step: int, rate: float) -> str:
        payload = build_payload(
            model=model,
            cells=cells,
            config=config_record(config, size),
            extra={
                "epoch": epoch,
                "step": step,
                "optimizer_state": optimizer.state_dict(),
                "scheduler_state": scheduler.state_dict(),
                "history": history,
                "train_manifest_sha256": dataset_sha256,
                "train_photos": int(index["samples"]),
                "dropped_photos": 0,
                "images_per_second": rate,
                "world": world,
                "workers": workers,
                "steps_per_epoch": steps,
                "shuffle_buffer_used": buffer,
            },
        )
        return save_checkpoint(out, payload)

    result_sha, rate = "", 0.0
    for epoch in range(start_epoch, config.epochs):
        first = start_step if epoch == start_epoch else 0
        stream = ShardStream(
            root,
            TrainCrop(size),
            rank=rank,
            world=world,
            shuffle_buffer=buffer,
            seed=config.seed,
            epoch=epoch,
            batch_size=config.batch_size,
            skip_batches=first,
            labeler=labeler,
        )
        loader = torch.utils.data.DataLoader(
            stream, batch_size=config.batch_size, num_workers=config.num_workers, pin_memory=device.type == "cuda"
        )
        network.train()
        total_loss = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.long)
        seen, bad, epoch_started = 0, 0, time.perf_counter()
        progress = Progress(
            f"epoch {epoch + 1}", (steps - first) * config.batch_size, enabled=rank == 0 and not config.quiet
        )
        for step, batch in enumerate(loader, start=first):
            # The network's own randomness (dropout, stochastic depth) seeded per step: a resumed run draws what
            # the uninterrupted one drew.
            torch.manual_seed(hash((config.seed, epoch, step, rank)) & 0x7FFF_FFFF)
            kept_cpu = (batch["label"] >= 0) & batch["valid"]  # (B,): in a kept cell and decoded
            count = int(kept_cpu.sum())
            bad += int((~batch["valid"]).sum())
            labels = batch["label"].to(device, non_blocking=True)
            kept = kept_cpu.to(device, non_blocking=True)
            with torch.autocast(device.type, dtype=amp_dtype, enabled=use_amp):
                logits = network(batch["image"].to(device, non_blocking=True)).float()  # (B, C)
            # A batch with no kept photo still takes its step (the ranks stay in step): a zero loss.
            loss = masked_loss(logits, labels, batch["target"].to(device, non_blocking=True), kept, count)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()  # type: ignore[no-untyped-call]  # torch leaves it unannotated
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            total_loss += loss.detach() * count
            correct += ((logits.detach().argmax(1) == labels) & kept).sum()
            seen += len(labels)
            progress.update(len(labels))
            rate = seen * world / max(time.perf_counter() - epoch_started, 1e-9)
            if config.checkpoint_every and (step + 1) % config.checkpoint_every == 0 and step + 1 < steps and rank == 0:
                checkpoint(epoch, step + 1, rate)
        record: EpochRecord = {
            "epoch": epoch,
            "loss": float(total_loss) / max(seen, 1),
            "train_accuracy": int(correct) / max(seen, 1),
            "lr": float(scheduler.get_last_lr()[0]),
            "bad_samples": bad,
        }
        history.append(record)
        if rank == 0:
            if not config.quiet:
                print(
                    f"epoch {epoch + 1}/{config.epochs}  loss {record['loss']:.4f}  train acc "
                    f"{record['train_accuracy']:.3f}  {rate:.1f} images/s (all ranks)"
                    + (f"  {bad} sample(s) of rank 0 failed to decode and were left out (named above)" if bad else ""),
                    flush=True,
                )
            result_sha = checkpoint(epoch, -1, rate)
    if world > 1:
        torch.distributed.barrier()
    return TrainResult(
        checkpoint=out,
        checkpoint_sha256=result_sha,
        num_classes=len(cells),
        train_photos=int(index["samples"]),
        dropped_photos=0,
        history=history,
        seconds=time.perf_counter() - started,
    )


def _resume(
    out: Path,
    config: TrainConfig,
    cells: CellSet,
    model: GeoClassifier,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.CosineAnnealingLR,
    *,
    world: int,
    workers: int,
    steps: int,
    rank: int,
    buffer: int,
) -> tuple[int, int, list[EpochRecord], int]:
    """(epoch, step within it, history, shuffle buffer) to continue from: the manifest run's checks, the same
    shards folder (compared resolved), the same ranks x workers unless `rescale`, and the buffer the run used (an
    automatic size is not measured again: free memory differs from one start to the next)."""
    payload = resume_payload(out, config, cells, model, optimizer, scheduler, keys=(*RESUME_KEYS, "shuffle_buffer"))
    saved = payload["config"]
    if Path(saved["manifest"]).resolve() != Path(config.manifest).resolve():
        raise CheckpointError(f"cannot resume {out}: it trained on {saved['manifest']}, not {config.manifest}")
    step = int(payload.get("step", -1))
    epoch = int(payload["epoch"])
    history = list(payload["history"])
    if config.shuffle_buffer == 0:
        buffer = int(payload.get("shuffle_buffer_used", buffer))
    was = (int(payload.get("world", world)), int(payload.get("workers", workers)))
    old_steps = int(payload.get("steps_per_epoch", steps))
    if was != (world, workers) or old_steps != steps:
        if not config.rescale:
            raise CheckpointError(
                f"cannot resume {out}: it ran on {was[0]} rank(s) x {was[1]} worker(s) ({old_steps} steps per epoch), "
                f"this run has {world} x {workers} ({steps}); the epoch's order and the learning-rate schedule depend "
                "on both. Rerun with the same --nproc-per-node and --workers, or add --rescale to continue at the "
                "same fraction of the epoch with the schedule stretched to the new steps per epoch"
            )
        step = step * steps // old_steps if step >= 0 else step
        _rescale_schedule(
            scheduler, done=(epoch + (1 if step < 0 else 0)) * steps + max(step, 0), total=config.epochs * steps
        )
        if rank == 0 and not config.quiet:
            print(
                f"resuming a run of {was[0]} x {was[1]} on {world} x {workers}: schedule rescaled from "
                f"{old_steps} to {steps} steps per epoch"
                + (
                    f"; epoch {epoch + 1} continues at step {step} (the "
                    "same fraction; its remaining samples are drawn afresh)"
                    if step >= 0
                    else ""
                ),
                flush=True,
            )
    return (epoch + 1, 0, history, buffer) if step < 0 else (epoch, step, history, buffer)


def _rescale_schedule(scheduler: torch.optim.lr_scheduler.CosineAnnealingLR, *, done: int, total: int) -> None:
    """Put the cosine schedule at step `done` of `total`, each group's rate set by the closed form."""
    scheduler.T_max = total
    scheduler.last_epoch = done
    for group, base in zip(scheduler.optimizer.param_groups, scheduler.base_lrs, strict=True):
        group["lr"] = scheduler.eta_min + (base - scheduler.eta_min) * (1 + math.cos(math.pi * done / total)) / 2
    scheduler._last_lr = [group["lr"] for group in scheduler.optimizer.param_groups]  # what get_last_lr reads
