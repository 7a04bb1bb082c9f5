"""`prepare` reads each published layout as downloaded (tiny fixtures built here in those exact layouts; nothing
is downloaded) and writes WebDataset shards, all or nothing, resumable after an interruption."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import tarfile
import zipfile
from pathlib import Path

import pytest
from PIL import ExifTags, Image

from planet_engine import prepare as prepare_module
from planet_engine.cli import main
from planet_engine.layouts import LayoutError, read_layout
from planet_engine.manifest import read_manifest
from planet_engine.prepare import write_shards
from planet_engine.shards import iter_shard, read_index, verify_shards

# (id, latitude, longitude): a few places far apart.
PLACES = [
    (f"{1000 + n}", lat, lon)
    for n, (lat, lon) in enumerate(
        [
            (48.85, 2.35),
            (40.71, -74.0),
            (-33.87, 151.21),
            (35.68, 139.69),
            (-23.55, -46.63),
            (55.75, 37.62),
            (1.29, 103.85),
            (51.5, -0.12),
            (-1.29, 36.82),
            (19.43, -99.13),
            (64.14, -21.94),
            (30.04, 31.24),
        ]
    )
]


def jpeg(seed: int, exif: Image.Exif | None = None) -> bytes:
    image = Image.new("RGB", (40, 30), ((seed * 37) % 256, (seed * 91) % 256, (seed * 53) % 256))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90, **({"exif": exif} if exif is not None else {}))
    return buffer.getvalue()


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def osv5m_layout(root: Path, *, zipped: bool = True) -> Path:
    """train.csv with OSV-5M's columns, images in numbered zips under images/train/ (or extracted)."""
    header = [
        "id",
        "latitude",
        "longitude",
        "thumb_original_url",
        "country",
        "sequence",
        "captured_at",
        "lon_bin",
        "lat_bin",
        "cell",
        "region",
        "sub-region",
        "city",
        "land_cover",
        "unique_country",
        "creator_username",
    ]
    write_csv(
        root / "train.csv",
        header,
        [
            [i, lat, lon, "", "XX", "s1", "2020-01-01", 0, 0, "(0, 0)", "R", "", "C", 1, "XX", "someone"]
            for i, lat, lon in PLACES
        ],
    )
    images = root / "images" / "train"
    images.mkdir(parents=True)
    if not zipped:
        for n, (i, _, _) in enumerate(PLACES):
            (images / f"{i}.jpg").write_bytes(jpeg(n))
        return root
    for shard in range(2):
        with zipfile.ZipFile(images / f"{shard:02d}.zip", "w") as archive:
            for n, (i, _, _) in enumerate(PLACES):
                if n % 2 == shard:  # one zip holds bare names, the other a folder inside: both occur in the wild
                    archive.writestr(f"{i}.jpg" if shard == 0 else f"{shard:02d}/{i}.jpg", jpeg(n))
    return root


def shard_samples(out: Path) -> dict[str, tuple[bytes, dict[str, object]]]:
    return {
        key: (data, record)
        for shard in read_index(out)["shards"]
        for key, data, record in iter_shard(out / shard["name"])
    }


@pytest.mark.parametrize("zipped", [True, False])
def test_osv5m_as_downloaded_becomes_shards_with_every_sample(tmp_path, zipped):
    root = osv5m_layout(tmp_path / "osv5m", zipped=zipped)
    out = tmp_path / "shards"
    assert (
        main(["prepare", "osv5m", "--root", str(root), "--out", str(out), "--shard-size-mb", "0.002", "--quiet"]) == 0
    )
    index = read_index(out)
    assert verify_shards(out) == []
    assert index["samples"] == len(PLACES) and len(index["shards"]) > 1
    samples = shard_samples(out)
    for n, (i, lat, lon) in enumerate(PLACES):
        data, record = samples[i]
        assert data == jpeg(n) and (record["latitude"], record["longitude"]) == (lat, lon)
        assert record["country"] == "XX" and record["city"] == "C"
    sums = (out / "SHA256SUMS").read_text().splitlines()
    assert all(
        hashlib.sha256((out / name).read_bytes()).hexdigest() == digest
        for digest, name in (line.split("  ") for line in sums)
    )
    locations = read_manifest(out / "locations.csv", check_files=False)
    assert sorted(zip(locations.latitudes, locations.longitudes, strict=True)) == sorted(
        (lat, lon) for _, lat, lon in PLACES
    )


def test_geoestimation_csvs_with_a_folder_zip_or_tar_of_images(tmp_path):
    header = [
        "IMG_ID",
        "AUTHOR",
        "LAT",
        "LON",
        "S3_Label",
        "S16_Label",
        "S365_Label",
        "Prob_indoor",
        "Prob_natural",
        "Prob_urban",
    ]
    rows = [[f"{i}_abc_o.jpg", f"a{i}", lat, lon, 1, 2, 3, 0.1, 0.2, 0.7] for i, lat, lon in PLACES]
    im2gps = write_csv(tmp_path / "im2gps3k_places365.csv", header, rows)
    folder = tmp_path / "im2gps3ktest"
    folder.mkdir()
    for n, row in enumerate(rows):
        (folder / str(row[0])).write_bytes(jpeg(n))
    samples = read_layout("im2gps3k", csv_path=im2gps, images=folder).samples
    assert [(s.latitude, s.longitude) for s in samples] == [(lat, lon) for _, lat, lon in PLACES]
    assert samples[0].meta == {"image_id": "1000_abc_o.jpg", "author": "a1000"}

    # MP-16: IMG_ID is a relative path (e1/41/<flickr id>.jpg), here inside a tar with its own top folder.
    mp16_rows = [[f"{i[:2]}/{i[2:]}/{i}.jpg", f"a{i}", lat, lon, 1, 2, 3, 0.1, 0.2, 0.7] for i, lat, lon in PLACES]
    mp16 = write_csv(tmp_path / "mp16_places365.csv", header, mp16_rows)
    archive = tmp_path / "mp16.tar"
    with tarfile.open(archive, "w") as tar:
        for n, row in enumerate(mp16_rows):
            info = tarfile.TarInfo(f"mp16/{row[0]}")
            data = jpeg(n)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    out = tmp_path / "mp16-shards"
    assert main(["prepare", "mp16", "--csv", str(mp16), "--images", str(archive), "--out", str(out), "--quiet"]) == 0
    assert {key: data for key, (data, _) in shard_samples(out).items()} == {
        f"{i[:2]}_{i[2:]}_{i}": jpeg(n) for n, (i, _, _) in enumerate(PLACES)
    }


def test_a_folder_of_photos_with_exif_gps(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    exif = Image.Exif()
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps.update(
        {
            ExifTags.GPS.GPSLatitudeRef: "S",
            ExifTags.GPS.GPSLatitude: (33.0, 52.0, 12.0),
            ExifTags.GPS.GPSLongitudeRef: "E",
            ExifTags.GPS.GPSLongitude: (151.0, 12.0, 36.0),
        }
    )
    (folder / "sydney.jpg").write_bytes(jpeg(1, exif))
    [sample] = read_layout("folder", root=folder).samples
    assert (sample.latitude, sample.longitude) == pytest.approx((-33.87, 151.21), abs=1e-6)

    (folder / "no-gps.jpg").write_bytes(jpeg(2))
    with pytest.raises(LayoutError, match="no-gps.jpg: no GPS position"):
        read_layout("folder", root=folder)


def test_bad_rows_are_named_and_nothing_is_written(tmp_path, capsys):
    root = osv5m_layout(tmp_path / "osv5m", zipped=False)
    with (root / "train.csv").open("a") as handle:
        blank = "," * 13
        handle.write(f"2000,95.0,10.0{blank}\n1000,1.0,1.0{blank}\n3000,1.0,1.0{blank}\n")
    out = tmp_path / "shards"
    assert main(["prepare", "osv5m", "--root", str(root), "--out", str(out), "--quiet"]) == 2
    error = capsys.readouterr().err
    assert "line 14: id 2000: latitude/longitude missing or out of range" in error
    assert "line 15: id 1000 repeated" in error
    assert "line 16: id 3000: no image 3000.jpg" in error
    assert not out.exists()


def test_an_interrupted_prepare_resumes_where_it_stopped(tmp_path, monkeypatch):
    root = osv5m_layout(tmp_path / "osv5m")
    read = read_layout("osv5m", root=root)
    samples, source = read.samples, read.source
    clean = tmp_path / "clean"
    write_shards(samples, source, clean, dataset="osv5m", shard_bytes=2000, progress=False)

    out = tmp_path / "interrupted"
    checked = prepare_module.decode_problem
    calls = {"n": 0}

    def dies_at_the_seventh(data):
        calls["n"] += 1
        if calls["n"] == 7:
            raise KeyboardInterrupt
        return checked(data)

    monkeypatch.setattr(prepare_module, "decode_problem", dies_at_the_seventh)
    with pytest.raises(KeyboardInterrupt):
        write_shards(samples, source, out, dataset="osv5m", shard_bytes=2000, progress=False)
    finished = json.loads((out / "progress.json").read_text())["shards"]
    assert 0 < len(finished) < len(read_index(clean)["shards"])
    monkeypatch.setattr(prepare_module, "decode_problem", checked)

    reread = list(finished)
    write_shards(samples, source, out, dataset="osv5m", shard_bytes=2000, progress=False)
    assert read_index(out) == read_index(clean)  # the same shards, byte for byte (their sha256)
    assert [s["name"] for s in read_index(out)["shards"][: len(reread)]] == reread
    assert not list(out.glob("*.partial"))


def test_prepare_refuses_to_mix_two_datasets_in_one_folder(tmp_path):
    first = osv5m_layout(tmp_path / "a")
    read = read_layout("osv5m", root=first)
    write_shards(read.samples[:5], read.source, tmp_path / "out", dataset="osv5m", origin="a/train.csv", progress=False)
    with pytest.raises(ValueError, match="holds shards of a/train.csv"):
        write_shards(read.samples, read.source, tmp_path / "out", dataset="osv5m", origin="b/test.csv", progress=False)
    with pytest.raises(ValueError, match="holds shards of"):
        write_shards(read.samples, read.source, tmp_path / "out", dataset="mp16", origin="a/train.csv", progress=False)


def test_evaluate_on_a_prepared_test_set_prints_its_published_anchors(
    tiny_checkpoint, synthetic_test, tmp_path, capsys
):
    """The synthetic test photos laid out as Im2GPS3k is published (GeoEstimation's CSV and an image folder)."""
    test = read_manifest(synthetic_test)
    rows = [
        [path.name, "a", lat, lon]
        for path, lat, lon in zip(test.image_paths, test.latitudes, test.longitudes, strict=True)
    ]
    csv_path = write_csv(tmp_path / "im2gps3k_places365.csv", ["IMG_ID", "AUTHOR", "LAT", "LON"], rows)
    out = tmp_path / "im2gps3k"
    assert (
        main(
            [
                "prepare",
                "im2gps3k",
                "--csv",
                str(csv_path),
                "--images",
                str(synthetic_test.parent / "images"),
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    report = tmp_path / "report.json"
    assert (
        main(
            [
                "evaluate",
                "--checkpoint",
                str(tiny_checkpoint),
                "--manifest",
                str(out),
                "--no-baselines",
                "--report",
                str(report),
                "--cache-dir",
                "",
            ]
        )
        == 0
    )
    table = capsys.readouterr().out
    assert "GeoCLIP (published, Im2GPS3k)" in table and "PIGEOTTO (published, Im2GPS3k)" in table
    assert "PlaNet 91M (published, Im2GPS)" not in table
    assert json.loads(report.read_text())["photos"] == len(test)
    # The same photos through the plain manifest give the same numbers (Im2GPS3k has no country column), up to
    # the order of summing (prepare shuffles the rows).
    direct = tmp_path / "direct.json"
    assert (
        main(
            [
                "evaluate",
                "--checkpoint",
                str(tiny_checkpoint),
                "--manifest",
                str(synthetic_test),
                "--no-baselines",
                "--report",
                str(direct),
                "--cache-dir",
                "",
            ]
        )
        == 0
    )
    for name, row in json.loads(direct.read_text())["methods"].items():
        row.pop("country_accuracy")
        prepared = json.loads(report.read_text())["methods"][name]
        assert prepared.keys() == row.keys()
        for key, value in row.items():
            assert prepared[key] == (pytest.approx(value) if not isinstance(value, dict) else value), key
