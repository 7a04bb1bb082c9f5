"""The model's guess on a round, from the exact image bytes the players are served.

A task predicts its own round together with the other rounds of the same model that are waiting (up to
INFERENCE_BATCH), so concurrent requests share one forward pass; every round's guess is committed in its own short
transaction, and a round already answered (by another worker, or a retry) is left as it is. The model itself (one
predictor per checkpoint per worker process) is the inference app's.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.db.models import Case, Subquery, Value, When
from django.utils import timezone

from gameserver.events import game_event_send_on_commit
from gameserver.games.models import Round
from gameserver.games.rules import round_view_keys
from gameserver.inference.models import ExternalPrediction, ModelVersion, ModelView
from gameserver.inference.services import version_predictor
from gameserver.panoramas.storage import image_open
from planet_engine.errors import CheckpointError

if TYPE_CHECKING:
    from planet_engine.predict import Prediction  # a type only: importing predict imports torch

logger = logging.getLogger(__name__)
TOP_K = 10


def round_predict(*, round_id: int) -> None:
    """Run the model on the round's served pixels, with other waiting rounds of the same model in one batch.
    One query reads the batch (this round first), one more the views of its multi-view rounds; each guess is
    one conditional UPDATE in its own transaction."""
    same_model = Round.objects.filter(pk=round_id).values("game__model_version_id")
    rounds = list(
        Round.objects.select_related("panorama", "game__model_version")
        .filter(
            model_status=Round.ModelStatus.PENDING, served_at__isnull=False, game__model_version_id=Subquery(same_model)
        )
        .annotate(other=Case(When(pk=round_id, then=Value(0)), default=Value(1)))
        .order_by("other", "served_at")[: settings.INFERENCE_BATCH]
    )
    if not rounds or rounds[0].pk != round_id:
        return  # answered already (another worker's batch, or a retry)
    version = rounds[0].game.model_version
    if version.kind == ModelVersion.Kind.EXTERNAL:
        _external_guesses_commit(rounds=rounds, version=version)
        return
    model = version_predictor(version=version)
    if model.checkpoint_sha256 != version.checkpoint_sha256:
        raise CheckpointError(
            f"the checkpoint of {version.name!r} changed since it was registered "
            f"(sha256 {model.checkpoint_sha256[:12]}, registered {version.checkpoint_sha256[:12]})"
        )
    # Each round's guess comes from exactly the views its players were served (several for a multi-view place:
    # the mean of their log-probabilities); all the batch's images share the forward passes.
    groups = [[image_open(key=key) for key in keys] for keys in round_view_keys(rounds=rounds)]
    predictions = model.predict_groups(groups, top_k=TOP_K)
    for game_round, prediction in zip(rounds, predictions, strict=True):
        _guess_commit(round=game_round, prediction=prediction)


def _guess_commit(*, round: Round, prediction: Prediction) -> None:
    """Store the guess unless the round was answered meanwhile (the UPDATE's condition), then say so."""
    cells = [
        {
            "token": c.token,
            "probability": c.probability,
            "latitude": c.latitude,
            "longitude": c.longitude,
            "polygon": c.polygon,
        }
        for c in prediction.top_cells
    ]
    _answer_store(
        round=round,
        latitude=prediction.latitude,
        longitude=prediction.longitude,
        cells=cells,
        sha256=prediction.checkpoint_sha256,
        view=ModelView.SERVED,
    )


def _external_guesses_commit(*, rounds: Sequence[Round], version: ModelVersion) -> None:
    """An external model's guesses are its stored predictions (made on the original files); a panorama it has
    none for leaves the round without a model guess."""
    stored = {
        p.panorama_id: p
        for p in ExternalPrediction.objects.filter(
            model_version=version, panorama_id__in=[r.panorama_id for r in rounds]
        )
    }
    for game_round in rounds:
        row = stored.get(game_round.panorama_id)
        if row is None:
            round_mark_model_unavailable(
                round_id=game_round.pk, error=f"model {version.name!r} has no prediction for this panorama"
            )
            continue
        _answer_store(
            round=game_round,
            latitude=row.latitude,
            longitude=row.longitude,
            cells=row.top_cells,
            sha256=version.checkpoint_sha256,
            view=ModelView.ORIGINAL,
        )


def _answer_store(
    *, round: Round, latitude: float, longitude: float, cells: list[dict[str, object]], sha256: str, view: str
) -> None:
    # In a transaction of its own, not autocommit: a worker killed while its UPDATE waits on the round's row lock
    # must leave nothing behind (its task goes to another worker), and autocommit would commit it server-side.
    with transaction.atomic():
        stored = Round.objects.filter(pk=round.pk, model_status=Round.ModelStatus.PENDING).update(
            model_status=Round.ModelStatus.READY,
            model_latitude=latitude,
            model_longitude=longitude,
            model_top_cells=cells,
            model_checkpoint_sha256=sha256,
            model_view=view,
            model_ready_at=timezone.now(),
        )
        if stored:
            game_event_send_on_commit(
                game_public_id=round.game.public_id, event="model_ready", round_number=round.number
            )


def round_mark_model_unavailable(*, round_id: int, error: str) -> None:
    """After the last retry: the round still plays, and is left out of the benchmark."""
    logger.error("model guess unavailable for round %s: %s", round_id, error)
    Round.objects.filter(pk=round_id, model_status=Round.ModelStatus.PENDING).update(
        model_status=Round.ModelStatus.UNAVAILABLE, model_error=error[:2000]
    )
