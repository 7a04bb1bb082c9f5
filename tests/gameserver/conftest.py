"""Game-server fixtures: a real tiny checkpoint trained on the synthetic set, isolated storage, a set."""

from __future__ import annotations

from pathlib import Path

import pytest

from planet_engine.cells import CellSet, adaptive_partition
from planet_engine.manifest import read_manifest
from planet_engine.train import TrainConfig, train


@pytest.fixture(scope="session")
def tiny_checkpoint(synthetic_train: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real PlaNet checkpoint (Lite0 linear probe at 64 px) that tells the four synthetic regions apart."""
    folder = tmp_path_factory.mktemp("tiny-model")
    manifest = read_manifest(synthetic_train)
    partition = adaptive_partition(manifest.latitudes, manifest.longitudes, t1=10, t2=2)
    CellSet.from_partition(partition).write_csv(folder / "cells.csv")
    train(TrainConfig(manifest=str(synthetic_train), cells=str(folder / "cells.csv"), out=str(folder / "model.pt"),
                      image_size=64, epochs=15, lr=1e-2, weight_decay=1e-4, cache_dir=None, quiet=True))
    return folder / "model.pt"


@pytest.fixture(autouse=True)
def isolated_server(settings: pytest.FixtureRequest, tmp_path: Path, tiny_checkpoint: Path):
    """Each test gets its own image storage and the tiny model; the worker's model cache starts empty."""
    from gameserver.celery import app
    from gameserver.inference.services import predictor

    settings.PANORAMA_STORAGE_DIR = tmp_path / "panoramas"
    settings.PLANET_CHECKPOINT = tiny_checkpoint
    # Tasks run inline unless a test starts a real worker (tests/gameserver/inference/test_worker.py).
    app.conf.task_always_eager = True
    predictor.cache_clear()
    yield
    predictor.cache_clear()
    app.conf.task_always_eager = True


@pytest.fixture
def model_version(db: None, tiny_checkpoint: Path):
    """The tiny checkpoint registered as the default opponent."""
    from gameserver.inference.services import model_version_register

    return model_version_register(name="tiny", checkpoint=tiny_checkpoint, default=True)
