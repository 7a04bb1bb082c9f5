"""Choose the demo model's settings without touching the game set: owner-grouped 5-fold cross-validation
on yfcc-train, printing accuracy at the five radii, median km and mean GeoScore for each point mode.

Two searches:
- `--search method` (default, issue 18): on the partition chosen before (t1=25, t2=3, haversine tau 1000 km),
  what the method adds: calibration (a softmax temperature), training on augmented views, test-time augmentation (TTA),
  the GeoEstimation hierarchy of coarser partitions, retrieval refinement inside the top cells (several
  temperatures), beside the baselines (prior, random cell, kNN) computed on the same folds;
- `--search partition`: the earlier grid over partition thresholds, loss and weight decay / epochs.

Run: .venv/bin/python bench/demo_config_cv.py [--search method|partition]  (embeds yfcc-train with Lite2 once per
view, cached in .cache/)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from planet_engine.cells import CellSet, adaptive_partition  # noqa: E402
from planet_engine.config import VIEWS  # noqa: E402
from planet_engine.data import cached_embeddings  # noqa: E402
from planet_engine.evaluate import knn_guesses  # noqa: E402
from planet_engine.geo import distances_km, summarize_errors  # noqa: E402
from planet_engine.hierarchy import HierarchicalHead, ancestor_map  # noqa: E402
from planet_engine.manifest import Manifest, data_dir, read_manifest  # noqa: E402
from planet_engine.model import GeoClassifier, pretrained_weights_sha256  # noqa: E402
from planet_engine.predict import POINT_MODES, point_guesses  # noqa: E402
from planet_engine.probe import fit_probe  # noqa: E402
from planet_engine.retrieval import Gallery, refine_points  # noqa: E402

FOLDS = 5
FINE = (25, 3)


@dataclass(frozen=True)
class Setting:
    name: str
    train_views: tuple[str, ...] = ("center",)
    test_views: tuple[str, ...] = ("center",)
    levels: tuple[tuple[int, int], ...] = ()  # coarser partitions (t1, t2)
    fine: tuple[int, int] = FINE
    temperatures: tuple[float, ...] = ()  # retrieval refinement
    calibrations: tuple[float, ...] = (1.0,)  # softmax temperatures of the cell distribution
    loss: str = "haversine"
    tau_km: float = 1000.0
    weight_decay: float = 0.05
    epochs: int = 20


ALL = tuple(VIEWS)
METHOD_SETTINGS = [
    Setting("shipped before (centre crop, one partition)"),
    Setting("+ calibration", calibrations=(2.0, 4.0, 8.0)),
    Setting("+ TTA (5 views)", test_views=ALL, calibrations=(1.0, 2.0, 4.0, 8.0)),
    Setting("+ TTA + train on the 5 views", train_views=ALL, test_views=ALL, calibrations=(1.0, 4.0)),
    Setting("+ TTA + hierarchy 100:10,50:5", test_views=ALL, levels=((100, 10), (50, 5)), calibrations=(1.0, 4.0)),
    Setting(
        "+ TTA + hierarchy, fine 12:2",
        test_views=ALL,
        levels=((100, 10), (50, 5), (25, 3)),
        fine=(12, 2),
        calibrations=(1.0, 4.0),
    ),
    Setting("+ TTA + retrieval", test_views=ALL, temperatures=(0.1, 0.3), calibrations=(1.0, 4.0)),
]


def folds_of(manifest: Manifest) -> np.ndarray:
    """(N,) fold of each photo; split by owner: one photographer's photos never sit on both sides."""
    owners = np.array(manifest.column("flickr_owner"))
    fold_of_owner = dict(
        zip(np.unique(owners), np.random.default_rng(0).integers(0, FOLDS, len(set(owners))), strict=True)
    )
    return np.array([fold_of_owner[owner] for owner in owners])


def summary_line(label: str, errors: Iterable[np.ndarray]) -> str:
    summary = summarize_errors(np.concatenate(list(errors)))
    accuracy = " ".join(f"{100 * rate:5.1f}" for rate in summary.accuracy.values())
    return f"{label:<58}{accuracy}  med {summary.median_km:5.0f}  gs {summary.mean_geoscore:4.0f}"


def run_setting(
    setting: Setting,
    views: dict[str, torch.Tensor],
    manifest: Manifest,
    fold: np.ndarray,
    errors: dict[str, list[np.ndarray]],
) -> None:
    lat, lon = manifest.latitudes, manifest.longitudes
    for held_out in range(FOLDS):
        train_rows, test_rows = np.flatnonzero(fold != held_out), np.flatnonzero(fold == held_out)
        partition = adaptive_partition(lat[train_rows], lon[train_rows], t1=setting.fine[0], t2=setting.fine[1])
        cells = CellSet.from_partition(partition)
        kept = train_rows[partition.assignment >= 0]
        coarse = [
            CellSet.from_partition(adaptive_partition(lat[train_rows], lon[train_rows], t1=t1, t2=t2))
            for t1, t2 in setting.levels
        ]
        head = HierarchicalHead(
            views["center"].shape[1],
            len(cells),
            ancestors=[ancestor_map(cells, c) for c in coarse],
            level_sizes=[len(c) for c in coarse],
        )
        features = torch.cat([views[v][kept] for v in setting.train_views])  # (V*N, D)
        repeat = len(setting.train_views)
        fit_probe(
            head,
            features,
            np.tile(lat[kept], repeat),
            np.tile(lon[kept], repeat),
            [cells, *coarse],
            loss=setting.loss,
            tau_km=setting.tau_km,
            weight_decay=setting.weight_decay,
            epochs=setting.epochs,
            lr=3e-3,
            batch_size=64,
            seed=0,
        )
        truth = lat[test_rows], lon[test_rows]
        queries = torch.stack([views[v][test_rows] for v in setting.test_views]).mean(0)  # (T, D)
        gallery_raw = torch.stack([views[v][kept] for v in setting.test_views]).mean(0)
        for calibration in setting.calibrations:
            with torch.no_grad():
                probabilities = np.mean(
                    [torch.softmax(head(views[v][test_rows]) / calibration, 1).numpy() for v in setting.test_views],
                    axis=0,
                )  # (T, C)
            for mode in POINT_MODES:
                errors.setdefault(f"c={calibration} {mode}", []).append(
                    distances_km(*point_guesses(probabilities, cells, mode), *truth)
                )
            for temperature in setting.temperatures:
                gallery = Gallery.build(
                    gallery_raw,
                    lat[kept],
                    lon[kept],
                    partition.assignment[partition.assignment >= 0],
                    temperature=temperature,
                )
                guess = refine_points(probabilities, queries, gallery)
                errors.setdefault(f"c={calibration} refine T={temperature}", []).append(distances_km(*guess, *truth))


def baselines(views: dict[str, torch.Tensor], manifest: Manifest, fold: np.ndarray) -> None:
    lat, lon = manifest.latitudes, manifest.longitudes
    errors: dict[str, list[np.ndarray]] = {}
    for held_out in range(FOLDS):
        train_rows, test_rows = np.flatnonzero(fold != held_out), np.flatnonzero(fold == held_out)
        cells = CellSet.from_partition(adaptive_partition(lat[train_rows], lon[train_rows], t1=FINE[0], t2=FINE[1]))
        truth = lat[test_rows], lon[test_rows]
        best = int(np.argmax(cells.counts))
        count = len(test_rows)
        frequencies = np.tile(cells.counts / cells.counts.sum(), (count, 1))  # (T, C)
        errors.setdefault("smart prior (GeoScore point of the cell frequencies)", []).append(
            distances_km(*point_guesses(frequencies, cells, "geoscore"), *truth)
        )
        errors.setdefault("prior (most frequent cell)", []).append(
            distances_km(
                np.full(count, cells.mean_latitudes[best]), np.full(count, cells.mean_longitudes[best]), *truth
            )
        )
        picks = np.random.default_rng(held_out).integers(0, len(cells), size=count)
        errors.setdefault("random cell", []).append(
            distances_km(cells.mean_latitudes[picks], cells.mean_longitudes[picks], *truth)
        )
        for k in (1, 10):
            guess = knn_guesses(
                views["center"][test_rows], views["center"][train_rows], lat[train_rows], lon[train_rows], k=k
            )
            errors.setdefault(f"kNN retrieval (k={k})", []).append(distances_km(*guess, *truth))
    for name, rows in errors.items():
        print(summary_line(name, rows), flush=True)


def search_method(views: dict[str, torch.Tensor], manifest: Manifest, fold: np.ndarray) -> None:
    print(f"{'setting / point mode':<58}% at 1 / 25 / 200 / 750 / 2500 km, median km, mean GeoScore")
    baselines(views, manifest, fold)
    for setting in METHOD_SETTINGS:
        errors: dict[str, list[np.ndarray]] = {}
        run_setting(setting, views, manifest, fold, errors)
        for mode, rows in errors.items():
            print(summary_line(f"{setting.name}, {mode}", rows), flush=True)


def search_partition(views: dict[str, torch.Tensor], manifest: Manifest, fold: np.ndarray) -> None:
    print("t1 t2 loss tau wd epochs | per point mode: % at 1/25/200/750/2500 km, median km, mean GeoScore")
    for t1, t2 in [(25, 3), (50, 5), (100, 10)]:
        for loss, tau in [("ce", 75.0), ("haversine", 75.0), ("haversine", 300.0), ("haversine", 1000.0)]:
            for weight_decay, epochs in [(1e-4, 60), (0.05, 20)]:
                errors: dict[str, list[np.ndarray]] = {}
                setting = Setting(
                    f"{t1} {t2} {loss} {tau} {weight_decay} {epochs}",
                    fine=(t1, t2),
                    loss=loss,
                    tau_km=tau,
                    weight_decay=weight_decay,
                    epochs=epochs,
                )
                run_setting(setting, views, manifest, fold, errors)
                print(
                    " | ".join(summary_line(f"{setting.name} {mode}", rows) for mode, rows in errors.items()),
                    flush=True,
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--search", choices=["method", "partition"], default="method")
    parser.add_argument("--cache-dir", default=".cache/planet_engine")
    args = parser.parse_args()
    manifest = read_manifest(data_dir() / "yfcc-train" / "manifest.csv")
    backbone = GeoClassifier("efficientnet-lite2", 1, pretrained=True)
    wanted = VIEWS if args.search == "method" else ("center",)
    views = {
        view: cached_embeddings(
            backbone,
            manifest.image_paths,
            size=260,
            cache_dir=Path(args.cache_dir),
            backbone_key=pretrained_weights_sha256("efficientnet-lite2"),
            view=view,
        )
        for view in wanted
    }  # each (N, 1280)
    fold = folds_of(manifest)
    (search_method if args.search == "method" else search_partition)(views, manifest, fold)


if __name__ == "__main__":
    main()
