"""Prediction: a Predictor loads a checkpoint once and turns batches of images into geolocation guesses.

Point guesses:
- "cell": the mean photo location of the most probable cell (PlaNet's choice);
- "geoscore": among the most probable cells, the mean location that maximises the expected GeoScore
  under the predicted distribution, sum_j p_j * exp(-d(candidate, cell_j) / 1492.7). It moves the guess
  towards where the probability mass is when the top cell is an isolated outlier; the README's evaluation
  table compares the two.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from planet_engine.cells import CellSet
from planet_engine.checkpoint import LoadedCheckpoint, load_checkpoint
from planet_engine.data import ImageInput, load_image, view_transform
from planet_engine.geo import geoscore, pairwise_distances_km
from planet_engine.model import GeoClassifier, select_device
from planet_engine.onnx_export import onnx_export, onnx_logits, onnx_path, onnx_session

POINT_MODES = ("cell", "geoscore")
# "torch": eager PyTorch (CUDA when present); "onnx": ONNX Runtime on the CPU, from the graph exported beside
# the checkpoint (onnx_export.py); "auto": torch on a GPU, ONNX on a CPU.
BACKENDS = ("auto", "torch", "onnx")
# Candidates for the GeoScore point: the best cells by probability hold practically all of the mass
# that can move the optimum, and scoring a few keeps prediction O(C) per image rather than O(C^2).
GEOSCORE_CANDIDATES = 32


@dataclass(frozen=True)
class CellGuess:
    class_index: int
    token: str
    probability: float
    latitude: float  # the cell's mean photo location
    longitude: float
    polygon: list[tuple[float, float]]  # (lat, lon) vertices


@dataclass(frozen=True)
class Prediction:
    latitude: float
    longitude: float
    top_cells: list[CellGuess]
    point_mode: str
    checkpoint_sha256: str
    distribution: list[float] | None = field(default=None)

    def as_dict(self) -> dict[str, object]:
        return {
            "latitude": self.latitude,
            "longitude": self.longitude,
            "point_mode": self.point_mode,
            "checkpoint_sha256": self.checkpoint_sha256,
            "top_cells": [
                {
                    "class_index": c.class_index,
                    "token": c.token,
                    "probability": c.probability,
                    "latitude": c.latitude,
                    "longitude": c.longitude,
                    "polygon": c.polygon,
                }
                for c in self.top_cells
            ],
            "distribution": self.distribution,
        }


def _check_point_mode(mode: str) -> None:
    if mode not in POINT_MODES:
        raise ValueError(f"point mode must be one of {POINT_MODES}, not {mode!r}")


def point_guesses(probabilities: np.ndarray, cells: CellSet, mode: str) -> tuple[np.ndarray, np.ndarray]:
    """(B, C) probabilities -> (B,) latitudes and (B,) longitudes of the point guesses."""
    _check_point_mode(mode)
    if mode == "cell":
        best = probabilities.argmax(axis=1)
        return cells.mean_latitudes[best], cells.mean_longitudes[best]
    k = min(GEOSCORE_CANDIDATES, len(cells))
    candidates = np.argsort(-probabilities, axis=1)[:, :k]  # (B, k)
    flat = candidates.reshape(-1)
    distances = pairwise_distances_km(
        cells.mean_latitudes[flat], cells.mean_longitudes[flat], cells.mean_latitudes, cells.mean_longitudes
    ).reshape(len(probabilities), k, len(cells))  # (B, k, C)
    expected = np.einsum("bkc,bc->bk", geoscore(distances), probabilities)  # (B, k)
    best = candidates[np.arange(len(candidates)), expected.argmax(axis=1)]
    return cells.mean_latitudes[best], cells.mean_longitudes[best]


def views_combine(probabilities: np.ndarray) -> np.ndarray:
    """(V, C) distributions of V views of one place -> (C,): the mean of their log-probabilities, renormalised
    (a geometric mean). A cell that one view rules out stays unlikely, where an arithmetic mean would let the
    other views outvote it. One view comes back as it is."""
    if len(probabilities) == 1:
        return np.asarray(probabilities[0], dtype=np.float64)
    # float32 softmax underflows to 0 for cells far below the top one: floor it so the log stays finite.
    logs = np.log(np.maximum(probabilities.astype(np.float64), np.finfo(np.float32).tiny)).mean(axis=0)  # (C,)
    combined = np.exp(logs - logs.max())
    return np.asarray(combined / combined.sum())


class Predictor:
    """Loads a checkpoint once; predicts batches of images (paths or PIL images)."""

    def __init__(
        self,
        checkpoint: str | Path,
        *,
        device: str = "auto",
        point_mode: str = "geoscore",
        batch_size: int = 32,
        backend: str = "torch",
        threads: int | None = None,
    ) -> None:
        _check_point_mode(point_mode)  # before the checkpoint is loaded: a typo fails fast
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, not {backend!r}")
        self.device = select_device(device)
        if backend == "auto":
            backend = "torch" if self.device.type == "cuda" else "onnx"
        # The ONNX graph holds the weights: the torch network is built only if something asks for it (embed). Only
        # one of the two is kept: the network once built, else the checkpoint it is built from.
        loaded = load_checkpoint(checkpoint, device=self.device, build=backend == "torch")
        self._network: GeoClassifier | None = loaded.model if backend == "torch" else None
        self._unbuilt: LoadedCheckpoint | None = None if backend == "torch" else loaded
        self.cells = loaded.cells
        self.config = loaded.config
        self.checkpoint_sha256 = loaded.sha256
        self.image_size = int(loaded.config["image_size"])
        # Test-time augmentation: the distributions of these views of each photo are averaged.
        self.views = list(loaded.config.get("tta_views", ["center"]))
        self.point_mode = point_mode
        self.batch_size = batch_size
        self._polygons: dict[int, list[tuple[float, float]]] = {}
        self.backend = backend
        self._session: Any = None
        if backend == "onnx":
            graph = onnx_path(checkpoint, self.checkpoint_sha256)
            if not graph.is_file():  # registered before graphs were exported: export (and check) on first use
                onnx_export(loaded, checkpoint, images=[], threads=threads)
            self._session = onnx_session(graph, threads=threads)

    @property
    def model(self) -> GeoClassifier:
        """The torch network (built on first use with the ONNX backend)."""
        if self._network is None:
            assert self._unbuilt is not None
            self._network, self._unbuilt = self._unbuilt.model, None
        return self._network

    @property
    def num_classes(self) -> int:
        return len(self.cells)

    def preprocess(self, images: Sequence[ImageInput], view: str = "center") -> torch.Tensor:
        """Images -> (B, 3, S, S) batch of one view, exactly as the model was evaluated on."""
        return torch.stack([view_transform(load_image(image), self.image_size, view) for image in images])

    @torch.inference_mode()
    def probabilities_from_tensor(self, batch: torch.Tensor) -> np.ndarray:
        """(B, 3, S, S) -> (B, C) probabilities over the cells."""
        if self._session is not None:
            logits = torch.from_numpy(onnx_logits(self._session, batch.numpy()))
        else:
            logits = self.model(batch.to(self.device))
        return np.asarray(torch.softmax(logits.float(), dim=1).cpu().numpy())

    def probabilities(self, images: Sequence[ImageInput]) -> np.ndarray:
        """Images -> (B, C) averaged over the checkpoint's test-time views, in chunks of batch_size images; each
        chunk is ONE forward pass, every view of every image stacked into it (a worker's batch of waiting
        rounds costs one call into the network, not one per view)."""
        chunks = []
        for start in range(0, len(images), self.batch_size):
            decoded = [load_image(image) for image in images[start : start + self.batch_size]]
            stacked = torch.cat([self.preprocess(decoded, view) for view in self.views])  # (V*B, 3, S, S)
            chunks.append(
                self.probabilities_from_tensor(stacked).reshape(len(self.views), len(decoded), -1).mean(axis=0)
            )  # (V, B, C) -> (B, C)
        return np.concatenate(chunks) if chunks else np.zeros((0, self.num_classes))

    def predict(
        self,
        images: Sequence[ImageInput],
        *,
        top_k: int = 5,
        distribution: bool = False,
        polygon_points_per_edge: int = 4,
    ) -> list[Prediction]:
        """One Prediction per image."""
        probabilities = self.probabilities(images)
        return self.predictions_from_probabilities(
            probabilities, top_k=top_k, distribution=distribution, polygon_points_per_edge=polygon_points_per_edge
        )

    def predict_views(
        self,
        views: Sequence[ImageInput],
        *,
        top_k: int = 5,
        distribution: bool = False,
        polygon_points_per_edge: int = 4,
    ) -> Prediction:
        """Several views of one place -> one Prediction from the mean of their log-probabilities (PlaNet avg)."""
        return self.predict_groups(
            [views], top_k=top_k, distribution=distribution, polygon_points_per_edge=polygon_points_per_edge
        )[0]

    def predict_groups(
        self,
        groups: Sequence[Sequence[ImageInput]],
        *,
        top_k: int = 5,
        distribution: bool = False,
        polygon_points_per_edge: int = 4,
    ) -> list[Prediction]:
        """One Prediction per group of views of one place; every image of every group shares the forward
        batches, so rounds of one view and rounds of several are predicted together."""
        if any(not group for group in groups):
            raise ValueError("every group needs at least one view")
        probabilities = self.probabilities([image for group in groups for image in group])  # (sum V, C)
        ends = np.cumsum([len(group) for group in groups])
        combined = [
            views_combine(probabilities[end - len(group) : end]) for group, end in zip(groups, ends, strict=True)
        ]
        return self.predictions_from_probabilities(
            np.stack(combined) if combined else np.zeros((0, self.num_classes)),
            top_k=top_k,
            distribution=distribution,
            polygon_points_per_edge=polygon_points_per_edge,
        )

    def predictions_from_probabilities(
        self, probabilities: np.ndarray, *, top_k: int, distribution: bool, polygon_points_per_edge: int = 4
    ) -> list[Prediction]:
        latitudes, longitudes = point_guesses(probabilities, self.cells, self.point_mode)
        k = max(1, min(top_k, self.num_classes))
        top = np.argsort(-probabilities, axis=1)[:, :k]
        return [
            Prediction(
                latitude=float(latitudes[b]),
                longitude=float(longitudes[b]),
                point_mode=self.point_mode,
                checkpoint_sha256=self.checkpoint_sha256,
                top_cells=[
                    self._cell_guess(int(c), float(probabilities[b, c]), polygon_points_per_edge) for c in top[b]
                ],
                distribution=probabilities[b].tolist() if distribution else None,
            )
            for b in range(len(probabilities))
        ]

    def _cell_guess(self, index: int, probability: float, points_per_edge: int) -> CellGuess:
        return cell_guess(self.cells, index, probability, points_per_edge=points_per_edge, polygons=self._polygons)


def cell_guess(
    cells: CellSet,
    index: int,
    probability: float,
    *,
    points_per_edge: int,
    polygons: dict[int, list[tuple[float, float]]],
) -> CellGuess:
    """Cell `index` of `cells` as a guess; `polygons` caches the drawn outlines (a predictor keeps one)."""
    key = index * 1000 + points_per_edge
    if key not in polygons:
        polygons[key] = cells.polygon(index, points_per_edge=points_per_edge)
    return CellGuess(
        class_index=index,
        token=cells.tokens[index],
        probability=probability,
        latitude=float(cells.mean_latitudes[index]),
        longitude=float(cells.mean_longitudes[index]),
        polygon=polygons[key],
    )
