"""The command line end to end on the synthetic set: partition -> train -> evaluate -> predict."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch

from planet_engine.cli import build_parser, main, train_config
from planet_engine.config import TrainConfig
from planet_engine.evaluate import PLANET_PUBLISHED, format_table, knn_guesses
from planet_engine.geo import ErrorSummaryRecord


def test_cli_runs_the_whole_pipeline(synthetic_train, synthetic_test, tmp_path, capsys):
    cells, model, report = tmp_path / "cells.csv", tmp_path / "model.pt", tmp_path / "report.json"
    assert main(["partition", "--manifest", str(synthetic_train), "--t1", "10", "--t2", "2", "--out", str(cells)]) == 0
    assert "cells" in capsys.readouterr().out
    assert (
        main(
            [
                "train",
                "--manifest",
                str(synthetic_train),
                "--cells",
                str(cells),
                "--out",
                str(model),
                "--image-size",
                "64",
                "--epochs",
                "15",
                "--lr",
                "0.01",
                "--cache-dir",
                str(tmp_path / "cache"),
            ]
        )
        == 0
    )
    assert "checkpoint" in capsys.readouterr().out
    assert (
        main(
            [
                "evaluate",
                "--checkpoint",
                str(model),
                "--manifest",
                str(synthetic_test),
                "--report",
                str(report),
                "--cache-dir",
                str(tmp_path / "cache"),
                "--knn-k",
                "1",
                "3",
            ]
        )
        == 0
    )
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


def test_train_options_default_to_train_configs_defaults():
    args = build_parser().parse_args(["train", "--manifest", "m.csv", "--cells", "c.csv", "--out", "m.pt"])
    assert train_config(args) == TrainConfig(manifest="m.csv", cells="c.csv", out="m.pt")


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


def test_table_prints_each_methods_numbers_under_their_headers():
    row: ErrorSummaryRecord = {
        "count": 1,
        "accuracy": {"street": 0.0, "city": 0.1, "region": 0.2, "country": 0.3, "continent": 0.4},
        "median_km": 1234.4,
        "mean_km": 2345.6,
        "mean_geoscore": 3210.7,
    }
    methods: dict[str, ErrorSummaryRecord] = {"x": {**row, "country_accuracy": 0.555}, "y": row}
    table = format_table(
        {
            "photos": 1,
            "manifest": "m.csv",
            "checkpoint": "c.pt",
            "checkpoint_sha256": "",
            "thresholds_km": [],
            "methods": methods,
        },
        published=False,
    )
    assert "x" in table and "40.0%" in table
    title, header, rule, with_country, without_country = table.splitlines()
    assert title == "1 photos of m.csv"
    assert set(rule) == {"-"} and len(rule) == len(header)
    assert with_country.split() == ["x", "0.0%", "10.0%", "20.0%", "30.0%", "40.0%", "1234", "2346", "3211", "55.5%"]
    assert without_country.split() == ["y", "0.0%", "10.0%", "20.0%", "30.0%", "40.0%", "1234", "2346", "3211", "-"]
    labels = ["1 km", "25 km", "200 km", "750 km", "2500 km", "median km", "mean km", "GeoScore", "country"]
    label_ends = [header.index(label) + len(label) for label in labels]
    for line in (with_country, without_country):
        value_ends = [match.end() for match in re.finditer(r"\S+", line)][1:]
        assert value_ends == label_ends  # right-aligned under the column's label


def test_table_ends_with_planets_published_rows():
    row: ErrorSummaryRecord = {
        "count": 1,
        "accuracy": {"street": 0.0, "city": 0.1, "region": 0.2, "country": 0.3, "continent": 0.4},
        "median_km": 1.0,
        "mean_km": 2.0,
        "mean_geoscore": 3.0,
    }
    lines = format_table(
        {
            "photos": 1,
            "manifest": "m.csv",
            "checkpoint": "c.pt",
            "checkpoint_sha256": "",
            "thresholds_km": [],
            "methods": {"x": row},
        }
    ).splitlines()
    assert [line[:44].rstrip() for line in lines[-3:]] == list(PLANET_PUBLISHED)
    assert lines[-3].split()[-5:] == ["8.4%", "24.5%", "37.6%", "53.6%", "71.3%"]
