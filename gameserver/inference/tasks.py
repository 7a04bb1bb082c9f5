"""Celery tasks: thin, take ids, own their retries. Queue: inference (a GPU worker in production)."""

from __future__ import annotations

from celery import shared_task
from celery.signals import worker_process_init
from kombu.exceptions import OperationalError

from gameserver.inference.services import default_model_preload, round_mark_model_unavailable, round_predict
from planet_engine.checkpoint import CheckpointError


@shared_task(bind=True, acks_late=True, max_retries=3, default_retry_delay=1)
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


@worker_process_init.connect
def _preload(**kwargs: object) -> None:
    default_model_preload()
