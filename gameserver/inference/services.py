"""The model's guess on a round, from the exact image bytes the players are served.

A worker loads each model version once per process. A task predicts its own round together with the other
rounds of the same model that are waiting (up to INFERENCE_BATCH), so concurrent requests share one
forward pass; every round's guess is committed in its own short transaction, and a round already answered
(by another worker, or a retry) is left as it is.
"""

from __future__ import annotations

import functools
import logging
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import validate_slug
from django.db import transaction
from django.db.models import Case, Subquery, Value, When
from django.utils import timezone
from PIL import Image

from gameserver.audit import ADDITION, audit_log
from gameserver.games.models import Round
from gameserver.games.rules import round_view_keys
from gameserver.inference.checkpoints import checkpoint_local, checkpoint_store, checkpoint_unstore
from gameserver.inference.models import ExternalPrediction, ModelVersion, ModelView
from gameserver.panoramas.models import Panorama
from gameserver.panoramas.storage import image_open, panorama_image_key
from gameserver.realtime.events import game_event_send_on_commit
from planet_engine.checkpoint import FORMAT as CHECKPOINT_FORMAT
from planet_engine.checkpoint import CheckpointError, load_checkpoint, read_file
from planet_engine.knn import KNN_FORMAT, KnnPredictor, is_knn_checkpoint, load_knn
from planet_engine.onnx_export import OnnxParityError, onnx_export
from planet_engine.predict import Prediction, Predictor

logger = logging.getLogger(__name__)
TOP_K = 10
# Game images the ONNX graph is checked on at registration (with two random inputs).
PARITY_IMAGES = 32


class ModelVersionError(ValueError):
    """A model version that cannot be registered; the message says why."""


@functools.lru_cache(maxsize=4)
def predictor(checkpoint_path: str) -> Predictor | KnnPredictor:
    """One predictor per checkpoint per process (GPU when present), PlaNet's or the kNN model's as the file says
    (registration checked its kind; the sha256 check guards it since); CheckpointError if missing or corrupt."""
    started = time.perf_counter()
    loaded: Predictor | KnnPredictor
    if is_knn_checkpoint(checkpoint_path):
        loaded = KnnPredictor(checkpoint_path, batch_size=settings.INFERENCE_BATCH)
    else:
        loaded = Predictor(checkpoint_path, batch_size=settings.INFERENCE_BATCH,
                           backend=settings.INFERENCE_BACKEND, threads=settings.INFERENCE_THREADS or None)
    logger.info("loaded model %s (sha256 %s) on %s (%s) in %.1f s", checkpoint_path, loaded.checkpoint_sha256[:12],
                loaded.device, loaded.backend, time.perf_counter() - started)
    return loaded


def version_predictor(*, version: ModelVersion) -> Predictor | KnnPredictor:
    """The version's predictor, from this machine's verified copy of its checkpoint (checkpoints.py)."""
    return predictor(str(checkpoint_local(sha256=version.checkpoint_sha256)))


def model_version_register(*, name: str, checkpoint: Path, default: bool = False,
                           kind: str = ModelVersion.Kind.PLANET, source: str = "", shown: str = "",
                           user_id: int | None = None) -> ModelVersion:
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
        raise ModelVersionError(f"a checkpoint is of kind planet or knn, not {kind!r} (external models: "
                                "register_predictions)")
    latest = ModelVersion.objects.filter(family=name).order_by("-number").first()
    if latest is not None and latest.kind != kind:
        raise ModelVersionError(f"model name {name!r} is taken by a model of kind {latest.kind}")
    sha256, description = _checkpoint_checked(checkpoint=checkpoint, kind=kind, shown=shown)
    if latest is not None and latest.checkpoint_sha256 == sha256:
        if default:
            model_version_make_default(version=latest)
        return latest  # the same file again: no new version
    number = 1 if latest is None else latest.number + 1
    with transaction.atomic():
        version = ModelVersion.objects.create(
            name=ModelVersion.version_name(family=name, number=number), family=name, number=number, kind=kind,
            checkpoint_path=(source or str(Path(checkpoint).resolve()))[:500], checkpoint_sha256=sha256,
            description=description[:300])
        if default or (latest is not None and latest.is_default) or \
                not ModelVersion.objects.filter(is_default=True).exists():
            model_version_make_default(version=version)
        audit_log(user_id=user_id, obj=version, action=ADDITION,
                  message=f"registered {kind} checkpoint sha256 {sha256[:12]} as version {number} of {name!r}")
    return version


def model_version_make_default(*, version: ModelVersion) -> None:
    with transaction.atomic():
        ModelVersion.objects.filter(is_default=True).exclude(pk=version.pk).update(is_default=False)
        version.is_default = True
        version.save(update_fields=["is_default"])


def _checkpoint_checked(*, checkpoint: Path, kind: str, shown: str) -> tuple[str, str]:
    """The checkpoint's sha256 and description, once it is in the store and has loaded; ModelVersionError,
    naming the file as `shown` (never the store's own path, never a loader's advice), when it is not a whole
    checkpoint of `kind`."""
    tags = {ModelVersion.Kind.PLANET: CHECKPOINT_FORMAT, ModelVersion.Kind.KNN: KNN_FORMAT}
    not_one = f"{shown} is not a {kind} checkpoint (python -m planet_engine " \
              f"{'knn-build' if kind == ModelVersion.Kind.KNN else 'train'} writes one)"
    try:
        # A checkpoint of the asked kind, read before it is copied anywhere: the store holds checkpoints only.
        payload, _ = read_file(checkpoint)
        tag = payload.get("format") if isinstance(payload, dict) else None
        if tag != tags[kind]:
            other = next((other for other, its_tag in tags.items() if its_tag == tag), None)
            raise ModelVersionError(not_one if other is None else
                                    f"{shown} is a {other} checkpoint, not a {kind} one (its kind is {other})")
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


def model_version_register_upload(*, name: str, upload: UploadedFile, default: bool = False,
                                  kind: str = ModelVersion.Kind.PLANET, user_id: int | None = None) -> ModelVersion:
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
        return model_version_register(name=name, checkpoint=path, default=default, kind=kind,
                                      source=f"upload:{shown}", shown=shown, user_id=user_id)


def _planet_checked(checkpoint: Path) -> tuple[str, str]:
    """A PlaNet checkpoint's sha256 and description, after loading it and exporting its ONNX graph."""
    loaded = load_checkpoint(checkpoint)
    # The CPU workers run the network as ONNX: export it now, and refuse a model whose graph does not compute
    # what the checkpoint computes on game images.
    onnx_export(loaded, checkpoint, images=_parity_images(), threads=settings.INFERENCE_THREADS or None)
    config = loaded.config
    return loaded.sha256, (f"{config['backbone']}, {len(loaded.cells)} cells, trained on "
                           f"{Path(str(config['manifest'])).parent.name or config['manifest']}")


def _parity_images() -> list[Image.Image]:
    images = []
    for panorama in Panorama.objects.order_by("pk")[:PARITY_IMAGES]:
        try:
            images.append(image_open(key=panorama_image_key(panorama=panorama)))
        except FileNotFoundError:
            continue  # a set whose images were removed: the random inputs still check the graph
    return images


def _knn_checked(checkpoint: Path) -> tuple[str, str]:
    """A kNN checkpoint's sha256 and description, after loading it once (it runs in torch: no graph)."""
    loaded = load_knn(checkpoint)
    payload = loaded.payload
    return loaded.sha256, (f"kNN retrieval (k={loaded.k}), {payload['backbone']}, "
                           f"{len(loaded.gallery.latitudes)} gallery photos of "
                           f"{Path(payload['manifest']).parent.name or payload['manifest']}")


def round_predict(*, round_id: int) -> None:
    """Run the model on the round's served pixels, with other waiting rounds of the same model in one batch.
    One query reads the batch (this round first), one more the views of its multi-view rounds; each guess is
    one conditional UPDATE in its own transaction."""
    same_model = Round.objects.filter(pk=round_id).values("game__model_version_id")
    rounds = list(Round.objects.select_related("panorama", "game__model_version")
                  .filter(model_status=Round.ModelStatus.PENDING, served_at__isnull=False,
                          game__model_version_id=Subquery(same_model))
                  .annotate(other=Case(When(pk=round_id, then=Value(0)), default=Value(1)))
                  .order_by("other", "served_at")[:settings.INFERENCE_BATCH])
    if not rounds or rounds[0].pk != round_id:
        return  # answered already (another worker's batch, or a retry)
    version = rounds[0].game.model_version
    if version.kind == ModelVersion.Kind.EXTERNAL:
        _external_guesses_commit(rounds=rounds, version=version)
        return
    model = version_predictor(version=version)
    if model.checkpoint_sha256 != version.checkpoint_sha256:
        raise CheckpointError(f"the checkpoint of {version.name!r} changed since it was registered "
                              f"(sha256 {model.checkpoint_sha256[:12]}, registered {version.checkpoint_sha256[:12]})")
    # Each round's guess comes from exactly the views its players were served (several for a multi-view place:
    # the mean of their log-probabilities); all the batch's images share the forward passes.
    groups = [[image_open(key=key) for key in keys] for keys in round_view_keys(rounds=rounds)]
    predictions = model.predict_groups(groups, top_k=TOP_K)
    for game_round, prediction in zip(rounds, predictions):
        _guess_commit(round=game_round, prediction=prediction)


def _guess_commit(*, round: Round, prediction: Prediction) -> None:
    """Store the guess unless the round was answered meanwhile (the UPDATE's condition), then say so."""
    cells = [{"token": c.token, "probability": c.probability, "latitude": c.latitude, "longitude": c.longitude,
              "polygon": c.polygon} for c in prediction.top_cells]
    _answer_store(round=round, latitude=prediction.latitude, longitude=prediction.longitude, cells=cells,
                  sha256=prediction.checkpoint_sha256, view=ModelView.SERVED)


def _external_guesses_commit(*, rounds: Sequence[Round], version: ModelVersion) -> None:
    """An external model's guesses are its stored predictions (made on the original files); a panorama it has
    none for leaves the round without a model guess."""
    stored = {p.panorama_id: p for p in ExternalPrediction.objects.filter(
        model_version=version, panorama_id__in=[r.panorama_id for r in rounds])}
    for game_round in rounds:
        row = stored.get(game_round.panorama_id)
        if row is None:
            round_mark_model_unavailable(round_id=game_round.pk, error=f"model {version.name!r} has no prediction "
                                                                      "for this panorama")
            continue
        _answer_store(round=game_round, latitude=row.latitude, longitude=row.longitude, cells=row.top_cells,
                      sha256=version.checkpoint_sha256, view=ModelView.ORIGINAL)


def _answer_store(*, round: Round, latitude: float, longitude: float, cells: list[dict[str, object]], sha256: str,
                  view: str) -> None:
    # In a transaction of its own, not autocommit: a worker killed while its UPDATE waits on the round's row lock
    # must leave nothing behind (its task goes to another worker), and autocommit would commit it server-side.
    with transaction.atomic():
        stored = Round.objects.filter(pk=round.pk, model_status=Round.ModelStatus.PENDING).update(
            model_status=Round.ModelStatus.READY, model_latitude=latitude, model_longitude=longitude,
            model_top_cells=cells, model_checkpoint_sha256=sha256, model_view=view, model_ready_at=timezone.now())
        if stored:
            game_event_send_on_commit(game_public_id=round.game.public_id, event="model_ready",
                                      round_number=round.number)


def round_mark_model_unavailable(*, round_id: int, error: str) -> None:
    """After the last retry: the round still plays, and is left out of the benchmark."""
    logger.error("model guess unavailable for round %s: %s", round_id, error)
    Round.objects.filter(pk=round_id, model_status=Round.ModelStatus.PENDING).update(
        model_status=Round.ModelStatus.UNAVAILABLE, model_error=error[:2000])


def default_model_preload() -> None:
    """Load the default model when a worker process starts, so the first round does not pay for it."""
    version = ModelVersion.objects.filter(is_default=True).first()
    if version is None:
        logger.warning("no default model version registered: `python manage.py register_model`")
        return
    if version.kind == ModelVersion.Kind.EXTERNAL:
        return  # answers from stored rows: nothing to load
    try:
        version_predictor(version=version)
    except CheckpointError as error:
        logger.error("default model %r cannot be loaded; its rounds will be marked unavailable: %s",
                     version.name, error)
