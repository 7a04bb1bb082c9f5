"""Training the cell classifier: a linear probe on cached frozen features, or fine-tuning (last blocks / all).

Reproducible: seeded, deterministic algorithms on request, config + git SHA + cells hash in the checkpoint.
Resumable: the checkpoint written after every epoch holds the optimiser and scheduler state.
Distributed: under `torchrun`, fine-tuning runs DDP (NCCL on GPUs, Gloo on CPUs); rank 0 writes.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import cast

import numpy as np
import torch
import torch.distributed as dist

from planet_engine.cells import CellSet
from planet_engine.checkpoint import (
    CheckpointConfig,
    CheckpointError,
    CheckpointPayload,
    EpochRecord,
    build_payload,
    read_payload,
    save_checkpoint,
)
from planet_engine.config import TrainConfig
from planet_engine.data import ImageDataset, cached_embeddings
from planet_engine.hierarchy import ancestor_map
from planet_engine.losses import cell_loss, soft_targets
from planet_engine.manifest import read_manifest
from planet_engine.model import GeoClassifier, pretrained_weights_sha256, select_device
from planet_engine.probe import probe_epoch
from planet_engine.progress import Progress

# Config keys that must match for --resume to continue a run rather than silently start another one.
RESUME_KEYS = ("backbone", "pretrained", "trainable", "loss", "tau_km", "image_size", "seed", "batch_size")


@dataclass
class TrainResult:
    checkpoint: Path
    checkpoint_sha256: str
    num_classes: int
    train_photos: int
    dropped_photos: int
    history: list[EpochRecord] = field(default_factory=list)
    seconds: float = 0.0


# One epoch over the training photos: (epoch, optimizer, (N,) labels, (N,) latitudes, (N,) longitudes, the
# partitions fine first) -> (mean loss, train accuracy).
EpochStep = Callable[
    [int, torch.optim.Optimizer, torch.Tensor, np.ndarray, np.ndarray, list[CellSet]], tuple[float, float]
]


def seed_everything(seed: int, *, deterministic: bool) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False


def _targets(
    config: TrainConfig,
    latitudes: np.ndarray,
    longitudes: np.ndarray,
    cells: CellSet,
    batch: torch.Tensor,
    device: torch.device,
) -> torch.Tensor | None:
    """(B, C) soft targets of the photos at (B,) indices `batch` under the haversine loss; None: the true cells."""
    if config.loss != "haversine":
        return None
    rows = batch.numpy()
    return soft_targets(latitudes[rows], longitudes[rows], cells, config.tau_km).to(device)


def distributed_start() -> tuple[int, int]:
    """(rank, world size); starts the process group when launched by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return (dist.get_rank() if world > 1 else 0), world


def training_start(config: TrainConfig) -> tuple[int, int, torch.device]:
    """(rank, world size, device) of this process: the process group under torchrun, the seeds, and the GPU of
    its local rank."""
    rank, world = distributed_start()
    seed_everything(config.seed, deterministic=config.deterministic)
    device = select_device(config.device)
    if world > 1 and device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    return rank, world, device


def mixed_precision(config: TrainConfig, device: torch.device) -> tuple[bool, torch.dtype, torch.amp.GradScaler]:
    """(autocast on, its dtype, the gradient scaler): bfloat16 where the GPU has it, float16 with scaling else."""
    use_amp = config.amp and device.type == "cuda"
    amp_dtype = torch.bfloat16 if use_amp and torch.cuda.is_bf16_supported() else torch.float16
    return use_amp, amp_dtype, torch.amp.GradScaler("cuda", enabled=use_amp and amp_dtype == torch.float16)


def train(config: TrainConfig) -> TrainResult:
    started = time.perf_counter()
    rank, world, device = training_start(config)

    manifest = read_manifest(config.manifest)
    cells = CellSet.read_csv(config.cells)
    labels_all = cells.assign(manifest.latitudes, manifest.longitudes)
    keep = np.flatnonzero(labels_all >= 0)
    if keep.size == 0:
        raise ValueError("no training photo falls in a kept cell: is the cells file from this manifest?")
    manifest_sha256 = manifest.fingerprint()
    all_paths = manifest.image_paths
    manifest = manifest.subset(keep)
    labels = torch.from_numpy(labels_all[keep])
    latitudes, longitudes = manifest.latitudes, manifest.longitudes

    coarse = [CellSet.read_csv(path) for path in config.coarse_cells]
    model = GeoClassifier(
        config.backbone,
        len(cells),
        pretrained=config.pretrained,
        dropout=config.dropout,
        ancestors=[ancestor_map(cells, level) for level in coarse],
        level_sizes=[len(level) for level in coarse],
        calibration=config.calibration,
    )
    size = config.image_size or model.spec.image_size
    model.set_trainable(config.trainable)
    model.to(device)
    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(parameters, lr=config.lr, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs)
    history: list[EpochRecord] = []
    start_epoch = 0
    out = Path(config.out)
    if config.resume and out.is_file():
        start_epoch, history = _resume(out, config, cells, model, optimizer, scheduler)

    def log(message: str) -> None:
        if not config.quiet and rank == 0:
            print(message, flush=True)

    log(
        f"training {config.backbone} ({'pretrained' if config.pretrained else 'random init'}, "
        f"trainable={config.trainable}) on {len(manifest)} photos in {len(cells)} cells "
        f"({len(labels_all) - len(keep)} photos in dropped cells left out), device {device}, world {world}"
    )

    if config.trainable == "head":
        step_epoch = _linear_probe_epochs(config, model, all_paths, keep, size, device)
    else:
        step_epoch = _finetune_epochs(config, model, manifest.image_paths, size, device, world)
    result_sha = ""
    for epoch in range(start_epoch, config.epochs):
        loss, accuracy = step_epoch(epoch, optimizer, labels, latitudes, longitudes, [cells, *coarse])
        scheduler.step()
        history.append(
            {"epoch": epoch, "loss": loss, "train_accuracy": accuracy, "lr": float(scheduler.get_last_lr()[0])}
        )
        log(f"epoch {epoch + 1}/{config.epochs}  loss {loss:.4f}  train acc {accuracy:.3f}")
        if rank == 0:
            payload = build_payload(
                model=model,
                cells=cells,
                coarse=coarse,
                config=config_record(config, size),
                extra={
                    "epoch": epoch,
                    "optimizer_state": optimizer.state_dict(),
                    "scheduler_state": scheduler.state_dict(),
                    "history": history,
                    "train_manifest_sha256": manifest_sha256,
                    "train_photos": len(manifest),
                    "dropped_photos": int(len(labels_all) - len(keep)),
                },
            )
            result_sha = save_checkpoint(out, payload)
    if world > 1:
        dist.barrier()
    return TrainResult(
        checkpoint=out,
        checkpoint_sha256=result_sha,
        num_classes=len(cells),
        train_photos=len(manifest),
        dropped_photos=int(len(labels_all) - len(keep)),
        history=history,
        seconds=time.perf_counter() - started,
    )


def config_record(config: TrainConfig, size: int) -> CheckpointConfig:
    """What the checkpoint records: the config but the run's own switches (resume, quiet), the size resolved."""
    record = asdict(config)
    record["image_size"] = size
    for switch in ("resume", "quiet", "rescale", "verify_shards"):
        record.pop(switch)
    # CheckpointConfig lists exactly these keys (tests/planet_engine/test_train_predict.py checks it).
    return cast(CheckpointConfig, record)


def resume_payload(
    out: Path,
    config: TrainConfig,
    cells: CellSet,
    model: GeoClassifier,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    *,
    keys: tuple[str, ...] = RESUME_KEYS,
) -> CheckpointPayload:
    """The checkpoint to continue from, its weights and optimiser state loaded; refused if it was trained on
    other cells or with another config (in `keys`)."""
    payload, _ = read_payload(out)
    if payload["cells_sha256"] != cells.fingerprint():
        raise CheckpointError(f"cannot resume {out}: it was trained on other cells")
    saved = payload["config"]
    wanted = config_record(config, saved["image_size"] if config.image_size is None else config.image_size)
    changed = [key for key in keys if saved.get(key) != wanted.get(key)]
    if changed:
        raise CheckpointError(f"cannot resume {out}: config differs in {', '.join(changed)}")
    if payload["backbone_state"] is not None:
        model.backbone.load_state_dict(payload["backbone_state"])
    model.head.load_state_dict(payload["head_state"])
    optimizer.load_state_dict(payload["optimizer_state"])
    scheduler.load_state_dict(payload["scheduler_state"])
    return payload


def _resume(
    out: Path,
    config: TrainConfig,
    cells: CellSet,
    model: GeoClassifier,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
) -> tuple[int, list[EpochRecord]]:
    payload = resume_payload(out, config, cells, model, optimizer, scheduler)
    return int(payload["epoch"]) + 1, list(payload["history"])


def _linear_probe_epochs(
    config: TrainConfig,
    model: GeoClassifier,
    paths: list[Path],
    keep: np.ndarray,
    size: int,
    device: torch.device,
) -> EpochStep:
    """Embeds every manifest photo once (cached, so evaluation's kNN baseline reuses it), trains on `keep`."""
    backbone_key = (
        pretrained_weights_sha256(config.backbone)
        if config.pretrained
        else f"{config.backbone}-random-seed{config.seed}"
    )
    cache_dir = Path(config.cache_dir) if config.cache_dir and config.pretrained else None
    embeddings = cached_embeddings(
        model, paths, size=size, backbone_key=backbone_key, cache_dir=cache_dir, device=device
    )[torch.from_numpy(keep)].to(device)  # (N, D)
    generator = torch.Generator().manual_seed(config.seed)

    def step_epoch(
        epoch: int,
        optimizer: torch.optim.Optimizer,
        labels: torch.Tensor,
        latitudes: np.ndarray,
        longitudes: np.ndarray,
        levels: list[CellSet],
    ) -> tuple[float, float]:
        return probe_epoch(
            model.head,
            optimizer,
            embeddings,
            labels,
            latitudes,
            longitudes,
            levels,
            loss=config.loss,
            tau_km=config.tau_km,
            batch_size=config.batch_size,
            generator=generator,
        )

    return step_epoch


def _finetune_epochs(
    config: TrainConfig, model: GeoClassifier, paths: list[Path], size: int, device: torch.device, world: int
) -> EpochStep:
    dataset = ImageDataset(paths, size, train=True, seed=config.seed)
    sampler: torch.utils.data.distributed.DistributedSampler[tuple[torch.Tensor, int]] | None = (
        torch.utils.data.distributed.DistributedSampler(dataset, seed=config.seed) if world > 1 else None
    )
    generator = torch.Generator().manual_seed(config.seed)
    loader = torch.utils.data.DataLoader(
        dataset,
        batch_size=config.batch_size,
        shuffle=sampler is None,
        sampler=sampler,
        num_workers=config.num_workers,
        generator=generator,
        drop_last=False,
        pin_memory=device.type == "cuda",
        persistent_workers=config.num_workers > 0,
    )
    network: torch.nn.Module = model
    if world > 1:
        network = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
    use_amp, amp_dtype, scaler = mixed_precision(config, device)

    def step_epoch(
        epoch: int,
        optimizer: torch.optim.Optimizer,
        labels: torch.Tensor,
        latitudes: np.ndarray,
        longitudes: np.ndarray,
        levels: list[CellSet],
    ) -> tuple[float, float]:
        network.train()
        dataset.epoch = epoch
        if sampler is not None:
            sampler.set_epoch(epoch)
        total_loss, correct, seen = 0.0, 0, 0
        progress = Progress(f"epoch {epoch + 1}", len(dataset) // world, enabled=not config.quiet)
        for images, index in loader:
            images = images.to(device, non_blocking=True)
            # Through the wrapped forward (DDP syncs there): with a hierarchy, the folded fine log-probabilities.
            targets = _targets(config, latitudes, longitudes, levels[0], index, device)
            with torch.autocast(device.type, dtype=amp_dtype, enabled=use_amp):
                logits = network(images)
                loss = cell_loss(logits.float(), labels[index].to(device), targets)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()  # type: ignore[no-untyped-call]  # as above
            scaler.step(optimizer)
            scaler.update()
            total_loss += float(loss.detach()) * len(index)
            correct += int((logits.argmax(1).cpu() == labels[index]).sum())
            seen += len(index)
            progress.update(len(index), f"loss {float(loss.detach()):.3f}")
        return total_loss / max(seen, 1), correct / max(seen, 1)

    return step_epoch
