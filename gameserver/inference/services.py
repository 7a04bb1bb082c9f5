"""The model's guess on a round, from the exact image bytes the players are served.

A worker loads each model version once per process. A task predicts its own round together with the other
rounds of the same model that are waiting (up to INFERENCE_BATCH), so concurrent requests share one
forward pass; every round's guess is committed in its own short transaction, and a round already answered
(by another worker, or a retry) is left as it is.
"""

from __future__ import annotations

import functools
import logging
import time
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import transaction
from django.db.models import Case, Subquery, Value, When
from django.utils import timezone

from gameserver.games.models import Round
from gameserver.games.rules import round_view_files
from gameserver.inference.models import ModelVersion
from gameserver.panoramas.models import Panorama
from gameserver.panoramas.storage import panorama_image_path
from gameserver.realtime.events import game_event_send_on_commit
from planet_engine.checkpoint import CheckpointError, load_checkpoint
from planet_engine.onnx_export import OnnxParityError, onnx_export
from planet_engine.predict import Prediction, Predictor

logger = logging.getLogger(__name__)
TOP_K = 10
# Game images the ONNX graph is checked on at registration (with two random inputs).
PARITY_IMAGES = 32


class ModelVersionError(ValueError):
    """A model version that cannot be registered; the message says why."""


@functools.lru_cache(maxsize=4)
def predictor(checkpoint_path: str) -> Predictor:
    """One Predictor per checkpoint per process (GPU when present); CheckpointError if missing or corrupt."""
    started = time.perf_counter()
    loaded = Predictor(checkpoint_path, batch_size=settings.INFERENCE_BATCH, backend=settings.INFERENCE_BACKEND,
                       threads=settings.INFERENCE_THREADS or None)
    logger.info("loaded model %s (sha256 %s) on %s (%s) in %.1f s", checkpoint_path, loaded.checkpoint_sha256[:12],
                loaded.device, loaded.backend, time.perf_counter() - started)
    return loaded


def model_version_register(*, name: str, checkpoint: Path, default: bool = False) -> ModelVersion:
    """Register (or re-register) a checkpoint under a name after loading it once; optionally the default."""
    try:
        validate_slug(name)
    except ValidationError:
        raise ModelVersionError(f"model name {name!r} must be a slug (letters, digits, - and _)") from None
    try:
        loaded = load_checkpoint(checkpoint)
    except CheckpointError as error:
        raise ModelVersionError(str(error)) from None
    # The CPU workers run the network as ONNX: export it now, and refuse a model whose graph does not compute
    # what the checkpoint computes on game images.
    game_images = [panorama_image_path(panorama=p) for p in Panorama.objects.order_by("pk")[:PARITY_IMAGES]]
    try:
        onnx_export(loaded, checkpoint, images=[path for path in game_images if path.is_file()],
                    threads=settings.INFERENCE_THREADS or None)
    except OnnxParityError as error:
        raise ModelVersionError(str(error)) from None
    config = loaded.config
    description = (f"{config['backbone']}, {len(loaded.cells)} cells, trained on "
                   f"{Path(str(config['manifest'])).parent.name or config['manifest']}")[:300]
    with transaction.atomic():
        if default:
            ModelVersion.objects.filter(is_default=True).exclude(name=name).update(is_default=False)
        version, _ = ModelVersion.objects.update_or_create(name=name, defaults={
            "checkpoint_path": str(Path(checkpoint).resolve()), "checkpoint_sha256": loaded.sha256,
            "description": description,
        })
        if default or not ModelVersion.objects.filter(is_default=True).exists():
            version.is_default = True
            version.save(update_fields=["is_default"])
    return version


def round_predict(*, round_id: int) -> None:
    """Run the model on the round's served pixels, with other waiting rounds of the same model in one batch.
    One query reads the batch (this round first), one more the views of its multi-view rounds; each guess is
    one conditional UPDATE."""
    same_model = Round.objects.filter(pk=round_id).values("game__model_version_id")
    rounds = list(Round.objects.select_related("panorama", "game__model_version")
                  .filter(model_status=Round.ModelStatus.PENDING, served_at__isnull=False,
                          game__model_version_id=Subquery(same_model))
                  .annotate(other=Case(When(pk=round_id, then=Value(0)), default=Value(1)))
                  .order_by("other", "served_at")[:settings.INFERENCE_BATCH])
    if not rounds or rounds[0].pk != round_id:
        return  # answered already (another worker's batch, or a retry)
    version = rounds[0].game.model_version
    model = predictor(version.checkpoint_path)
    if model.checkpoint_sha256 != version.checkpoint_sha256:
        raise CheckpointError(f"{version.checkpoint_path} changed since model {version.name!r} was registered "
                              f"(sha256 {model.checkpoint_sha256[:12]}, registered {version.checkpoint_sha256[:12]})")
    # Each round's guess comes from exactly the views its players were served (several for a multi-view place:
    # the mean of their log-probabilities); all the batch's images share the forward passes.
    predictions = model.predict_groups(round_view_files(rounds=rounds), top_k=TOP_K)
    for game_round, prediction in zip(rounds, predictions):
        _guess_commit(round=game_round, prediction=prediction)


def _guess_commit(*, round: Round, prediction: Prediction) -> None:
    """Store the guess unless the round was answered meanwhile (the UPDATE's condition), then say so."""
    cells = [{"token": c.token, "probability": c.probability, "latitude": c.latitude, "longitude": c.longitude,
              "polygon": c.polygon} for c in prediction.top_cells]
    stored = Round.objects.filter(pk=round.pk, model_status=Round.ModelStatus.PENDING).update(
        model_status=Round.ModelStatus.READY, model_latitude=prediction.latitude,
        model_longitude=prediction.longitude, model_top_cells=cells,
        model_checkpoint_sha256=prediction.checkpoint_sha256, model_ready_at=timezone.now())
    if stored:
        game_event_send_on_commit(game_public_id=round.game.public_id, event="model_ready", round_number=round.number)


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
    try:
        predictor(version.checkpoint_path)
    except CheckpointError as error:
        logger.error("default model %r cannot be loaded; its rounds will be marked unavailable: %s",
                     version.name, error)
