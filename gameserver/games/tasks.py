"""Celery tasks of the game: thin, take ids, on the inference worker's queue (settings.CELERY_TASK_ROUTES),
which every deployment runs."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.db import transaction
from kombu.exceptions import OperationalError

from gameserver.games.serving_stock import game_stock_refill

logger = logging.getLogger(__name__)


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
