"""Where a panorama's served images live: the one place that knows PANORAMA_STORAGE_DIR's layout."""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings

from gameserver.panoramas.models import Panorama


def storage_dir() -> Path:
    return Path(settings.PANORAMA_STORAGE_DIR)


def stored_image_path(*, name: str) -> Path:
    """Where an imported image (a panorama's, or a view's of a multi-view place) is stored, re-encoded."""
    return storage_dir() / name


def panorama_image_path(*, panorama: Panorama) -> Path:
    """Where the panorama's served (re-encoded, metadata-free) JPEG is stored."""
    return stored_image_path(name=panorama.image_name)


def panorama_view_path(*, panorama: Panorama, key: str) -> Path:
    """Where a render of the panorama (one fixed view, keyed by what determines its pixels) is stored."""
    return storage_dir() / "views" / f"{panorama.public_id}-{key}.jpg"


def file_write_atomic(path: Path, data: bytes) -> Path:
    """Write `data` under a temporary name, flush it to disk, then rename: readers never see half a file.
    Concurrent writers of the same bytes are harmless (each renames a whole file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        with temp.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return path


def stored_image_write(*, name: str, data: bytes) -> Path:
    return file_write_atomic(stored_image_path(name=name), data)


def files_remove(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def served_view_path(*, name: str) -> Path:
    """Where one round's own encoding of its view is stored (see gameserver/games/serving.py)."""
    return storage_dir() / "rounds" / name
