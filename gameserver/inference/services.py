"""The model's guess on a round, from the exact image bytes the players are served."""

from __future__ import annotations

import functools
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from gameserver.games.models import Round
from gameserver.panoramas.services import panorama_image_path
from gameserver.realtime.events import game_event_send_on_commit
from planet_engine.predict import Predictor

logger = logging.getLogger(__name__)
TOP_K = 10


@functools.lru_cache(maxsize=1)
def predictor() -> Predictor:
    """One Predictor per process (a worker loads the model once, not per task); CheckpointError if bad."""
    return Predictor(settings.PLANET_CHECKPOINT)


def round_predict(*, round_id: int) -> Round:
    """Run the model on the round's served pixels and commit its guess; a no-op once it is recorded."""
    game_round = Round.objects.select_related("panorama").get(pk=round_id)
    if game_round.model_status != Round.ModelStatus.PENDING:
        return game_round
    prediction = predictor().predict([panorama_image_path(panorama=game_round.panorama)], top_k=TOP_K)[0]
    cells = [{"token": c.token, "probability": c.probability, "latitude": c.latitude, "longitude": c.longitude,
              "polygon": c.polygon} for c in prediction.top_cells]
    with transaction.atomic():
        locked = Round.objects.select_for_update(of=("self",)).select_related("game").get(pk=round_id)
        if locked.model_status == Round.ModelStatus.PENDING:
            locked.model_status = Round.ModelStatus.READY
            locked.model_latitude, locked.model_longitude = prediction.latitude, prediction.longitude
            locked.model_top_cells = cells
            locked.model_checkpoint_sha256 = prediction.checkpoint_sha256
            locked.model_ready_at = timezone.now()
            locked.save()
            game_event_send_on_commit(game_public_id=locked.game.public_id, event="model_ready",
                                      round_number=locked.number)
    return locked


def round_mark_model_unavailable(*, round_id: int, error: str) -> None:
    """After the last retry: the round still plays, and is left out of the benchmark."""
    logger.error("model guess unavailable for round %s: %s", round_id, error)
    Round.objects.filter(pk=round_id, model_status=Round.ModelStatus.PENDING).update(
        model_status=Round.ModelStatus.UNAVAILABLE, model_error=error[:2000])
