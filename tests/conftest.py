"""Fixtures shared by every test package: a synthetic, learnable photo set (colour and texture encode the
region: planet_engine/synthetic.py, which the load benchmark serves too), a real tiny checkpoint trained on it
(the game server's and the browser tests' opponent) and the real datasets' location; the property-based tests'
profiles."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, settings

from planet_engine.cells import CellSet, adaptive_partition
from planet_engine.config import TrainConfig
from planet_engine.knn import knn_build
from planet_engine.manifest import data_dir, read_manifest
from planet_engine.synthetic import write_synthetic_set
from planet_engine.train import train

# Passwords hashed with MD5 in the tests and in the servers they start (which inherit this environment): Django's
# PBKDF2 costs a second a sign-up here. Before Django reads its settings; production refuses it (settings.py).
os.environ.setdefault("PLANET_FAST_PASSWORD_HASHER", "1")

# Property-based tests (hypothesis), chosen by --hypothesis-profile or HYPOTHESIS_PROFILE. Each test asks for a
# multiple or a fraction of the profile's max_examples (by its cost), so a profile scales them all.
#   dev (default): fresh random examples every run; a failure is saved in .hypothesis/ and replayed first.
#   ci (make test, .ci/run): derandomized, so every run tries the same examples; no example database and no
#     timing checks (deadline, too_slow), which a busy shared machine would fail at random.
#   fuzz (make fuzz): twenty times the examples, random, to hunt for new failures.
# Each profile starts from Hypothesis's own defaults: where CI=true is set, Hypothesis makes its derandomized
# built-in `ci` profile the default, and a profile without a parent would inherit derandomize from it.
TIMING = [HealthCheck.too_slow]
BASE = settings.get_profile("default")
settings.register_profile("dev", BASE, max_examples=100, derandomize=False)
settings.register_profile(
    "ci",
    BASE,
    max_examples=100,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=TIMING,
    print_blob=True,
)
settings.register_profile(
    "fuzz", BASE, max_examples=2000, derandomize=False, deadline=None, suppress_health_check=TIMING, print_blob=True
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


SERVER_TESTS = Path(__file__).resolve().parent / "gameserver"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every game-server test is marked `server`: tests/run_passes.sh runs them all against PostgreSQL and Redis
    where those run, and then, in the embedded pass, only those also marked `embedded`."""
    for item in items:
        if SERVER_TESTS in item.path.parents:
            item.add_marker(pytest.mark.server)


@pytest.fixture(scope="session")
def synthetic_set_writer() -> Callable[..., Path]:
    """planet_engine.synthetic.write_synthetic_set as a fixture, for the conftests below this one."""
    return write_synthetic_set


# The synthetic training set and the tiny checkpoints trained on it are built once per version of the code and
# kept in .cache/tests/ (keyed by the engine's sources, this file and torch's version), so the suite's passes and
# processes share them instead of each training its own; each session uses a copy of the checkpoint.
# PLANET_TEST_CACHE puts them elsewhere (tests/run_passes.sh: beside pip's cache, so a fresh clone starts warm).
CACHE = Path(os.environ.get("PLANET_TEST_CACHE") or Path(__file__).resolve().parents[1] / ".cache" / "tests")


def code_key() -> str:
    digest = hashlib.sha256(torch.__version__.encode())
    for source in [Path(__file__), *sorted((Path(__file__).resolve().parents[1] / "planet_engine").rglob("*.py"))]:
        digest.update(source.read_bytes())
    return digest.hexdigest()[:16]


def cached(name: str, build: Callable[[Path], object]) -> Path:
    """.cache/tests/<name>-<code key>/, built by build(folder) unless a finished one is there; concurrent
    builders each build in a folder of their own and the first to finish keeps theirs."""
    folder = CACHE / f"{name}-{code_key()}"
    if not (folder / ".complete").is_file():
        CACHE.mkdir(parents=True, exist_ok=True)
        building = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=CACHE))
        build(building)
        (building / ".complete").touch()
        try:
            building.rename(folder)
        except OSError:  # another process finished first
            shutil.rmtree(building, ignore_errors=True)
    return folder


@pytest.fixture(scope="session")
def synthetic_train() -> Path:
    """Read only: shared by every session through the cache."""
    return cached("synthetic-train", lambda folder: write_synthetic_set(folder, per_region=12, seed=1)) / "manifest.csv"


@pytest.fixture(scope="session")
def synthetic_test(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic_set(tmp_path_factory.mktemp("synthetic-test"), per_region=5, seed=2)


@pytest.fixture(scope="session")
def tiny_checkpoint(synthetic_train: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real PlaNet checkpoint (Lite0 linear probe at 64 px) that tells the four synthetic regions apart."""

    def build(folder: Path) -> None:
        manifest = read_manifest(synthetic_train)
        partition = adaptive_partition(manifest.latitudes, manifest.longitudes, t1=10, t2=2)
        CellSet.from_partition(partition).write_csv(folder / "cells.csv")
        train(
            TrainConfig(
                manifest=str(synthetic_train),
                cells=str(folder / "cells.csv"),
                out=str(folder / "model.pt"),
                image_size=64,
                epochs=15,
                lr=1e-2,
                weight_decay=1e-4,
                cache_dir=None,
                quiet=True,
            )
        )

    folder = tmp_path_factory.mktemp("tiny-model")
    shutil.copyfile(cached("tiny-model", build) / "model.pt", folder / "model.pt")
    return folder / "model.pt"


@pytest.fixture(scope="session")
def tiny_knn_checkpoint(synthetic_train: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real kNN retrieval checkpoint (Lite0 features at 64 px) whose gallery is the synthetic training set."""

    def build(folder: Path) -> None:
        knn_build(
            manifest=synthetic_train,
            out=folder / "knn.pt",
            backbone="efficientnet-lite0",
            image_size=64,
            k=5,
            t1=10,
            t2=2,
            cache_dir=None,
            quiet=True,
        )

    out = tmp_path_factory.mktemp("tiny-knn") / "knn.pt"
    shutil.copyfile(cached("tiny-knn", build) / "knn.pt", out)
    return out


@pytest.fixture(scope="session")
def datasets() -> Path:
    """The real datasets (../shared/datasets by default); a missing folder fails loudly, never skips."""
    folder = data_dir()
    assert (folder / "yfcc-train" / "manifest.csv").is_file(), f"datasets not found in {folder} (PLANET_DATA_DIR)"
    return folder


def zip_of(folder: Path, *, prefix: str = "", extra: dict[str, bytes] | None = None) -> bytes:
    """Every file under `folder` zipped by its path relative to it (under `prefix`), plus `extra` entries: what an
    admin uploads (tests of the import, its jobs and the admin's browser flows)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                bundle.write(path, prefix + path.relative_to(folder).as_posix())
        for name, data in (extra or {}).items():
            bundle.writestr(name, data)
    return buffer.getvalue()
