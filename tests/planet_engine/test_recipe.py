"""The "Train PlaNet on OSV-5M with N GPUs" recipe (docs/engine.md) end to end on miniatures of all four downloads:
OSV-5M (train zipped with a truncated JPEG and a missing image, test half-extracted), MP-16 as msgpack shards,
YFCC4k with the yfcc25600 superset CSV, the 2018 Im2GPS3k CSV with swapped LAT/LON; a 2-rank Gloo run under
torchrun, resumed for a second epoch, then evaluation with the kNN baseline drawing its gallery from the shards."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from planet_engine.checkpoint import read_payload
from planet_engine.cli import main
from planet_engine.shards import read_index
from tests.planet_engine import miniatures as mini

ROOT = Path(__file__).resolve().parents[2]


def downloads(data: Path) -> None:
    mini.osv5m(data / "osv5m", places=mini.PLACES, corrupt=(5,), missing=(7,))
    mini.osv5m(data / "osv5m", split="test", places=mini.PLACES[:8], mode="half", first_id=200_000_000_000)
    mp16 = [(f"{n:02x}/{n + 16:02x}/{2788914093 + n}.jpg", *mini.PLACES[n]) for n in range(12)]
    mini.geoestimation(data / "mp16_places365.csv", mp16)
    mini.mp16_msgpack(data / "mp16", {name: mini.jpeg(n) for n, (name, _, _) in enumerate(mp16)})
    yfcc = [(mini.flickr_name(n), *mini.PLACES[n]) for n in range(20)]
    mini.geoestimation(data / "yfcc25600_places365.csv", yfcc)
    mini.zip_folder(data / "yfcc4k.zip", "yfcc4k", {mini.flickr_name(n): mini.jpeg(n) for n in range(0, 20, 2)})
    mini.geoestimation(data / "im2gps3k_places365.csv", yfcc[:10], swapped_header=True)
    mini.zip_folder(data / "im2gps3ktest.zip", "im2gps3ktest", {mini.flickr_name(n): mini.jpeg(n) for n in range(10)})


def torchrun(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node",
        "2",
        "-m",
        "planet_engine",
        "train",
        *args,
    ]
    return subprocess.run(
        command,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)},
    )


def test_the_recipe_on_miniatures_of_osv5m_mp16_yfcc4k_and_im2gps3k(tmp_path, capsys, monkeypatch):
    data = tmp_path / "datasets"
    downloads(data)
    small = ["--shard-size-mb", "0.01", "--quiet", "--jobs", "2"]
    # 1. Shards; rows without a readable image are left out and listed.
    assert (
        main(
            [
                "prepare",
                "osv5m",
                "--root",
                str(data / "osv5m"),
                "--split",
                "train",
                "--out",
                str(tmp_path / "shards/osv5m-train"),
                "--on-missing",
                "skip",
                *small,
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "prepare",
                "osv5m",
                "--root",
                str(data / "osv5m"),
                "--split",
                "test",
                "--out",
                str(tmp_path / "shards/osv5m-test"),
                *small,
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "prepare",
                "mp16",
                "--csv",
                str(data / "mp16_places365.csv"),
                "--images",
                str(data / "mp16"),
                "--out",
                str(tmp_path / "shards/mp16"),
                *small,
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "prepare",
                "yfcc4k",
                "--csv",
                str(data / "yfcc25600_places365.csv"),
                "--images",
                str(data / "yfcc4k.zip"),
                "--out",
                str(tmp_path / "shards/yfcc4k"),
                "--on-missing",
                "skip",
                *small,
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "prepare",
                "im2gps3k",
                "--csv",
                str(data / "im2gps3k_places365.csv"),
                "--images",
                str(data / "im2gps3ktest.zip"),
                "--out",
                str(tmp_path / "shards/im2gps3k"),
                *small,
            ]
        )
        == 2
    )
    assert "--swap-lat-lon" in capsys.readouterr().err
    assert (
        main(
            [
                "prepare",
                "im2gps3k",
                "--csv",
                str(data / "im2gps3k_places365.csv"),
                "--images",
                str(data / "im2gps3ktest.zip"),
                "--out",
                str(tmp_path / "shards/im2gps3k"),
                "--swap-lat-lon",
                *small,
            ]
        )
        == 0
    )
    counts = {
        name: read_index(tmp_path / "shards" / name)["samples"]
        for name in ("osv5m-train", "osv5m-test", "mp16", "yfcc4k", "im2gps3k")
    }
    assert counts == {"osv5m-train": 46, "osv5m-test": 8, "mp16": 12, "yfcc4k": 10, "im2gps3k": 10}

    # 2. The partition from the shards' locations.
    assert (
        main(
            [
                "partition",
                "--manifest",
                str(tmp_path / "shards/osv5m-train/locations.csv"),
                "--t1",
                "8",
                "--t2",
                "1",
                "--out",
                str(tmp_path / "osv5m-cells.csv"),
            ]
        )
        == 0
    )

    # 3. Two ranks (Gloo on CPUs), one data-loader worker each, then resumed for a second epoch.
    train = [
        "--manifest",
        "shards/osv5m-train",
        "--cells",
        "osv5m-cells.csv",
        "--out",
        "osv5m.pt",
        "--backbone",
        "efficientnet-lite0",
        "--random-init",
        "--trainable",
        "last",
        "--loss",
        "haversine",
        "--tau-km",
        "75",
        "--batch-size",
        "4",
        "--lr",
        "1e-3",
        "--workers",
        "1",
        "--checkpoint-every",
        "2",
        "--nondeterministic",
        "--image-size",
        "32",
        "--device",
        "cpu",
    ]
    first = torchrun(*train, "--epochs", "1", cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "world 2" in first.stdout and "6 samples left over each epoch" in first.stdout
    resumed = torchrun(*train, "--epochs", "2", "--resume", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    payload, _ = read_payload(tmp_path / "osv5m.pt")
    assert [record["epoch"] for record in payload["history"]] == [0, 1] and payload["world"] == 2

    # 4. Evaluation on the standard sets, the kNN baseline's gallery sampled from the training shards (the
    #    checkpoint names them as training was told: relative to the folder it ran in).
    assert (
        main(
            [
                "evaluate",
                "--checkpoint",
                str(tmp_path / "osv5m.pt"),
                "--manifest",
                str(tmp_path / "shards/im2gps3k"),
                "--cache-dir",
                "",
            ]
        )
        == 2
    )
    assert "run evaluate where training ran" in capsys.readouterr().err
    monkeypatch.chdir(tmp_path)
    for test_set, anchor in [("im2gps3k", "GeoCLIP (published, Im2GPS3k)"), ("osv5m-test", "country")]:
        assert (
            main(
                [
                    "evaluate",
                    "--checkpoint",
                    str(tmp_path / "osv5m.pt"),
                    "--manifest",
                    str(tmp_path / "shards" / test_set),
                    "--knn-gallery",
                    "20",
                    "--cache-dir",
                    "",
                ]
            )
            == 0
        )
        table = capsys.readouterr().out
        assert anchor in table and "kNN retrieval (k=1)" in table
    assert list((tmp_path / "shards/osv5m-train").glob("gallery-20-0/manifest.csv"))
