"""The inference worker's process hook (found by Celery's autodiscovery of tasks modules): the default model is
loaded when a worker process starts, so the first round does not pay for it. The model's guess on a round is the
games app's task (games/tasks.py)."""

from __future__ import annotations

from celery.signals import worker_process_init

from gameserver.inference.services import default_model_preload


@worker_process_init.connect
def _preload(**kwargs: object) -> None:
    default_model_preload()
