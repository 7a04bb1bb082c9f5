"""The Celery app: `celery -A gameserver worker -Q inference` in production."""

import os
from typing import Any

from celery import Celery
from celery.signals import task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gameserver.settings")
app = Celery("gameserver")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
def database_connections_checked(**_: Any) -> None:
    """Before each task, drop a kept connection (settings.CELERY_DB_REUSE_MAX) that no longer answers (PostgreSQL
    restarted, the network dropped it while the worker was idle): the task reconnects instead of failing on its
    first query. One `SELECT 1` round trip, as Django's CONN_HEALTH_CHECKS makes per request."""
    from django.db import connections

    for connection in connections.all(initialized_only=True):
        if connection.connection is not None and not connection.is_usable():
            connection.close()
