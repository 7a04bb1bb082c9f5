"""Celery tasks: thin, take ids, own their retries. Queue: inference (a GPU worker in production)."""

from __future__ import annotations

from celery import shared_task
from celery.signals import worker_process_init

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
            raise self.retry(exc=error)


@worker_process_init.connect
def _preload(**kwargs: object) -> None:
    default_model_preload()
