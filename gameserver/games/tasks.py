"""Celery tasks of the game: thin, on the inference worker's queue (settings.CELERY_TASK_ROUTES), which every
deployment runs."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import transaction
from kombu.exceptions import OperationalError

from gameserver.games.models import Game
from gameserver.games.serving_stock import game_view_sources, stock_refill

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def refill_view_stock(source: str, equirectangular: bool) -> None:
    stock_refill(source=source, equirectangular=equirectangular)


def view_stock_refill_on_commit(*, game: Game) -> None:
    """Once the new game is committed, ask for its rounds' encodings. A broker that cannot be reached only means
    the serves encode on the spot, as they would with no stock."""
    sources = game_view_sources(game=game)

    def enqueue() -> None:
        try:
            for source, equirectangular in sources:
                refill_view_stock.delay(source, equirectangular)
        except OperationalError:
            logger.warning("task queue unreachable: no encodings stocked for game %s", game.public_id)

    transaction.on_commit(enqueue)
