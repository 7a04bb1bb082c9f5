"""Choose the demo model's settings without touching the game set: owner-grouped 5-fold cross-validation
on yfcc-train over partition thresholds, loss (CE, or haversine smoothing with tau) and weight decay /
epochs, printing accuracy at the five radii, median km and mean GeoScore for both point modes.

Run: .venv/bin/python bench/demo_config_cv.py  (embeds yfcc-train with Lite2 once, cached in .cache/)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from planet_engine.cells import CellSet, adaptive_partition  # noqa: E402
from planet_engine.data import cached_embeddings  # noqa: E402
from planet_engine.geo import distances_km, summarize_errors  # noqa: E402
from planet_engine.manifest import data_dir, read_manifest  # noqa: E402
from planet_engine.model import GeoClassifier, pretrained_weights_sha256  # noqa: E402
from planet_engine.predict import POINT_MODES, point_guesses  # noqa: E402
from planet_engine.train import soft_targets  # noqa: E402

FOLDS = 5


def train_head(features: torch.Tensor, labels: torch.Tensor, targets: torch.Tensor | None, classes: int,
               *, weight_decay: float, epochs: int, lr: float = 3e-3) -> torch.nn.Linear:
    """The linear probe of planet_engine.train on (N, D) features, in a few lines for speed."""
    torch.manual_seed(0)
    head = torch.nn.Linear(features.shape[1], classes)
    optimizer = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=weight_decay)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs)
    for _ in range(epochs):
        order = torch.randperm(len(features))
        for start in range(0, len(features), 64):
            batch = order[start:start + 64]
            logits = head(features[batch])
            loss = (F.cross_entropy(logits, labels[batch]) if targets is None
                    else -(targets[batch] * F.log_softmax(logits, 1)).sum(1).mean())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        schedule.step()
    return head


def main() -> None:
    manifest = read_manifest(data_dir() / "yfcc-train" / "manifest.csv")
    backbone = GeoClassifier("efficientnet-lite2", 1, pretrained=True)
    features = cached_embeddings(backbone, manifest.image_paths, size=260, cache_dir=Path(".cache/planet_engine"),
                                 backbone_key=pretrained_weights_sha256("efficientnet-lite2"))  # (N, 1280)
    owners = np.array(manifest.column("flickr_owner"))
    # Split by owner: one photographer's photos never sit on both sides.
    fold_of_owner = dict(zip(np.unique(owners), np.random.default_rng(0).integers(0, FOLDS, len(set(owners)))))
    fold = np.array([fold_of_owner[owner] for owner in owners])
    lat, lon = manifest.latitudes, manifest.longitudes
    print("t1 t2 loss tau wd epochs | per point mode: % at 1/25/200/750/2500 km, median km, mean GeoScore")
    for t1, t2 in [(25, 3), (50, 5), (100, 10)]:
        for loss, tau in [("ce", 0.0), ("haversine", 75.0), ("haversine", 300.0), ("haversine", 1000.0)]:
            for weight_decay, epochs in [(1e-4, 60), (0.05, 20)]:
                errors: dict[str, list[np.ndarray]] = {mode: [] for mode in POINT_MODES}
                for held_out in range(FOLDS):
                    train_rows, test_rows = np.flatnonzero(fold != held_out), np.flatnonzero(fold == held_out)
                    partition = adaptive_partition(lat[train_rows], lon[train_rows], t1=t1, t2=t2)
                    cells = CellSet.from_partition(partition)
                    kept = train_rows[partition.assignment >= 0]
                    labels = torch.from_numpy(partition.assignment[partition.assignment >= 0])
                    targets = soft_targets(lat[kept], lon[kept], cells, tau) if loss == "haversine" else None
                    head = train_head(features[kept], labels, targets, len(cells), weight_decay=weight_decay,
                                      epochs=epochs)
                    with torch.no_grad():
                        probabilities = torch.softmax(head(features[test_rows]), 1).numpy()
                    for mode in POINT_MODES:
                        guess_lat, guess_lon = point_guesses(probabilities, cells, mode)
                        errors[mode].append(distances_km(guess_lat, guess_lon, lat[test_rows], lon[test_rows]))
                columns = []
                for mode in POINT_MODES:
                    summary = summarize_errors(np.concatenate(errors[mode]))
                    accuracy = " ".join(f"{100 * rate:.1f}" for rate in summary.accuracy.values())
                    columns.append(f"{mode}: {accuracy} med {summary.median_km:.0f} gs {summary.mean_geoscore:.0f}")
                print(t1, t2, loss, tau, weight_decay, epochs, "|", " | ".join(columns), flush=True)


if __name__ == "__main__":
    main()
