"""The kNN retrieval model (im2gps): a checkpoint of gallery embeddings and locations, and a predictor that plays
like PlaNet's (a point guess, top cells with probabilities and polygons)."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from planet_engine.checkpoint import CheckpointError
from planet_engine.cli import main
from planet_engine.geo import distances_km
from planet_engine.knn import KnnPredictor, load_knn
from planet_engine.manifest import read_manifest
from planet_engine.retrieval import densest_neighbour


def test_knn_finds_the_region_of_photos_it_never_saw(tiny_knn_checkpoint, synthetic_test):
    test = read_manifest(synthetic_test)
    predictions = KnnPredictor(tiny_knn_checkpoint, device="cpu").predict(test.image_paths, top_k=3)
    errors = distances_km(
        np.array([p.latitude for p in predictions]),
        np.array([p.longitude for p in predictions]),
        test.latitudes,
        test.longitudes,
    )
    # Four far-apart regions: chance puts three quarters of the guesses on another continent.
    assert np.mean(errors < 750) >= 0.9


def test_knn_top_cells_are_a_distribution_over_the_neighbours_cells(tiny_knn_checkpoint, synthetic_test):
    predictor = KnnPredictor(tiny_knn_checkpoint, device="cpu")
    image = read_manifest(synthetic_test).image_paths[0]
    prediction = predictor.predict([image], top_k=3)[0]
    probabilities = [cell.probability for cell in prediction.top_cells]
    assert 1 <= len(probabilities) <= 3 and probabilities == sorted(probabilities, reverse=True)
    assert all(0.0 < p <= 1.0 for p in probabilities) and sum(probabilities) <= 1.0 + 1e-9
    assert all(len(cell.polygon) >= 4 for cell in prediction.top_cells)
    assert prediction.checkpoint_sha256 == hashlib.sha256(tiny_knn_checkpoint.read_bytes()).hexdigest()
    assert prediction.point_mode == "knn"
    # A batch answers each image as it would alone.
    paths = read_manifest(synthetic_test).image_paths[:4]
    together = predictor.predict(paths, top_k=1)
    alone = [predictor.predict([path], top_k=1)[0] for path in paths]
    assert [c for p in together for c in (p.latitude, p.longitude)] == pytest.approx(
        [c for p in alone for c in (p.latitude, p.longitude)]
    )


def test_several_views_of_one_place_give_one_guess(tiny_knn_checkpoint, synthetic_test):
    predictor = KnnPredictor(tiny_knn_checkpoint, device="cpu")
    images = sorted((synthetic_test.parent / "images").glob("lima-*.jpg"))[:3]
    single = predictor.predict(images[:1], top_k=2)[0]
    assert predictor.predict_views(images[:1], top_k=2) == single
    together = predictor.predict_views(images, top_k=2)
    assert abs(together.latitude - -12.05) < 2 and abs(together.longitude - -77.04) < 2
    with pytest.raises(ValueError, match="at least one view"):
        predictor.predict_views([])


def test_rounds_of_one_view_and_of_several_are_predicted_together(tiny_knn_checkpoint, synthetic_test):
    """The worker's call for a mixed batch (multi-view places beside single photos), as for PlaNet."""
    predictor = KnnPredictor(tiny_knn_checkpoint, device="cpu")
    images = read_manifest(synthetic_test).image_paths[:5]
    groups = [images[:1], images[1:4], images[4:]]
    together = predictor.predict_groups(groups, top_k=2)
    apart = [predictor.predict_views(group, top_k=2) for group in groups]
    assert [c for p in together for c in (p.latitude, p.longitude)] == pytest.approx(
        [c for p in apart for c in (p.latitude, p.longitude)]
    )
    with pytest.raises(ValueError):
        predictor.predict_groups([images[:1], []])


def test_the_guess_is_the_neighbour_with_the_most_weighted_company():
    latitudes = np.array([48.0, 48.1, 48.2, -33.9])
    longitudes = np.array([2.0, 2.1, 2.2, 151.2])
    assert densest_neighbour(latitudes, longitudes, np.full(4, 0.25)) in (0, 1, 2)
    # Most of the weight on the lone neighbour: the guess follows the weight, not the head count.
    assert densest_neighbour(latitudes, longitudes, np.array([0.05, 0.05, 0.05, 0.85])) == 3


def test_a_missing_corrupt_or_planet_checkpoint_is_not_a_knn_model(tmp_path, tiny_checkpoint):
    with pytest.raises(CheckpointError, match="not found"):
        load_knn(tmp_path / "absent.pt")
    (tmp_path / "garbage.pt").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="corrupt"):
        load_knn(tmp_path / "garbage.pt")
    with pytest.raises(CheckpointError, match="not a planet-engine-knn"):
        load_knn(tiny_checkpoint)


def test_cli_builds_a_knn_checkpoint_and_predicts_with_it(synthetic_train, synthetic_test, tmp_path, capsys):
    out = tmp_path / "knn.pt"
    assert (
        main(
            [
                "knn-build",
                "--manifest",
                str(synthetic_train),
                "--out",
                str(out),
                "--backbone",
                "efficientnet-lite0",
                "--image-size",
                "64",
                "--k",
                "3",
                "--t1",
                "10",
                "--t2",
                "2",
                "--cache-dir",
                "",
            ]
        )
        == 0
    )
    summary = capsys.readouterr().out
    assert "48 gallery photos" in summary and "sha256" in summary
    assert load_knn(out).k == 3
    image = str(next((synthetic_test.parent / "images").glob("tokyo-*.jpg")))
    assert main(["predict", "--checkpoint", str(out), image, "--top-k", "2"]) == 0
    line = json.loads(capsys.readouterr().out.splitlines()[0])
    assert abs(line["latitude"] - 35.68) < 2 and abs(line["longitude"] - 139.69) < 2
    assert line["point_mode"] == "knn"


def test_evaluate_reads_a_knn_checkpoint_and_reports_its_table(tiny_knn_checkpoint, synthetic_test, tmp_path, capsys):
    report = tmp_path / "report.json"
    assert (
        main(
            [
                "evaluate",
                "--checkpoint",
                str(tiny_knn_checkpoint),
                "--manifest",
                str(synthetic_test),
                "--report",
                str(report),
            ]
        )
        == 0
    )
    assert "kNN model (k=5, T=1)" in capsys.readouterr().out
    methods = json.loads(report.read_text())["methods"]
    assert methods["kNN model (k=5, T=1)"]["accuracy"]["country"] >= 0.9
