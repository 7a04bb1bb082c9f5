"""Registering a checkpoint as a model version: checked (its kind, its contents; a PlaNet graph exported to ONNX and
checked against torch on game images), kept in the object store, recorded with its sha256 and its training
manifest's fingerprint, its training places stored for the training-leak check (leaks.py), and written
to the admin's history. A taken name gets a new version. External models are registered by their predictions
(external.py)."""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import validate_slug
from django.db import transaction
from PIL import Image

from gameserver.audit import ADDITION, audit_log
from gameserver.inference.checkpoints import checkpoint_store, checkpoint_unstore
from gameserver.inference.leaks import model_version_leak_check, training_places_from_manifest, training_places_store
from gameserver.inference.models import ModelVersion
from gameserver.panoramas.models import Panorama
from gameserver.panoramas.storage import image_open, panorama_image_key
from planet_engine.checkpoint import FORMAT as CHECKPOINT_FORMAT
from planet_engine.checkpoint import load_checkpoint, read_file
from planet_engine.errors import CheckpointError
from planet_engine.knn import KNN_FORMAT, load_knn
from planet_engine.onnx_export import OnnxParityError, onnx_export

logger = logging.getLogger(__name__)
# Game images the ONNX graph is checked on at registration (with two random inputs).
PARITY_IMAGES = 32


class ModelVersionError(ValueError):
    """A model version that cannot be registered; the message says why."""


def model_version_register(
    *,
    name: str,
    checkpoint: Path,
    default: bool = False,
    kind: str = ModelVersion.Kind.PLANET,
    source: str = "",
    shown: str = "",
    user_id: int | None = None,
) -> ModelVersion:
    """Register a checkpoint of a kind (planet or knn) under a name after loading it once; optionally the default.
    A name already registered gets a new version (ModelVersion.version_name) unless the checkpoint is the one its
    latest version has: the old version's games keep their checkpoint, and the default moves to the new version
    when the old one was the default. `checkpoint` is a file the caller vouches for (the command's, from
    checkpoint_in_models_dir; an upload's temporary copy), recorded as coming from `source` (default: its path)
    and called `shown` in messages (default: its path). External models are registered by their predictions
    (external.py). The registration is in the admin's history under `user_id`."""
    shown = shown or str(checkpoint)
    try:
        validate_slug(name)
    except ValidationError:
        raise ModelVersionError(f"model name {name!r} must be a slug (letters, digits, - and _)") from None
    if kind not in (ModelVersion.Kind.PLANET, ModelVersion.Kind.KNN):
        raise ModelVersionError(
            f"a checkpoint is of kind planet or knn, not {kind!r} (external models: register_predictions)"
        )
    latest = ModelVersion.objects.filter(family=name).order_by("-number").first()
    if latest is not None and latest.kind != kind:
        raise ModelVersionError(f"model name {name!r} is taken by a model of kind {latest.kind}")
    sha256, description, training = _checkpoint_checked(checkpoint=checkpoint, kind=kind, shown=shown)
    if latest is not None and latest.checkpoint_sha256 == sha256:
        if default:
            model_version_make_default(version=latest)
        return latest  # the same file again: no new version
    number = 1 if latest is None else latest.number + 1
    with transaction.atomic():
        version = ModelVersion.objects.create(
            name=ModelVersion.version_name(family=name, number=number),
            family=name,
            number=number,
            kind=kind,
            checkpoint_path=(source or str(Path(checkpoint).resolve()))[:500],
            checkpoint_sha256=sha256,
            description=description[:300],
            train_manifest_sha256=training.manifest_sha256,
        )
        if (
            default
            or (latest is not None and latest.is_default)
            or not ModelVersion.objects.filter(is_default=True).exists()
        ):
            model_version_make_default(version=version)
        audit_log(
            user_id=user_id,
            obj=version,
            action=ADDITION,
            message=f"registered {kind} checkpoint sha256 {sha256[:12]} as version {number} of {name!r}",
        )
    _training_places_keep(version=version, training=training)
    return version


def model_version_make_default(*, version: ModelVersion) -> None:
    with transaction.atomic():
        ModelVersion.objects.filter(is_default=True).exclude(pk=version.pk).update(is_default=False)
        version.is_default = True
        version.save(update_fields=["is_default"])


def _checkpoint_checked(*, checkpoint: Path, kind: str, shown: str) -> tuple[str, str, _Training]:
    """The checkpoint's sha256 and description, once it is in the store and has loaded; ModelVersionError,
    naming the file as `shown` (never the store's own path, never a loader's advice), when it is not a whole
    checkpoint of `kind`."""
    tags: dict[str, str] = {ModelVersion.Kind.PLANET: CHECKPOINT_FORMAT, ModelVersion.Kind.KNN: KNN_FORMAT}
    not_one = (
        f"{shown} is not a {kind} checkpoint (python -m planet_engine "
        f"{'knn-build' if kind == ModelVersion.Kind.KNN else 'train'} writes one)"
    )
    try:
        # A checkpoint of the asked kind, read before it is copied anywhere: the store holds checkpoints only.
        payload, _ = read_file(checkpoint)
        tag = payload.get("format") if isinstance(payload, dict) else None
        if tag != tags[kind]:
            other = next((other for other, its_tag in tags.items() if its_tag == tag), None)
            raise ModelVersionError(
                not_one if other is None else f"{shown} is a {other} checkpoint, not a {kind} one (its kind is {other})"
            )
        # Into the object store, where every worker finds it by its hash; checked in full from the local copy a
        # worker on this machine would load (the ONNX graph is exported beside it).
        stored_sha256, local, created = checkpoint_store(path=Path(checkpoint))
    except CheckpointError:
        raise ModelVersionError(not_one) from None
    try:
        return _knn_checked(local) if kind == ModelVersion.Kind.KNN else _planet_checked(local)
    except (CheckpointError, OnnxParityError) as error:
        if created:
            checkpoint_unstore(sha256=stored_sha256)
        raise ModelVersionError(str(error).replace(str(local), shown).replace(str(checkpoint), shown)) from None
    # Tagged, but not what the tag promises (a hand-made or truncated payload): the loader's own words mean nothing
    # to an admin.
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, RuntimeError):
        if created:
            checkpoint_unstore(sha256=stored_sha256)
        raise ModelVersionError(f"{not_one}: its contents are incomplete") from None


def model_version_register_upload(
    *,
    name: str,
    upload: UploadedFile,
    default: bool = False,
    kind: str = ModelVersion.Kind.PLANET,
    user_id: int | None = None,
) -> ModelVersion:
    """model_version_register for an admin's upload: refused past PLANET_CHECKPOINT_UPLOAD_MAX_BYTES before a byte
    is kept, read from a temporary copy that is always removed; its messages name the upload."""
    limit = settings.PLANET_CHECKPOINT_UPLOAD_MAX_BYTES
    if upload.size is None or upload.size > limit:
        raise ModelVersionError(f"the upload is over PLANET_CHECKPOINT_UPLOAD_MAX_BYTES ({limit} bytes)")
    shown = PurePosixPath(upload.name or "upload").name[:100]
    with tempfile.TemporaryDirectory(prefix="checkpoint-upload-") as folder:
        path = Path(folder) / "upload.pt"
        with path.open("wb") as sink:
            for chunk in upload.chunks():
                sink.write(chunk)
        return model_version_register(
            name=name,
            checkpoint=path,
            default=default,
            kind=kind,
            source=f"upload:{shown}",
            shown=shown,
            user_id=user_id,
        )


@dataclass(frozen=True)
class _Training:
    """What a checkpoint says of the photos it was trained on: its manifest's fingerprint and path, and (a kNN
    gallery) their places."""

    manifest_sha256: str
    manifest: str
    latitudes: np.ndarray | None = None
    longitudes: np.ndarray | None = None


def _training_places_keep(*, version: ModelVersion, training: _Training) -> None:
    """Store the version's training places (leaks.py) when the checkpoint carries them or its manifest is on this
    server, then measure every set against them; otherwise the imports report the version unchecked."""
    if training.latitudes is not None and training.longitudes is not None:
        training_places_store(version=version, latitudes=training.latitudes, longitudes=training.longitudes)
    elif training.manifest and Path(training.manifest).is_file():
        try:
            training_places_from_manifest(version=version, manifest=Path(training.manifest))
        except ValueError as error:  # a manifest changed since training: the check waits for the right one
            logger.warning("training places of %s not stored: %s", version.name, error)
    model_version_leak_check(version=version)


def _planet_checked(checkpoint: Path) -> tuple[str, str, _Training]:
    """A PlaNet checkpoint's sha256, description and training, after loading it and exporting its ONNX graph."""
    loaded = load_checkpoint(checkpoint)
    # The CPU workers run the network as ONNX: export it now, and refuse a model whose graph does not compute
    # what the checkpoint computes on game images.
    onnx_export(loaded, checkpoint, images=_parity_images(), threads=settings.INFERENCE_THREADS or None)
    config = loaded.config
    training = _Training(
        manifest_sha256=str(loaded.payload.get("train_manifest_sha256", "")), manifest=str(config["manifest"])
    )
    return (
        loaded.sha256,
        (
            f"{config['backbone']}, {len(loaded.cells)} cells, trained on "
            f"{Path(str(config['manifest'])).parent.name or config['manifest']}"
        ),
        training,
    )


def _parity_images() -> list[Image.Image]:
    images = []
    for panorama in Panorama.objects.order_by("pk")[:PARITY_IMAGES]:
        try:
            images.append(image_open(key=panorama_image_key(panorama=panorama)))
        except FileNotFoundError:
            continue  # a set whose images were removed: the random inputs still check the graph
    return images


def _knn_checked(checkpoint: Path) -> tuple[str, str, _Training]:
    """A kNN checkpoint's sha256, description and training (its gallery's places), after loading it once (it runs
    in torch: no graph)."""
    loaded = load_knn(checkpoint)
    payload = loaded.payload
    training = _Training(
        manifest_sha256=str(payload["manifest_sha256"]),
        manifest=str(payload["manifest"]),
        latitudes=np.asarray(loaded.gallery.latitudes),
        longitudes=np.asarray(loaded.gallery.longitudes),
    )
    return (
        loaded.sha256,
        (
            f"kNN retrieval (k={loaded.k}), {payload['backbone']}, "
            f"{len(loaded.gallery.latitudes)} gallery photos of "
            f"{Path(payload['manifest']).parent.name or payload['manifest']}"
        ),
        training,
    )
