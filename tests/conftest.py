"""Fixtures shared by every test package: a synthetic, learnable photo set (colour and texture encode the
region: planet_engine/synthetic.py, which the load benchmark serves too), a real tiny checkpoint trained on it
(the game server's and the browser tests' opponent) and the real datasets' location."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from planet_engine.cells import CellSet, adaptive_partition
from planet_engine.config import TrainConfig
from planet_engine.manifest import data_dir, read_manifest
from planet_engine.synthetic import write_synthetic_set
from planet_engine.train import train


@pytest.fixture(scope="session")
def synthetic_set_writer() -> Callable[..., Path]:
    """planet_engine.synthetic.write_synthetic_set as a fixture, for the conftests below this one."""
    return write_synthetic_set


@pytest.fixture(scope="session")
def synthetic_train(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic_set(tmp_path_factory.mktemp("synthetic-train"), per_region=12, seed=1)


@pytest.fixture(scope="session")
def synthetic_test(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic_set(tmp_path_factory.mktemp("synthetic-test"), per_region=5, seed=2)


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


@pytest.fixture(scope="session")
def datasets() -> Path:
    """The real datasets (../shared/datasets by default); a missing folder fails loudly, never skips."""
    folder = data_dir()
    assert (folder / "yfcc-train" / "manifest.csv").is_file(), f"datasets not found in {folder} (PLANET_DATA_DIR)"
    return folder
