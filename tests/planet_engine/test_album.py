"""PlaNet's album model: an LSTM over a place's views, trained over a frozen base checkpoint, saved as a checkpoint
that pins its base by hash, and predicting groups of views as Predictor does.

The task: places whose four views show two regions' textures, two views each (region k and region k+1), standing
at region k. One view alone could be either of two places, and so is the mean of the views' log-probabilities
(a tie between the two regions); the pair of textures says which."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from planet_engine.album import (
    album_probabilities,
    album_train,
    base_embeddings,
    fit_album,
    load_album,
    view_inputs,
)
from planet_engine.album_predict import AlbumPredictor
from planet_engine.checkpoint import CheckpointError, load_checkpoint, read_payload, save_checkpoint
from planet_engine.cli import main
from planet_engine.config import AlbumSettings
from planet_engine.geo import distances_km
from planet_engine.manifest import read_manifest
from planet_engine.predict import Predictor
from planet_engine.synthetic import REGIONS, synthetic_image


def write_paired_places(folder: Path, *, places_per_region: int, seed: int) -> Path:
    """Places at region k with two views of region k's texture and two of region k+1's, in a random order."""
    rng = np.random.default_rng(seed)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    regions = list(REGIONS.values())
    rows = []
    for k, ((latitude, longitude), _, _) in enumerate(regions):
        for n in range(places_per_region):
            place = f"place-{seed}-{k}-{n}"
            location = (latitude + rng.normal(0, 0.3), longitude + rng.normal(0, 0.3))
            for view, shown in enumerate(rng.permutation([k, k, (k + 1) % 4, (k + 1) % 4])):
                _, colour, pattern = regions[int(shown)]
                file = f"images/{place}-{view}.jpg"
                synthetic_image(colour, pattern, rng).save(folder / file, quality=90)
                rows.append(
                    {
                        "file": file,
                        "latitude": location[0],
                        "longitude": location[1],
                        "place_id": place,
                        "view": f"view-{view}",
                    }
                )
    manifest = folder / "manifest.csv"
    with manifest.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return manifest


@pytest.fixture(scope="module")
def paired_train(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_paired_places(tmp_path_factory.mktemp("paired-train"), places_per_region=8, seed=11)


@pytest.fixture(scope="module")
def paired_test(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_paired_places(tmp_path_factory.mktemp("paired-test"), places_per_region=4, seed=12)


@pytest.fixture(scope="module")
def embedding_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("album-cache")


@pytest.fixture(scope="module")
def album_checkpoint(
    tiny_checkpoint: Path, paired_train: Path, embedding_cache: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    out = tmp_path_factory.mktemp("album") / "album.pt"
    album_train(
        base=tiny_checkpoint,
        manifest=paired_train,
        out=out,
        settings=AlbumSettings(),
        cache_dir=embedding_cache,
        quiet=True,
    )
    return out


def _groups(manifest_path: Path) -> tuple[list[list[Path]], np.ndarray, np.ndarray]:
    manifest = read_manifest(manifest_path)
    places = manifest.places()
    first = [place[0] for place in places]
    return (
        [[manifest.rows[i].path for i in place] for place in places],
        manifest.latitudes[first],
        manifest.longitudes[first],
    )


def _hits(predictions: list, latitudes: np.ndarray, longitudes: np.ndarray) -> float:
    errors = distances_km(
        np.array([p.latitude for p in predictions]), np.array([p.longitude for p in predictions]), latitudes, longitudes
    )
    return float(np.mean(errors < 750))  # the regions lie thousands of km apart


def test_the_album_tells_apart_places_whose_single_views_are_ambiguous(tiny_checkpoint, album_checkpoint, paired_test):
    groups, latitudes, longitudes = _groups(paired_test)
    album = AlbumPredictor(album_checkpoint, base=tiny_checkpoint).predict_groups(groups)
    averaged = Predictor(tiny_checkpoint, device="cpu").predict_groups(groups)
    # Chance is 1/4; a single view, or the tie its average makes, is right about half the time at best.
    assert _hits(album, latitudes, longitudes) >= 0.9
    assert _hits(averaged, latitudes, longitudes) <= 0.75


def test_the_order_of_the_views_hardly_matters(tiny_checkpoint, album_checkpoint, paired_test):
    predictor = AlbumPredictor(album_checkpoint, base=tiny_checkpoint)
    group = _groups(paired_test)[0][0]
    orders = [group, group[::-1], [group[1], group[3], group[0], group[2]], [group[2], group[0], group[3], group[1]]]
    distributions = predictor.probabilities_of_groups(orders)  # (4, C)
    np.testing.assert_allclose(distributions[0], distributions[1], atol=1e-6)  # read both ways: reversal is free
    # Other orders: the same top cell, and distributions that differ by little (total variation distance).
    assert len(set(distributions.argmax(axis=1).tolist())) == 1
    assert 0.5 * np.abs(distributions - distributions[0]).sum(axis=1).max() < 0.25


def test_the_checkpoint_describes_itself_and_predicts_as_the_model_trained_in_memory(
    tiny_checkpoint, album_checkpoint, paired_train, paired_test, embedding_cache
):
    base = load_checkpoint(tiny_checkpoint)
    loaded = load_album(album_checkpoint, base_sha256=base.sha256, base_cells=base.cells)
    payload = loaded.payload
    assert payload["base_sha256"] == base.sha256 and payload["cells_sha256"] == base.cells.fingerprint()
    assert payload["settings"] == dataclasses.asdict(AlbumSettings()) and payload["places"] == 32
    assert payload["views"] == 128 and len(payload["history"]) == AlbumSettings().epochs
    assert payload["git_sha"] and payload["manifest_sha256"] == read_manifest(paired_train).fingerprint()
    # Seeded and deterministic: the same training in memory gives the weights the file holds.
    train = read_manifest(paired_train)
    places = train.places()
    first = [place[0] for place in places]
    inputs = view_inputs(
        base.model,
        base_embeddings(base, train.image_paths, cache_dir=embedding_cache, device=torch.device("cpu")),
        "embedding",
    )
    model, _ = fit_album(
        [inputs[place] for place in places],
        train.latitudes[first],
        train.longitudes[first],
        base.cells,
        AlbumSettings(),
    )
    state = loaded.model.state_dict()
    assert all(torch.equal(state[name], value) for name, value in model.state_dict().items())
    predictor = AlbumPredictor(album_checkpoint, base=tiny_checkpoint)
    groups = _groups(paired_test)[0][:4]
    predictions = predictor.predict_groups(groups, distribution=True)
    # The same up to float32 rounding: the predictor batches the groups' views, and a batch of another shape (or
    # another number of threads) sums in another order.
    np.testing.assert_allclose(
        np.array([p.distribution for p in predictions], dtype=float),
        album_probabilities(model, [predictor.view_inputs(group) for group in groups]),
        rtol=1e-5,
        atol=1e-7,
    )
    assert predictions[0].checkpoint_sha256 == hashlib.sha256(album_checkpoint.read_bytes()).hexdigest()


def test_a_base_checkpoint_whose_sha256_differs_is_refused(tiny_checkpoint, album_checkpoint, tmp_path):
    payload, _ = read_payload(tiny_checkpoint)
    other = tmp_path / "other.pt"
    save_checkpoint(other, {**payload, "git_sha": "another run"})  # same weights, another file
    with pytest.raises(CheckpointError, match="trained on base checkpoint"):
        AlbumPredictor(album_checkpoint, base=other)
    with pytest.raises(CheckpointError, match="not a planet-engine-album/1 checkpoint"):
        AlbumPredictor(tiny_checkpoint, base=tiny_checkpoint)


def test_log_probabilities_as_input_train_too(tiny_checkpoint, paired_train, paired_test, embedding_cache, tmp_path):
    out = tmp_path / "album-logprobs.pt"
    album_train(
        base=tiny_checkpoint,
        manifest=paired_train,
        out=out,
        settings=AlbumSettings(input="logprobs"),
        cache_dir=embedding_cache,
        quiet=True,
    )
    groups, latitudes, longitudes = _groups(paired_test)
    assert _hits(AlbumPredictor(out, base=tiny_checkpoint).predict_groups(groups), latitudes, longitudes) >= 0.9


def test_cli_trains_an_album_and_predicts_a_place_with_it(
    tiny_checkpoint, paired_train, paired_test, embedding_cache, tmp_path, capsys
):
    out = tmp_path / "album.pt"
    assert (
        main(
            [
                "album-train",
                "--base",
                str(tiny_checkpoint),
                "--manifest",
                str(paired_train),
                "--out",
                str(out),
                "--epochs",
                "5",
                "--input",
                "logprobs",
                "--cache-dir",
                str(embedding_cache),
                "--quiet",
            ]
        )
        == 0
    )
    assert "32 places, 128 views, input logprobs" in capsys.readouterr().out
    views = [str(path) for path in _groups(paired_test)[0][0]]
    assert (
        main(
            [
                "predict",
                "--checkpoint",
                str(tiny_checkpoint),
                "--album",
                str(out),
                "--multi-view",
                "--top-k",
                "2",
                *views,
            ]
        )
        == 0
    )
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 1 and lines[0]["image"] == ",".join(views) and len(lines[0]["top_cells"]) == 2
    assert -90 <= lines[0]["latitude"] <= 90
