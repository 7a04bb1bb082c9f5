"""Celery tasks of the game: thin, take ids, own their retries, on the inference worker's queue
(settings.CELERY_TASK_ROUTES), which every deployment runs: the model's guess on a round, and stocking a new
game's encodings."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.db import transaction
from kombu.exceptions import OperationalError

from gameserver.games.model_guess import round_mark_model_unavailable, round_predict
from gameserver.games.serving_stock import game_stock_refill
from planet_engine.errors import CheckpointError

logger = logging.getLogger(__name__)


# Registered under the name it had in the inference app, where it lived first: messages queued before a deploy
# still find it, and its route (settings.CELERY_TASK_ROUTES) and the workers' log lines keep their name.
@shared_task(
    name="gameserver.inference.tasks.predict_round", bind=True, acks_late=True, max_retries=3, default_retry_delay=1
)
def predict_round(self, round_id: int) -> None:  # type: ignore[no-untyped-def]
    try:
        round_predict(round_id=round_id)
    except CheckpointError as error:
        # A missing, corrupt or replaced model does not heal by retrying.
        round_mark_model_unavailable(round_id=round_id, error=str(error))
    except Exception as error:
        if self.request.retries >= self.max_retries or self.request.is_eager:
            round_mark_model_unavailable(round_id=round_id, error=repr(error))
        else:
            raise self.retry(exc=error) from error


def predict_round_enqueue(*, round_id: int) -> None:
    """Ask a worker for a served round's model guess (on commit). A broker that cannot be reached (Redis
    restarting) leaves the round playable, its model guess marked unavailable, instead of failing the request."""
    try:
        predict_round.delay(round_id)
    except OperationalError as error:
        round_mark_model_unavailable(round_id=round_id, error=f"the task queue cannot be reached: {error}")


@shared_task(ignore_result=True)
def stock_game_views(game_id: int) -> None:
    game_stock_refill(game_id=game_id)


def game_views_stock_on_commit(*, game_id: int) -> None:
    """Once the new game is committed, ask for its rounds' encodings: one message, the worker reads the rest. A
    broker that cannot be reached only means its serves encode on the spot, as with no stock."""
    if settings.PLANET_SERVING_STOCK <= 0:
        return

    def enqueue() -> None:
        try:
            stock_game_views.delay(game_id)
        except OperationalError:
            logger.warning("task queue unreachable: no encodings stocked for game %s", game_id)

    transaction.on_commit(enqueue)
