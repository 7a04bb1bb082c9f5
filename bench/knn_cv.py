"""Choose the kNN model's k and temperature without touching the game set: leave-one-owner-out on yfcc-train,
each photo guessed from the gallery with its own photographer's photos left out (a photographer's photos are
near-duplicates of one another), printing accuracy at the five radii, median km and mean GeoScore.

Run: .venv/bin/python -m planet_engine knn-build --manifest ../shared/datasets/yfcc-train/manifest.csv \
         --out var/knn/knn.pt
     .venv/bin/python bench/knn_cv.py --checkpoint var/knn/knn.pt      (seconds: the gallery holds the embeddings)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from planet_engine.geo import distances_km, summarize_errors  # noqa: E402
from planet_engine.knn import load_knn, neighbour_weights  # noqa: E402
from planet_engine.manifest import read_manifest  # noqa: E402
from planet_engine.retrieval import densest_neighbour  # noqa: E402

GRID = [(1, 0.1), *((k, t) for k in (5, 10, 20, 50) for t in (0.03, 0.1, 0.3, 1.0))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", required=True, help="a kNN checkpoint of yfcc-train (knn-build)")
    args = parser.parse_args()
    loaded = load_knn(args.checkpoint)
    gallery = loaded.gallery
    owners = np.array(read_manifest(loaded.payload["manifest"], check_files=False).column("flickr_owner"))
    similarities = np.asarray((gallery.embeddings @ gallery.embeddings.T).numpy(), dtype=np.float64)  # (N, N)
    similarities[owners[:, None] == owners[None, :]] = -np.inf  # never one's own photographer
    print(f"{len(owners)} photos, {len(set(owners))} owners; % within 1/25/200/750/2500 km, median km, GeoScore")
    for k, temperature in GRID:
        guesses = np.empty((len(owners), 2))
        for query, row in enumerate(similarities):
            neighbours, weights = neighbour_weights(row, k, temperature)
            best = neighbours[densest_neighbour(gallery.latitudes[neighbours], gallery.longitudes[neighbours], weights)]
            guesses[query] = gallery.latitudes[best], gallery.longitudes[best]
        summary = summarize_errors(distances_km(guesses[:, 0], guesses[:, 1], gallery.latitudes, gallery.longitudes))
        accuracy = " ".join(f"{100 * rate:5.1f}" for rate in summary.accuracy.values())
        print(
            f"k={k:<3} T={temperature:<5} {accuracy}  median {summary.median_km:5.0f}  "
            f"GeoScore {summary.mean_geoscore:5.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
