"""Training from prepared shards: every rank and worker reads its own shards, a resumed epoch continues on the
very batches that were next, and `torchrun --nproc-per-node 2` trains with DDP on CPUs (Gloo)."""

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
from planet_engine.checkpoint import read_payload, save_checkpoint
from planet_engine.config import TrainConfig
from planet_engine.data import train_transform
from planet_engine.layouts import Sample
from planet_engine.predict import Predictor
from planet_engine.shards import ShardStream, shards_of, write_shards

ROOT = Path(__file__).resolve().parents[2]
rng = np.random.default_rng(0)
LOCATIONS = [(float(lat), float(lon))
             for lat, lon in zip(rng.uniform(-60, 70, 40), rng.uniform(-180, 180, 40), strict=True)]


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
    """40 photos in 8 shards of 5, and a partition of them."""
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
    return [(lat, lon, image.numpy().tobytes()) for image, lat, lon in stream]


def test_ranks_and_workers_read_disjoint_shards_that_cover_the_set(prepared):
    shards = [f"shard-{n:06d}.tar" for n in range(8)]
    parts = [shards_of(shards, rank, 2, worker, 3) for rank in range(2) for worker in range(3)]
    assert sorted(sum(parts, [])) == shards
    seen = [item[:2] for rank in range(2)
            for item in stream_items(ShardStream(prepared[0], crop, rank=rank, world=2, shuffle_buffer=4))]
    assert sorted(seen) == sorted(LOCATIONS)


def test_a_resumed_epoch_gives_the_batches_that_were_next(prepared):
    whole = stream_items(ShardStream(prepared[0], crop, shuffle_buffer=6, seed=3, epoch=1, batch_size=4))
    resumed = stream_items(ShardStream(prepared[0], crop, shuffle_buffer=6, seed=3, epoch=1, batch_size=4,
                                       skip_batches=3))
    assert resumed == whole[12:]
    other_epoch = stream_items(ShardStream(prepared[0], crop, shuffle_buffer=6, seed=3, epoch=2, batch_size=4))
    assert [item[:2] for item in other_epoch] != [item[:2] for item in whole]  # each epoch its own order


def config(prepared: tuple[Path, Path], out: Path, **overrides: object) -> TrainConfig:
    values: dict[str, object] = dict(manifest=str(prepared[0]), cells=str(prepared[1]), out=str(out),
                                     backbone="efficientnet-lite0", pretrained=False, trainable="last", epochs=1,
                                     batch_size=4, lr=1e-3, image_size=32, device="cpu", shuffle_buffer=8,
                                     checkpoint_every=3, quiet=True)
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
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
               "-m", "planet_engine", "train", "--manifest", str(prepared[0]), "--cells", str(prepared[1]),
               "--out", str(out), "--backbone", "efficientnet-lite0", "--random-init", "--trainable", "last",
               "--epochs", "1", "--batch-size", "4", "--image-size", "32", "--device", "cpu"]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert run.returncode == 0, run.stderr[-3000:]
    assert "world 2" in run.stdout and "images/s" in run.stdout
    payload, _ = read_payload(out)
    # 40 photos in 8 shards: each rank reads 4 shards (20 photos), 5 full batches of 4.
    assert payload["history"][0]["epoch"] == 0 and payload["step"] == -1
