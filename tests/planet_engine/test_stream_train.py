"""Training from prepared shards: every rank reads the same number of samples (each worker its own stretch), a
resumed epoch continues on the very batches that were next, a sample that fails to decode is left out and named,
a resume on other ranks or workers is refused unless rescaled, and `torchrun --nproc-per-node 2` trains with DDP on
CPUs (Gloo)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from planet_engine import stream_train
from planet_engine.cells import CellSet, adaptive_partition
from planet_engine.checkpoint import CheckpointError, read_payload, save_checkpoint
from planet_engine.config import TrainConfig
from planet_engine.data import train_transform
from planet_engine.layouts import Sample
from planet_engine.predict import Predictor
from planet_engine.prepare import write_shards
from planet_engine.shards import ShardStream, worker_span

ROOT = Path(__file__).resolve().parents[2]
rng = np.random.default_rng(0)
LOCATIONS = [
    (float(lat), float(lon)) for lat, lon in zip(rng.uniform(-60, 70, 40), rng.uniform(-180, 180, 40), strict=True)
]


class MemoryImages:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        for n in range(len(LOCATIONS)):
            pixels = np.random.default_rng(n).integers(0, 255, (24, 24, 3), dtype=np.uint8)
            buffer = io.BytesIO()
            Image.fromarray(pixels).save(buffer, "JPEG")
            self.files[f"{n}.jpg"] = buffer.getvalue()

    def names(self) -> set[str]:
        return set(self.files)

    def read(self, name: str) -> bytes:
        return self.files[name]


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> tuple[Path, Path]:
    """40 photos in shards of about 4 KB, and a partition of them."""
    root = tmp_path_factory.mktemp("stream")
    samples = [Sample(f"s{n:03d}", f"{n}.jpg", lat, lon) for n, (lat, lon) in enumerate(LOCATIONS)]
    write_shards(samples, MemoryImages(), root / "shards", dataset="test", shard_bytes=4000, progress=False)
    latitudes, longitudes = np.array(LOCATIONS).T
    cells = root / "cells.csv"
    CellSet.from_partition(adaptive_partition(latitudes, longitudes, t1=8, t2=1)).write_csv(cells)
    return root / "shards", cells


def crop(image: Image.Image, generator: np.random.Generator) -> torch.Tensor:
    return train_transform(image, 16, generator)


def stream_items(stream: ShardStream) -> list[tuple[float, float, bytes]]:
    return [(item["latitude"], item["longitude"], item["image"].numpy().tobytes()) for item in stream]


def test_every_rank_reads_as_many_samples_and_workers_split_them_without_overlap(prepared):
    spans = [
        worker_span(rank=rank, world=3, worker=worker, workers=4, steps=13 // 3 // 2, batch_size=2, total=13)
        for rank in range(3)
        for worker in range(4)
    ]
    assert all(start <= stop for start, stop in spans)
    assert all(spans[n][1] <= spans[n + 1][0] for n in range(len(spans) - 1))  # disjoint, in order
    assert [sum(stop - start for start, stop in spans[rank * 4 : rank * 4 + 4]) for rank in range(3)] == [4, 4, 4]
    per_rank = [
        stream_items(ShardStream(prepared[0], crop, rank=rank, world=3, shuffle_buffer=4, batch_size=4))
        for rank in range(3)
    ]
    assert [len(items) for items in per_rank] == [12, 12, 12]  # 40 // 3 = 13 each: 3 full batches of 4
    seen = [item[:2] for items in per_rank for item in items]
    assert len(set(seen)) == 36 and set(seen) <= set(LOCATIONS)


def test_a_resumed_epoch_gives_the_batches_that_were_next(prepared):
    whole = stream_items(ShardStream(prepared[0], crop, shuffle_buffer=6, seed=3, epoch=1, batch_size=4))
    resumed = stream_items(
        ShardStream(prepared[0], crop, shuffle_buffer=6, seed=3, epoch=1, batch_size=4, skip_batches=3)
    )
    assert resumed == whole[12:]
    other_epoch = stream_items(ShardStream(prepared[0], crop, shuffle_buffer=6, seed=3, epoch=2, batch_size=4))
    assert [item[:2] for item in other_epoch] != [item[:2] for item in whole]  # each epoch its own order


def config(prepared: tuple[Path, Path], out: Path, **overrides: object) -> TrainConfig:
    values: dict[str, object] = dict(
        manifest=str(prepared[0]),
        cells=str(prepared[1]),
        out=str(out),
        backbone="efficientnet-lite0",
        pretrained=False,
        trainable="last",
        epochs=1,
        batch_size=4,
        lr=1e-3,
        image_size=32,
        device="cpu",
        shuffle_buffer=8,
        checkpoint_every=3,
        quiet=True,
    )
    values.update(overrides)
    return TrainConfig(**values)  # type: ignore[arg-type]


def test_training_from_shards_writes_a_checkpoint_the_predictor_loads(prepared, tmp_path):
    result = stream_train.train_from_shards(config(prepared, tmp_path / "model.pt", epochs=2))
    assert len(result.history) == 2 and result.train_photos == len(LOCATIONS)
    payload, _ = read_payload(tmp_path / "model.pt")
    assert payload["step"] == -1 and payload["images_per_second"] > 0
    [guess] = Predictor(tmp_path / "model.pt", device="cpu").predict([Image.new("RGB", (32, 32))], top_k=2)
    assert -90 <= guess.latitude <= 90


def test_an_interrupted_run_resumes_mid_epoch_to_the_same_weights(prepared, tmp_path, monkeypatch):
    stream_train.train_from_shards(config(prepared, tmp_path / "whole.pt"))
    save = save_checkpoint

    def save_then_die(path, payload):
        digest = save(path, payload)
        if payload["step"] == 6:
            raise KeyboardInterrupt  # killed right after a mid-epoch checkpoint
        return digest

    monkeypatch.setattr(stream_train, "save_checkpoint", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        stream_train.train_from_shards(config(prepared, tmp_path / "resumed.pt"))
    monkeypatch.setattr(stream_train, "save_checkpoint", save)
    stream_train.train_from_shards(config(prepared, tmp_path / "resumed.pt", resume=True))

    whole, _ = read_payload(tmp_path / "whole.pt")
    resumed, _ = read_payload(tmp_path / "resumed.pt")
    assert whole["backbone_state"] is not None and resumed["backbone_state"] is not None
    for name, tensor in whole["head_state"].items():
        assert torch.equal(tensor, resumed["head_state"][name]), name
    for name, tensor in whole["backbone_state"].items():
        assert torch.equal(tensor, resumed["backbone_state"][name]), name


def test_torchrun_trains_with_two_processes_on_cpu(prepared, tmp_path):
    out = tmp_path / "ddp.pt"
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
        "--manifest",
        str(prepared[0]),
        "--cells",
        str(prepared[1]),
        "--out",
        str(out),
        "--backbone",
        "efficientnet-lite0",
        "--random-init",
        "--trainable",
        "last",
        "--epochs",
        "1",
        "--batch-size",
        "4",
        "--image-size",
        "32",
        "--device",
        "cpu",
    ]
    run = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"}
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "world 2" in run.stdout and "images/s" in run.stdout
    payload, _ = read_payload(out)
    # 40 photos: each rank reads 20, 5 full batches of 4.
    assert payload["history"][0]["epoch"] == 0 and payload["step"] == -1


def test_a_sample_that_fails_to_decode_is_left_out_named_and_counted(prepared, tmp_path, monkeypatch, capfd):
    """A truncated JPEG in a shard (written before prepare decoded every image): training goes on without it."""
    images = MemoryImages()
    images.files["3.jpg"] = images.files["3.jpg"][:300]
    samples = [Sample(f"s{n:03d}", f"{n}.jpg", lat, lon) for n, (lat, lon) in enumerate(LOCATIONS)]
    monkeypatch.setattr("planet_engine.prepare.decode_problem", lambda data: None)
    write_shards(samples, images, tmp_path / "shards", dataset="test", shard_bytes=4000, progress=False)
    result = stream_train.train_from_shards(
        config((tmp_path / "shards", prepared[1]), tmp_path / "model.pt", quiet=False, epochs=2)
    )
    assert [record["bad_samples"] for record in result.history] == [1, 1]
    log = capfd.readouterr()
    assert log.err.count("warning: skipping sample shard-") == 2 and "/s003: " in log.err
    assert "1 sample(s) of rank 0 failed to decode" in log.out


def test_resume_refuses_other_workers_unless_rescaled_and_accepts_the_same_folder_spelled_otherwise(
    prepared, tmp_path, monkeypatch
):
    save = save_checkpoint

    def save_then_die(path, payload):
        digest = save(path, payload)
        if payload["step"] == 3:
            raise KeyboardInterrupt
        return digest

    monkeypatch.setattr(stream_train, "save_checkpoint", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        stream_train.train_from_shards(config(prepared, tmp_path / "run.pt", epochs=2))
    monkeypatch.setattr(stream_train, "save_checkpoint", save)
    with pytest.raises(CheckpointError, match=r"1 rank\(s\) x 1 worker\(s\).*this run has 1 x 2.*--rescale"):
        stream_train.train_from_shards(config(prepared, tmp_path / "run.pt", resume=True, num_workers=2))

    monkeypatch.chdir(prepared[0].parent)  # the same folder as a relative path
    result = stream_train.train_from_shards(
        config(
            prepared, tmp_path / "run.pt", resume=True, num_workers=2, epochs=2, rescale=True, manifest=prepared[0].name
        )
    )
    assert [record["epoch"] for record in result.history] == [0, 1]
    payload, _ = read_payload(tmp_path / "run.pt")
    assert payload["workers"] == 2 and payload["scheduler_state"]["last_epoch"] == 2 * payload["steps_per_epoch"]
    assert result.history[-1]["lr"] == pytest.approx(0.0, abs=1e-12)  # the cosine schedule ends where it should
