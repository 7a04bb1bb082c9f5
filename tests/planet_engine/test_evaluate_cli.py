"""The command line end to end on the synthetic set: partition -> train -> evaluate -> predict."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from planet_engine.cli import main
from planet_engine.evaluate import format_table, knn_guesses


def test_cli_runs_the_whole_pipeline(synthetic_train, synthetic_test, tmp_path, capsys):
    cells, model, report = tmp_path / "cells.csv", tmp_path / "model.pt", tmp_path / "report.json"
    assert main(["partition", "--manifest", str(synthetic_train), "--t1", "10", "--t2", "2", "--out", str(cells)]) == 0
    assert "cells" in capsys.readouterr().out
    assert main(["train", "--manifest", str(synthetic_train), "--cells", str(cells), "--out", str(model),
                 "--image-size", "64", "--epochs", "15", "--lr", "0.01", "--cache-dir", str(tmp_path / "cache")]) == 0
    assert "checkpoint" in capsys.readouterr().out
    assert main(["evaluate", "--checkpoint", str(model), "--manifest", str(synthetic_test), "--report", str(report),
                 "--cache-dir", str(tmp_path / "cache"), "--knn-k", "1", "3"]) == 0
    table = capsys.readouterr().out
    assert "PlaNet 91M (published, Im2GPS)" in table and "kNN retrieval (k=3)" in table
    methods = json.loads(report.read_text())["methods"]
    planet = methods["PlaNet (efficientnet-lite0, point=cell)"]
    assert planet["accuracy"]["country"] >= 0.9
    assert planet["accuracy"]["country"] > methods["random cell"]["accuracy"]["country"]
    assert methods["prior (most frequent cell)"]["accuracy"]["continent"] == pytest.approx(0.25)
    # The synthetic images repeat their region's look, so retrieval finds the region too.
    assert methods["kNN retrieval (k=1)"]["accuracy"]["country"] >= 0.9
    image = str(next((synthetic_test.parent / "images").glob("paris-*.jpg")))
    assert main(["predict", "--checkpoint", str(model), image, "--top-k", "2"]) == 0
    line = json.loads(capsys.readouterr().out.splitlines()[0])
    assert abs(line["latitude"] - 48.85) < 2 and abs(line["longitude"] - 2.35) < 2
    assert len(line["top_cells"]) == 2


def test_partition_levels_writes_one_file_per_pair(synthetic_train, tmp_path, capsys):
    assert main(["partition", "--manifest", str(synthetic_train), "--levels", "20:5,10:2", "--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.glob("*.csv")) == ["cells_t1-10_t2-2.csv", "cells_t1-20_t2-5.csv"]


def test_bad_input_gives_an_error_not_a_traceback(tmp_path, capsys):
    assert main(["partition", "--manifest", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "c.csv")]) == 2
    assert "manifest not found" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["partition", "--manifest", "m.csv", "--levels", "5-1", "--out", "x"])


def test_knn_returns_the_nearest_reference_location():
    reference = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.7, 0.7]])
    query = torch.tensor([[0.1, 1.0]])
    latitudes, longitudes = np.array([10.0, 20.0, 30.0]), np.array([1.0, 2.0, 3.0])
    assert knn_guesses(query, reference, latitudes, longitudes, k=1)[0].tolist() == [20.0]


def test_table_lists_every_method():
    row = {"accuracy": dict(street=0.0, city=0.1, region=0.2, country=0.3, continent=0.4),
           "median_km": 1.0, "mean_km": 2.0, "mean_geoscore": 3.0}
    table = format_table({"photos": 1, "manifest": "m.csv", "methods": {"x": row}}, published=False)
    assert "x" in table and "40.0%" in table
