"""Game-server fixtures: isolated storage, the tiny checkpoint (tests/conftest.py) registered as a model, and
a source folder that writes images and manifests for imports."""

from __future__ import annotations

import csv
import shutil
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from pytest_django.fixtures import Settings


@pytest.fixture(autouse=True)
def isolated_server(settings: Settings, tmp_path: Path, tiny_checkpoint: Path):
    """Each test gets its own image storage and the tiny model; the worker's model cache starts empty."""
    from django.core.cache import cache

    from gameserver.celery import app
    from gameserver.inference.checkpoints import checkpoint_local
    from gameserver.inference.services import predictor

    settings.PANORAMA_STORAGE_DIR = tmp_path / "panoramas"
    # Not the developer's var/static (which `make play` fills with fingerprinted copies): pages name the files
    # as the tests expect whether or not the game was played in this checkout.
    settings.STATIC_ROOT = tmp_path / "static"
    settings.PLANET_CHECKPOINT_CACHE = tmp_path / "checkpoints"
    settings.PLANET_CHECKPOINT = tiny_checkpoint
    # Django read its settings before tests/conftest.py asked for fast hashing (PLANET_FAST_PASSWORD_HASHER, which
    # the servers the tests start inherit): the same here, for the test process itself.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Tasks run inline unless a test starts a real worker (tests/gameserver/inference/test_worker.py).
    app.conf.task_always_eager = True
    predictor.cache_clear()
    checkpoint_local.cache_clear()
    cache.clear()  # Redis in the production pass: no cached tables from another test's database
    yield
    predictor.cache_clear()
    checkpoint_local.cache_clear()
    app.conf.task_always_eager = True


@pytest.fixture(scope="session")
def tiny_registered(
    tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory, django_db_setup: None, django_db_blocker: Any
) -> dict[str, Any]:
    """The tiny checkpoint registered once per session (its ONNX export and parity check take seconds) into a
    store of its own, in a transaction rolled back: the files a registration leaves in the store and the
    version's fields, for model_version to seed each test's store and database with."""
    from django.db import transaction
    from django.test import override_settings

    from gameserver.inference.registration import model_version_register

    store = tmp_path_factory.mktemp("tiny-registered")

    class RolledBack(Exception):
        pass

    fields: dict[str, Any] = {}
    with django_db_blocker.unblock(), override_settings(PANORAMA_STORAGE_DIR=store, PLANET_STORAGE_URL=""):
        try:
            with transaction.atomic():
                version = model_version_register(name="tiny", checkpoint=tiny_checkpoint, default=True)
                fields = {
                    name: getattr(version, name)
                    for name in ("name", "kind", "checkpoint_path", "checkpoint_sha256", "description", "is_default")
                }
                raise RolledBack
        except RolledBack:
            pass
    return {"fields": fields, "store": store, "files": sorted(p for p in store.rglob("*") if p.is_file())}


@pytest.fixture
def model_version(db: None, tiny_registered: dict[str, Any]):
    """The tiny checkpoint registered as the default opponent: the session's registration (tiny_registered)
    seeded into this test's store and database; a store that is not local registers it for real."""
    from gameserver.inference.models import ModelVersion
    from gameserver.inference.registration import model_version_register
    from gameserver.objectstore import storage_is_local

    if not storage_is_local():
        return model_version_register(
            name="tiny", checkpoint=Path(tiny_registered["fields"]["checkpoint_path"]), default=True
        )
    target = Path(settings_value("PANORAMA_STORAGE_DIR"))
    for path in tiny_registered["files"]:
        copy = target / path.relative_to(tiny_registered["store"])
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, copy)
    ModelVersion.objects.filter(is_default=True).update(is_default=False)
    return ModelVersion.objects.create(**tiny_registered["fields"])


def settings_value(name: str) -> Any:
    from django.conf import settings

    return getattr(settings, name)


@pytest.fixture
def checkpoint_broken() -> Callable[..., None]:
    """checkpoint_broken(version, content): the version's checkpoint in the object store damaged since it was
    registered (replaced by `content`) or gone (None)."""
    from gameserver.inference.checkpoints import checkpoint_key
    from gameserver.objectstore import object_write, objects_delete

    def broken(version, content: bytes | None) -> None:
        key = checkpoint_key(sha256=version.checkpoint_sha256)
        if content is None:
            objects_delete(keys=[key])
        else:
            object_write(key=key, data=content)

    return broken


@pytest.fixture
def synthetic(synthetic_test: Path, model_version) -> str:
    """The synthetic test set imported as set "s", with the tiny model registered to play it."""
    from gameserver.panoramas.services import panorama_set_import

    panorama_set_import(manifest_path=synthetic_test, name="s")
    return "s"


@pytest.fixture
def tmp_storage(settings: Settings, tmp_path: Path) -> Path:
    """PANORAMA_STORAGE_DIR for this test only; not created, so an import that writes nothing leaves none."""
    storage = tmp_path / "storage"
    settings.PANORAMA_STORAGE_DIR = storage
    return storage


class SourceFolder:
    """A manifest's folder: images (random pixels, so each seed is a different image) and the CSV."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def image(self, name: str, *, size: tuple[int, int] = (96, 72), seed: int = 0, **save: Any) -> str:
        rng = np.random.default_rng(seed)
        pixels = rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(path, **save)
        return name

    def bytes(self, name: str, data: bytes) -> str:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return name

    def png_header(self, name: str, *, width: int, height: int) -> str:
        """A PNG that claims width x height pixels but holds none: a decompression bomb's header."""

        def chunk(kind: bytes, data: bytes) -> bytes:
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

        header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
        return self.bytes(name, b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b""))

    def manifest(self, rows: list[dict[str, object]]) -> Path:
        columns: list[str] = []
        for row in rows:
            columns += [key for key in row if key not in columns]
        path = self.root / "manifest.csv"
        with path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns, restval="")
            writer.writeheader()
            writer.writerows(rows)
        return path


@pytest.fixture
def source(tmp_path: Path) -> SourceFolder:
    return SourceFolder(tmp_path / "source")


@pytest.fixture
def stored_files(tmp_storage: Path) -> Callable[[], list[Path]]:
    """Every file now under the storage folder, temporary ones included."""

    def files() -> list[Path]:
        return sorted(p for p in tmp_storage.rglob("*") if p.is_file()) if tmp_storage.exists() else []

    return files


@pytest.fixture
def staff(db: None):
    """A signed-in superuser's client (the admin's pages)."""
    from django.contrib.auth.models import User
    from django.test import Client

    client = Client()
    client.force_login(User.objects.create_superuser("root", password="correct horse battery 42"))
    return client
