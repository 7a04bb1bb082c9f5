"""Several views of a place against one: the model's error on a multi-view set (default panoramax-multiview, 100
places of four views) from each single view, from all views combined as the game combines them (the mean of their
log-probabilities, planet_engine.predict.views_combine) and, for comparison, from the mean of their probabilities.
Every image is predicted once; the combinations reuse those distributions.

Run: .venv/bin/python -m bench.multiview [--checkpoint var/demo/model.pt] [--manifest M.csv] [--json F]
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from planet_engine.geo import THRESHOLD_NAMES, ErrorSummary, distances_km, summarize_errors
from planet_engine.manifest import data_dir, read_manifest
from planet_engine.predict import POINT_MODES, Predictor, point_guesses, views_combine

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path, default=ROOT / "var" / "demo" / "model.pt")
    parser.add_argument("--manifest", type=Path, default=data_dir() / "panoramax-multiview" / "manifest.csv")
    parser.add_argument("--json", type=Path, default=None, help="write the table here too")
    args = parser.parse_args()

    manifest = read_manifest(args.manifest)
    rows_of: dict[str, list[int]] = defaultdict(list)
    for index, row in enumerate(manifest.rows):
        rows_of[row.extra["place_id"]].append(index)
    names = [manifest.rows[i].extra["view"] for i in next(iter(rows_of.values()))]
    predictor = Predictor(args.checkpoint, device="cpu", backend="onnx", threads=1)
    started = time.perf_counter()
    probabilities = predictor.probabilities(manifest.image_paths)  # (N, C)
    seconds = time.perf_counter() - started
    places = list(rows_of.values())
    truth = manifest.latitudes[[p[0] for p in places]], manifest.longitudes[[p[0] for p in places]]
    methods = {f"{name} only": np.stack([probabilities[p[k]] for p in places]) for k, name in enumerate(names)}
    methods["all views, mean of log-probabilities (the game)"] = np.stack(
        [views_combine(probabilities[p]) for p in places])
    methods["all views, mean of probabilities"] = np.stack([probabilities[p].mean(axis=0) for p in places])

    table: dict[str, ErrorSummary] = {}
    for mode in POINT_MODES:
        for method, distribution in methods.items():
            latitudes, longitudes = point_guesses(distribution, predictor.cells, mode)
            table[f"{method}, point={mode}"] = summarize_errors(distances_km(latitudes, longitudes, *truth))
    print(f"{len(places)} places of {len(names)} views ({args.manifest}); {len(manifest)} images predicted in "
          f"{seconds:.1f} s; % within {'/'.join(THRESHOLD_NAMES)}")
    for name, summary in table.items():
        print(f"  {name:64s} " + " ".join(f"{100 * summary.accuracy[t]:5.1f}" for t in THRESHOLD_NAMES)
              + f"  median {summary.median_km:6.0f} km  GeoScore {summary.mean_geoscore:5.0f}")
    if args.json:
        args.json.write_text(json.dumps({name: summary.as_dict() for name, summary in table.items()}, indent=2))

if __name__ == "__main__":
    main()
