"""The object store, and the one place that knows its layout: imported images, each round's served encodings,
panorama renders and model checkpoints, read and written through Django's storage API (STORAGES["planet"]).

By default the store is the local folder PANORAMA_STORAGE_DIR; with PLANET_STORAGE_URL=s3://bucket/prefix it is
an S3-compatible bucket that web processes and workers on other machines share. Callers hold keys, never paths."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.files.base import File
from django.core.files.storage import FileSystemStorage, Storage, storages
from PIL import Image

from gameserver.panoramas.models import Panorama

CHUNK = 1 << 20


class LocalObjectStorage(FileSystemStorage):
    """The embedded store: PANORAMA_STORAGE_DIR (read when used, so a test or run_arena may point it elsewhere).
    A key names one content: writing it again replaces the object whole, as a put to S3 does, and a reader never
    sees half a file."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._fixed = kwargs.get("location")

    @property
    def base_location(self) -> str:
        return str(self._fixed or settings.PANORAMA_STORAGE_DIR)

    @property
    def location(self) -> str:
        return os.path.abspath(self.base_location)

    def get_available_name(self, name: str, max_length: int | None = None) -> str:
        return name

    def _save(self, name: str, content: File[Any]) -> str:
        path = Path(self.path(name))
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f".{path.name}.{os.getpid()}.part")
        try:
            with temp.open("wb") as handle:
                content.seek(0)
                for chunk in content.chunks(CHUNK):
                    handle.write(chunk)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, path)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        return name


def planet_storage() -> Storage:
    return storages["planet"]


def storage_is_local() -> bool:
    """Whether the store is this machine's disk (the embedded game), where a file can be used in place."""
    return isinstance(planet_storage(), FileSystemStorage)


def storage_describe() -> str:
    storage = planet_storage()
    if isinstance(storage, FileSystemStorage):
        return str(storage.location)
    return f"s3://{getattr(storage, 'bucket_name', '?')}/{getattr(storage, 'location', '')}"


# The layout. Keys are opaque: public ids and random names, never a dataset's file name or a location.
def stored_image_key(*, name: str) -> str:
    """An imported image (a panorama's, or a view's of a multi-view place), re-encoded without metadata."""
    return name


def panorama_image_key(*, panorama: Panorama) -> str:
    return stored_image_key(name=panorama.image_name)


def panorama_view_key(*, panorama: Panorama, key: str) -> str:
    """A render of the panorama (one fixed view, keyed by what determines its pixels)."""
    return f"views/{panorama.public_id}-{key}.jpg"


def panorama_renders_keys(*, public_ids: Iterable[str]) -> list[str]:
    """Every stored render of these panoramas (panorama_view_key's), found by listing the renders' folder."""
    prefixes = tuple(f"{public_id}-" for public_id in public_ids)
    try:
        _, files = planet_storage().listdir("views")
    except FileNotFoundError:  # the local store before any render (a bucket lists an absent prefix as empty)
        return []
    return [f"views/{name}" for name in files if prefixes and name.startswith(prefixes)]


def served_view_key(*, name: str) -> str:
    """One round's own encoding of its view (see gameserver/games/serving.py)."""
    return f"rounds/{name}"


def training_places_key(*, manifest_sha256: str) -> str:
    """The places (latitude, longitude) of the photos a model was trained on, by its manifest's fingerprint."""
    return f"training/{manifest_sha256}.npz"


def upload_key(*, name: str) -> str:
    """An uploaded archive waiting for its import job (panoramas/jobs.py)."""
    return f"uploads/{name}"


def checkpoint_key(*, sha256: str) -> str:
    """A model checkpoint, addressed by its content."""
    return f"checkpoints/{sha256}.pt"


def object_write(*, key: str, data: bytes | IO[bytes]) -> str:
    """Store `data` (bytes, or a file streamed in chunks) under `key`, replacing what was there."""
    content = File(io.BytesIO(data) if isinstance(data, bytes) else data, name=key)
    saved = planet_storage().save(key, content)
    if saved != key:  # a backend configured to rename instead of replacing would lose the layout
        raise RuntimeError(f"the object store saved {key!r} as {saved!r}: it must overwrite (file_overwrite)")
    return key


def object_read(*, key: str) -> bytes:
    """The object's bytes; FileNotFoundError when there is none."""
    with object_open(key=key) as handle:
        return bytes(handle.read())


def object_open(*, key: str) -> File[Any]:
    """The object, open for reading in chunks; FileNotFoundError when there is none (both backends raise it
    from open itself: S3's open is the one HEAD request, so no separate exists() round trip precedes it)."""
    return planet_storage().open(key, "rb")


def object_exists(*, key: str) -> bool:
    return bool(planet_storage().exists(key))


def objects_delete(*, keys: Iterable[str]) -> None:
    storage = planet_storage()
    for key in keys:
        storage.delete(key)


def image_open(*, key: str) -> Image.Image:
    """A stored image, decoded (the stored JPEGs were checked on import: no bomb, no metadata)."""
    image = Image.open(io.BytesIO(object_read(key=key)))
    image.load()  # decoded in full now: the in-memory bytes hold no file open, so no copy is needed to close it
    return image


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def object_download(*, key: str, path: Path, sha256: str) -> Path:
    """Copy an object to a local file, atomically, refusing it unless its content hashes to `sha256`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", suffix=".part", delete=False) as temp:
        try:
            with planet_storage().open(key, "rb") as source:
                for chunk in iter(lambda: source.read(CHUNK), b""):
                    digest.update(chunk)
                    temp.write(chunk)
            temp.flush()
            os.fsync(temp.fileno())
        except BaseException:
            Path(temp.name).unlink(missing_ok=True)
            raise
    if digest.hexdigest() != sha256:
        Path(temp.name).unlink(missing_ok=True)
        raise ValueError(f"object {key!r} hashes to {digest.hexdigest()[:12]}, not {sha256[:12]}")
    os.replace(temp.name, path)
    return path


def file_copy_atomic(source: Path, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.part")
    shutil.copyfile(source, temp)
    os.replace(temp, path)
    return path
