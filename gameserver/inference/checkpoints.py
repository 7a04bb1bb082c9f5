"""Model checkpoints in the object store, addressed by their sha256, and each machine's local copy of them.

Registering a model puts its checkpoint into the store once; a worker on any machine finds it there by the hash
the model version records, keeps a local copy (PLANET_CHECKPOINT_CACHE) and checks the copy's hash before
anything loads it. With the embedded, local store the stored file is used in place."""

from __future__ import annotations

import functools
from pathlib import Path

from django.conf import settings

from gameserver.objectstore import (
    file_copy_atomic,
    file_sha256,
    object_download,
    object_exists,
    object_write,
    objects_delete,
    planet_storage,
    storage_describe,
    storage_is_local,
)
from planet_engine.errors import CheckpointError


def checkpoint_in_models_dir(*, name: str) -> Path:
    """The file `name` names inside PLANET_MODELS_DIR (relative to it, or absolute within it; links followed), or
    CheckpointError in one wording for every other name, so that a registration never tells whether a file
    elsewhere on the server exists, nor anything of what it holds."""
    folder = Path(settings.PLANET_MODELS_DIR).resolve()
    candidate = (folder / name).resolve()
    if not candidate.is_relative_to(folder) or not candidate.is_file():
        raise CheckpointError(
            f"no checkpoint file {name!r} in PLANET_MODELS_DIR ({folder}): put it there and "
            "name it relative to that folder"
        )
    return candidate


def checkpoint_key(*, sha256: str) -> str:
    """A model checkpoint's key in the object store, addressed by its content."""
    return f"checkpoints/{sha256}.pt"


def checkpoint_store(*, path: Path) -> tuple[str, Path, bool]:
    """Put a checkpoint file into the store (once per content): its sha256, the local file a process on this
    machine loads it from, and whether this call stored it (a registration that fails then takes it back). The
    caller has checked that it is a checkpoint: nothing else belongs in the store."""
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    sha256 = file_sha256(path)
    key = checkpoint_key(sha256=sha256)
    created = not object_exists(key=key)
    if created:
        with path.open("rb") as handle:
            object_write(key=key, data=handle)
    if storage_is_local():
        return sha256, Path(planet_storage().path(key)), created
    cached = _cached_path(sha256)
    if _unusable(cached, sha256):
        file_copy_atomic(path, cached)
    return sha256, cached, created


def checkpoint_unstore(*, sha256: str) -> None:
    """Take back a checkpoint this registration stored (checkpoint_store said it was new)."""
    objects_delete(keys=[checkpoint_key(sha256=sha256)])


@functools.lru_cache(maxsize=8)
def checkpoint_local(*, sha256: str) -> Path:
    """The local file of the checkpoint with this sha256, its hash checked (once per process) before anything
    loads it: the store's own file when the store is local, else this machine's copy, downloaded when missing
    or damaged. CheckpointError, saying what is wrong, when no copy with that content can be had."""
    key = checkpoint_key(sha256=sha256)
    if storage_is_local():
        stored = Path(planet_storage().path(key))
        problem = _unusable(stored, sha256)
        if problem is None:
            return stored
        raise CheckpointError(
            f"checkpoint sha256 {sha256[:12]} cannot be loaded: the object store's copy {stored} "
            f"is {problem} (register the model again: manage.py register_model)"
        )
    cached = _cached_path(sha256)
    if _unusable(cached, sha256) is None:
        return cached
    if not object_exists(key=key):
        raise CheckpointError(
            f"checkpoint sha256 {sha256[:12]} cannot be loaded: it is not in the object store "
            f"({storage_describe()}) (register the model again: manage.py register_model)"
        )
    try:
        return object_download(key=key, path=cached, sha256=sha256)
    except ValueError as error:
        raise CheckpointError(
            f"checkpoint sha256 {sha256[:12]} cannot be loaded: the object store's copy is damaged: {error}"
        ) from None


def _unusable(path: Path, sha256: str) -> str | None:
    """Why the file at `path` is not the checkpoint with this sha256; None when it is."""
    if not path.is_file():
        return "missing"
    actual = file_sha256(path)
    return None if actual == sha256 else f"changed since registration (sha256 {actual[:12]})"


def _cached_path(sha256: str) -> Path:
    return Path(settings.PLANET_CHECKPOINT_CACHE) / f"{sha256}.pt"
