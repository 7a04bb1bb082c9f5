"""The project's object store: which backend holds the objects (the local folder PANORAMA_STORAGE_DIR by default,
an S3-compatible bucket with PLANET_STORAGE_URL=s3://bucket/prefix, shared by web processes and workers on other
machines) and the generic operations on keys, through Django's storage API (STORAGES["planet"]).

The apps own their keys (panoramas/storage.py: images, renders, rounds' encodings; inference/checkpoints.py:
checkpoints); callers hold keys, never paths."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote, urlparse

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import File
from django.core.files.storage import FileSystemStorage, Storage, storages

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


def object_storage(url: str) -> dict[str, object]:
    """STORAGES["planet"] from PLANET_STORAGE_URL: the local folder, or an S3-compatible bucket that objects are
    read from and written to whole (file_overwrite: a key names one content) and that is never public (players
    get images through the game's own views)."""
    if not url:
        return {"BACKEND": "gameserver.objectstore.LocalObjectStorage"}
    parsed = urlparse(url)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ImproperlyConfigured(
            f"PLANET_STORAGE_URL must be s3://bucket[/prefix][?endpoint=URL&region=NAME], not {url!r}"
        )
    query = dict(part.split("=", 1) for part in parsed.query.split("&") if "=" in part)
    unknown = set(query) - {"endpoint", "region"}
    if unknown:
        raise ImproperlyConfigured(f"PLANET_STORAGE_URL: unknown option {sorted(unknown)[0]!r} (endpoint, region)")
    options: dict[str, object] = {
        "bucket_name": parsed.netloc,
        "location": parsed.path.strip("/"),
        "file_overwrite": True,
        "default_acl": None,
        "querystring_auth": True,
        "querystring_expire": 60,
    }
    if "endpoint" in query:
        options.update(endpoint_url=unquote(query["endpoint"]), addressing_style="path")
    if "region" in query:
        options["region_name"] = query["region"]
    return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}


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
