"""`prepare` on miniatures of the real downloads (tests/planet_engine/miniatures.py) and their rough edges: rows
without their image, GeoEstimation's msgpack shards, split tars, truncated JPEGs and zips, a BOM, a CSV cut
mid-row, half-extracted OSV-5M, the hub cache, swapped LAT/LON; rows mixed across shards; a removed row."""

from __future__ import annotations

import csv
import json
import zipfile

import numpy as np
import pytest

from planet_engine.cli import build_parser, main
from planet_engine.shards import iter_shard, read_index
from tests.planet_engine import miniatures as mini


def prepare(*args: object) -> int:
    return main(["prepare", *map(str, args), "--shard-size-mb", "0.004", "--quiet"])


def keys(out) -> list[list[str]]:
    return [[key for key, _, _ in iter_shard(out / shard["name"])] for shard in read_index(out)["shards"]]


def skipped(out) -> list[list[str]]:
    with (out / "skipped.csv").open() as handle:
        return list(csv.reader(handle))[1:]


def test_a_superset_csv_stops_naming_the_row_or_skips_it_into_a_report(tmp_path, capsys):
    """YFCC4k with the commonly linked yfcc25600 CSV: most rows have no image in yfcc4k.zip."""
    rows = [(mini.flickr_name(n), *mini.PLACES[n]) for n in range(16)]
    csv_path = mini.geoestimation(tmp_path / "yfcc25600_places365.csv", rows)
    images = mini.zip_folder(
        tmp_path / "yfcc4k.zip", "yfcc4k", {mini.flickr_name(n): mini.jpeg(n) for n in range(16) if n % 4}
    )
    out = tmp_path / "yfcc4k"
    assert prepare("yfcc4k", "--csv", csv_path, "--images", images, "--out", out) == 2
    error = capsys.readouterr().err
    assert f"line 2: {mini.flickr_name(0)}: no such image" in error and "--on-missing skip" in error
    assert not out.exists()
    assert prepare("yfcc4k", "--csv", csv_path, "--images", images, "--out", out, "--on-missing", "skip") == 0
    assert "4 rows skipped" in capsys.readouterr().out
    assert read_index(out)["samples"] == 12
    assert [row[0] for row in skipped(out)] == ["line 2", "line 6", "line 10", "line 14"]


def test_mp16_as_msgpack_shards_with_a_download_cut_mid_record(tmp_path, capsys):
    rows = [(f"{n:02x}/{n + 10:02x}/{2788914093 + n}.jpg", *mini.PLACES[n]) for n in range(12)]
    csv_path = mini.geoestimation(tmp_path / "mp16_places365.csv", rows)
    folder = mini.mp16_msgpack(tmp_path / "mp16", {name: mini.jpeg(n) for n, (name, _, _) in enumerate(rows)})
    last = folder / "shard_2.msg"
    last.write_bytes(last.read_bytes()[:-200])  # the downloader killed mid-write: the last record is cut
    out = tmp_path / "shards"
    assert prepare("mp16", "--csv", csv_path, "--images", folder, "--out", out, "--on-missing", "skip") == 0
    captured = capsys.readouterr()
    assert "warning: shard_2.msg: cut" in captured.err
    assert read_index(out)["samples"] == 11 and [row[0] for row in skipped(out)] == ["line 13"]
    found = {key: data for shard in read_index(out)["shards"] for key, data, _ in iter_shard(out / shard["name"])}
    assert found["00_0a_2788914093"] == mini.jpeg(0)


@pytest.mark.parametrize("name", ["im2gps3k.tar", "im2gps3k.tar.ab"])
def test_a_tar_split_into_parts_is_read_as_one(tmp_path, name):
    rows = [(mini.flickr_name(n), *mini.PLACES[n]) for n in range(10)]
    csv_path = mini.geoestimation(tmp_path / "im2gps3k_places365.csv", rows)
    mini.split_tar(tmp_path / "im2gps3k.tar", {f"im2gps3ktest/{mini.flickr_name(n)}": mini.jpeg(n) for n in range(10)})
    out = tmp_path / "shards"
    assert prepare("im2gps3k", "--csv", csv_path, "--images", tmp_path / name, "--out", out) == 0
    assert read_index(out)["samples"] == 10


def test_a_truncated_jpeg_stops_prepare_naming_it_or_is_skipped_and_listed(tmp_path, capsys):
    root = tmp_path / "osv5m"
    ids = mini.osv5m(root, places=mini.PLACES[:12], corrupt=(5,))
    out = tmp_path / "shards"
    assert prepare("osv5m", "--root", root, "--out", out) == 2
    assert f"01/{ids[5]}.jpg: not a readable image (image file is truncated" in capsys.readouterr().err
    assert prepare("osv5m", "--root", root, "--out", out, "--on-missing", "skip", "--jobs", "2") == 0
    assert read_index(out)["samples"] == 11
    assert skipped(out)[0][0] == str(ids[5]) and "truncated" in skipped(out)[0][1]
    serial = tmp_path / "serial"
    assert prepare("osv5m", "--root", root, "--out", serial, "--on-missing", "skip") == 0
    assert read_index(serial)["shards"] == read_index(out)["shards"]  # --jobs changes nothing written


def test_rows_are_mixed_across_shards_by_a_recorded_seed(tmp_path):
    root = tmp_path / "osv5m"
    ids = [str(i) for i in mini.osv5m(root)]
    out, other = tmp_path / "a", tmp_path / "b"
    assert prepare("osv5m", "--root", root, "--out", out) == 0
    assert prepare("osv5m", "--root", root, "--out", other, "--seed", "1") == 0
    index = read_index(out)
    assert index["shuffle"]["seed"] == 0 and read_index(other)["shuffle"]["seed"] == 1
    shards = keys(out)
    assert len(shards) >= 4 and sorted(sum(shards, [])) == sorted(ids)
    # No shard is a stretch of the CSV (OSV-5M's train.csv is ordered by place).
    assert not any(" ".join(shard) in " ".join(ids) for shard in shards if len(shard) > 1)
    assert keys(other) != shards
    assert prepare("osv5m", "--root", root, "--out", out, "--seed", "1") == 2  # not into the seed-0 folder


def test_removing_a_row_rewrites_only_the_shard_that_held_it(tmp_path, capsys):
    root = tmp_path / "osv5m"
    ids = mini.osv5m(root)
    out = tmp_path / "shards"
    assert prepare("osv5m", "--root", root, "--out", out) == 0
    before = read_index(out)["shards"]
    lines = (root / "train.csv").read_text().splitlines(keepends=True)
    (root / "train.csv").write_text("".join(line for line in lines if not line.startswith(str(ids[9]))))
    assert prepare("osv5m", "--root", root, "--out", out) == 0
    after = read_index(out)
    assert after["rewritten"] == 1 and after["samples"] == len(ids) - 1
    assert sum(old != new for old, new in zip(before, after["shards"], strict=True)) == 1


@pytest.mark.parametrize("mode", ["zipped", "extracted", "half", "hub-cache"])
def test_osv5m_zipped_extracted_half_extracted_or_in_the_hub_cache(tmp_path, mode):
    download = tmp_path / "osv5m"
    ids = mini.osv5m(download, places=mini.PLACES[:10], mode="zipped" if mode == "hub-cache" else mode, bom=True)
    root = mini.hub_cache(tmp_path / "hub", download) if mode == "hub-cache" else download
    out = tmp_path / "shards"
    assert prepare("osv5m", "--root", root, "--out", out) == 0
    assert sorted(sum(keys(out), [])) == sorted(str(i) for i in ids)
    record = next(iter_shard(out / read_index(out)["shards"][0]["name"]))[2]
    assert record["country"] == "FR" and record["creator_username"] == "mapper"


def test_a_csv_cut_mid_row_and_a_truncated_zip_are_named_in_one_line(tmp_path, capsys):
    root = tmp_path / "osv5m"
    mini.osv5m(root, places=mini.PLACES[:10])
    whole = (root / "train.csv").read_bytes()
    (root / "train.csv").write_bytes(whole[: len(whole) * 2 // 3])
    assert prepare("osv5m", "--root", root, "--out", tmp_path / "a") == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: ") and "train.csv: line" in error and "cut mid-row" in error
    assert "\n" not in error
    (root / "train.csv").write_bytes(whole)
    archive = root / "images" / "train" / "01.zip"
    archive.write_bytes(archive.read_bytes()[:-40])
    assert prepare("osv5m", "--root", root, "--out", tmp_path / "b") == 2
    error = capsys.readouterr().err.strip()
    assert "01.zip: not a whole zip archive" in error and "\n" not in error
    with pytest.raises(zipfile.BadZipFile):
        zipfile.ZipFile(archive)


def test_the_2018_im2gps3k_csv_with_swapped_lat_lon_is_detected_and_read_when_told(tmp_path, capsys):
    # Places far enough east or west that some longitude is beyond ±90.
    rows = [(mini.flickr_name(n), *mini.PLACES[n]) for n in range(10)]
    assert any(abs(lon) > 90 for _, _, lon in rows)
    csv_path = mini.geoestimation(tmp_path / "im2gps3k_places365.csv", rows, swapped_header=True)
    images = mini.zip_folder(
        tmp_path / "im2gps3ktest.zip", "im2gps3ktest", {mini.flickr_name(n): mini.jpeg(n) for n in range(10)}
    )
    out = tmp_path / "shards"
    assert prepare("im2gps3k", "--csv", csv_path, "--images", images, "--out", out) == 2
    error = capsys.readouterr().err
    assert "the LAT and LON columns look swapped" in error and "--swap-lat-lon" in error
    assert prepare("im2gps3k", "--csv", csv_path, "--images", images, "--out", out, "--swap-lat-lon") == 0
    with (out / "locations.csv").open() as handle:
        located = sorted((float(row["latitude"]), float(row["longitude"])) for row in csv.DictReader(handle))
    assert located == sorted((lat, lon) for _, lat, lon in rows)


def test_partition_finding_no_cell_exits_non_zero(tmp_path, capsys):
    root = tmp_path / "osv5m"
    mini.osv5m(root, places=mini.PLACES[:10])
    assert prepare("osv5m", "--root", root, "--out", tmp_path / "shards") == 0
    assert (
        main(
            [
                "partition",
                "--manifest",
                str(tmp_path / "shards" / "locations.csv"),
                "--t1",
                "5000",
                "--t2",
                "500",
                "--out",
                str(tmp_path / "cells.csv"),
            ]
        )
        == 2
    )
    assert "no cell holds t2=500 photos of the 10" in capsys.readouterr().err


def test_evaluate_uses_the_gpu_when_there_is_one_by_default():
    args = build_parser().parse_args(["evaluate", "--checkpoint", "m.pt", "--manifest", "t.csv"])
    assert args.device == "auto"
    assert json.dumps(args.knn_gallery) == "50000"


def test_training_checks_shard_sizes_at_start_and_hashes_only_when_asked(tmp_path):
    from planet_engine.cells import CellSet, adaptive_partition
    from planet_engine.config import TrainConfig
    from planet_engine.shards import verify_shards
    from planet_engine.stream_train import train_from_shards

    root = tmp_path / "osv5m"
    mini.osv5m(root, places=mini.PLACES[:12])
    out = tmp_path / "shards"
    assert prepare("osv5m", "--root", root, "--out", out) == 0
    cells = tmp_path / "cells.csv"
    places = np.array(mini.PLACES[:12])
    CellSet.from_partition(adaptive_partition(places[:, 0], places[:, 1], t1=4, t2=1)).write_csv(cells)
    first = out / read_index(out)["shards"][0]["name"]
    data = bytearray(first.read_bytes())
    data[700] ^= 0xFF  # a flipped byte: the same size, another hash
    first.write_bytes(bytes(data))
    assert verify_shards(out) == [first.name]
    config = TrainConfig(
        manifest=str(out),
        cells=str(cells),
        out=str(tmp_path / "m.pt"),
        pretrained=False,
        trainable="last",
        batch_size=2,
        image_size=32,
        device="cpu",
        quiet=True,
        verify_shards=True,
    )
    with pytest.raises(ValueError, match=f"changed since prepare \\(sha256\\): {first.name}"):
        train_from_shards(config)
    first.write_bytes(bytes(data[:-100]))  # cut short: a stat finds it, with or without hashing
    with pytest.raises(ValueError, match="not the size prepare wrote"):
        read_index(out)
