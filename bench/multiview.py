"""Several views of a place against one: the model's error on a multi-view set (default panoramax-multiview, 100
places of four views) from each single view, from all views combined as the game combines them (the mean of their
log-probabilities, planet_engine.predict.views_combine), from the mean of their probabilities and from PlaNet's
album LSTM (planet_engine/album.py), trained by place-grouped k-fold cross-validation on the set itself: each fold's
LSTM never saw the places it is scored on. Every image is embedded once (cached); the rest reuses those features.

Run: .venv/bin/python -m bench.multiview [--checkpoint var/demo/model.pt] [--manifest M.csv] [--folds 5] [--json F]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from planet_engine.album import album_probabilities, base_embeddings, fit_album, place_targets, view_inputs
from planet_engine.cells import CellSet
from planet_engine.checkpoint import load_checkpoint
from planet_engine.config import ALBUM_INPUTS, DEFAULT_CACHE_DIR, AlbumSettings
from planet_engine.geo import THRESHOLD_NAMES, ErrorSummary, distances_km, summarize_errors
from planet_engine.manifest import data_dir, read_manifest
from planet_engine.predict import POINT_MODES, point_guesses, views_combine

ROOT = Path(__file__).resolve().parent.parent
INNER_FOLDS = 4
# One fold's method: (training places, test places) -> (test places' predictions as (P, C) distributions, or as
# (sum V, C) for the single views, with the (P or sum V,) indices of their places).
Method = Callable[[list[int], list[int]], tuple[np.ndarray, list[int]]]


@dataclasses.dataclass
class Features:
    """Everything the methods read: each place's views (row indices), per-view probabilities and album inputs."""

    places: list[list[int]]
    probabilities: np.ndarray  # (N, C) the base model's, centre crop
    inputs: dict[str, torch.Tensor]  # album input kind -> (N, F)
    latitudes: np.ndarray  # (P,) place locations
    longitudes: np.ndarray
    cells: CellSet


def place_folds(count: int, folds: int, seed: int) -> list[list[int]]:
    """Place indices 0..count-1 in `folds` seeded, near-equal folds."""
    order = np.random.default_rng(seed).permutation(count)
    return [sorted(int(i) for i in part) for part in np.array_split(order, folds)]


def album_method(features: Features, settings: AlbumSettings) -> Method:
    def run(train: list[int], test: list[int]) -> tuple[np.ndarray, list[int]]:
        inputs = features.inputs[settings.input]
        model, _ = fit_album(
            [inputs[features.places[p]] for p in train],
            features.latitudes[train],
            features.longitudes[train],
            features.cells,
            settings,
        )
        return album_probabilities(model, [inputs[features.places[p]] for p in test]), test

    return run


def geoscore_of(features: Features, method: Method, train: list[int], test: list[int]) -> float:
    distributions, places = method(train, test)
    latitudes, longitudes = point_guesses(distributions, features.cells, "geoscore")
    return float(
        summarize_errors(
            distances_km(latitudes, longitudes, features.latitudes[places], features.longitudes[places])
        ).mean_geoscore
    )


def inner_chosen_method(features: Features, settings: AlbumSettings, seed: int) -> Method:
    """The LSTM whose input (embedding or log-probabilities) scores the best mean GeoScore in a cross-validation
    inside the training places alone: the held-out places choose nothing."""

    def run(train: list[int], test: list[int]) -> tuple[np.ndarray, list[int]]:
        scores = {}
        for kind in ALBUM_INPUTS:
            method = album_method(features, dataclasses.replace(settings, input=kind))
            inner = [[train[i] for i in fold] for fold in place_folds(len(train), INNER_FOLDS, seed)]
            scores[kind] = np.mean(
                [geoscore_of(features, method, [p for p in train if p not in fold], fold) for fold in inner]
            )
        chosen = max(scores, key=lambda kind: scores[kind])
        print(
            f"    inner CV chose input={chosen} (mean GeoScore "
            + ", ".join(f"{kind} {score:.0f}" for kind, score in scores.items())
            + ")"
        )
        return album_method(features, dataclasses.replace(settings, input=chosen))(train, test)

    return run


def methods_of(features: Features, settings: AlbumSettings, seed: int) -> dict[str, Method]:
    p = features.probabilities
    places = features.places

    def single(train: list[int], test: list[int]) -> tuple[np.ndarray, list[int]]:
        return p[[i for t in test for i in places[t]]], [t for t in test for _ in places[t]]

    def combined(combine: Callable[[np.ndarray], np.ndarray]) -> Method:
        return lambda train, test: (np.stack([combine(p[places[t]]) for t in test]), test)

    def prior(train: list[int], test: list[int]) -> tuple[np.ndarray, list[int]]:
        targets = place_targets(features.latitudes[train], features.longitudes[train], features.cells, settings)
        return np.repeat(targets.double().mean(dim=0, keepdim=True).numpy(), len(test), axis=0), test

    return {
        "(a) single views (every view alone)": single,
        "(b) mean of log-probabilities (the game)": combined(views_combine),
        "(c) mean of probabilities": combined(lambda views: views.mean(axis=0)),
        "(d) LSTM, input chosen inside the training places": inner_chosen_method(features, settings, seed),
        "(d1) LSTM on embeddings": album_method(features, dataclasses.replace(settings, input="embedding")),
        "(d2) LSTM on log-probabilities": album_method(features, dataclasses.replace(settings, input="logprobs")),
        "(e) no image: the training places' target mean": prior,
    }


def cross_validate(
    features: Features, methods: dict[str, Method], folds: list[list[int]]
) -> dict[str, list[tuple[np.ndarray, list[int]]]]:
    """Method -> each fold's predictions of its held-out places (distributions, place of each)."""
    predictions: dict[str, list[tuple[np.ndarray, list[int]]]] = {name: [] for name in methods}
    everything = range(len(features.places))
    for index, test in enumerate(folds):
        train = [p for p in everything if p not in set(test)]
        print(f"  fold {index + 1}/{len(folds)}: {len(train)} training places, {len(test)} held out")
        for name, method in methods.items():
            predictions[name].append(method(train, test))
    return predictions


def fold_errors(
    features: Features, predictions: list[tuple[np.ndarray, list[int]]], mode: str
) -> tuple[list[np.ndarray], int]:
    """One method's folds -> each fold's (P_f or sum V_f,) km errors under point mode `mode`, and how many distinct
    points it guessed in all (1: the same guess whatever the images)."""
    errors, points = [], set()
    for distributions, places in predictions:
        latitudes, longitudes = point_guesses(distributions, features.cells, mode)
        errors.append(distances_km(latitudes, longitudes, features.latitudes[places], features.longitudes[places]))
        points |= set(zip(latitudes.round(4).tolist(), longitudes.round(4).tolist(), strict=True))
    return errors, len(points)


def row(summary: ErrorSummary) -> str:
    return (
        " ".join(f"{100 * summary.accuracy[t]:5.1f}" for t in THRESHOLD_NAMES)
        + f"  median {summary.median_km:6.0f} km  GeoScore {summary.mean_geoscore:5.0f}"
    )


def load_features(checkpoint: Path, manifest_path: Path, cache_dir: Path | None) -> Features:
    loaded = load_checkpoint(checkpoint)
    manifest = read_manifest(manifest_path)
    embeddings = base_embeddings(loaded, manifest.image_paths, cache_dir=cache_dir, device=torch.device("cpu"))
    logprobs = view_inputs(loaded.model, embeddings, "logprobs")  # (N, C)
    places = manifest.places()
    first = [place[0] for place in places]
    return Features(
        places=places,
        probabilities=np.exp(logprobs.double().numpy()),
        inputs={"embedding": view_inputs(loaded.model, embeddings, "embedding"), "logprobs": logprobs},
        latitudes=manifest.latitudes[first],
        longitudes=manifest.longitudes[first],
        cells=loaded.cells,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path, default=ROOT / "var" / "demo" / "model.pt")
    parser.add_argument("--manifest", type=Path, default=data_dir() / "panoramax-multiview" / "manifest.csv")
    parser.add_argument("--folds", type=int, default=5, help="place-grouped folds of the cross-validation")
    parser.add_argument("--seed", type=int, default=0, help="folds and LSTM training")
    parser.add_argument("--cache-dir", default=DEFAULT_CACHE_DIR, help="embedding cache ('' for none)")
    parser.add_argument("--json", type=Path, default=None, help="write the tables here too")
    args = parser.parse_args()
    torch.set_num_threads(1)

    started = time.perf_counter()
    features = load_features(args.checkpoint, args.manifest, Path(args.cache_dir) if args.cache_dir else None)
    settings = AlbumSettings(seed=args.seed, tau_km=float(load_checkpoint(args.checkpoint).config["tau_km"]))
    print(
        f"{len(features.places)} places, {len(features.probabilities)} views ({args.manifest}); features in "
        f"{time.perf_counter() - started:.1f} s; LSTM settings {dataclasses.asdict(settings)}"
    )
    folds = place_folds(len(features.places), args.folds, args.seed)
    predictions = cross_validate(features, methods_of(features, settings, args.seed), folds)
    report: dict[str, object] = {}
    for mode in POINT_MODES:
        print(f"\npoint={mode}: % within {'/'.join(THRESHOLD_NAMES)} (1/25/200/750/2500 km), held-out places")
        for name, per_method in predictions.items():
            errors, distinct = fold_errors(features, per_method, mode)
            summaries = [summarize_errors(fold) for fold in errors]
            overall = summarize_errors(np.concatenate(errors))
            spread = np.std([s.mean_geoscore for s in summaries])
            far = np.std([100 * s.accuracy["continent"] for s in summaries])
            print(
                f"  {name}\n    overall {row(overall)}  (fold sd: GeoScore {spread:.0f}, 2500 km {far:.1f}; "
                f"{distinct} distinct guesses)"
            )
            for index, summary in enumerate(summaries):
                print(f"    fold {index + 1}  {row(summary)}")
            report[f"{name}, point={mode}"] = {
                "overall": overall.as_dict(),
                "distinct_guesses": distinct,
                "folds": [s.as_dict() for s in summaries],
            }
    print(f"done in {time.perf_counter() - started:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
