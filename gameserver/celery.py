"""The Celery app: `celery -A gameserver worker -Q inference` in production."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gameserver.settings")
app = Celery("gameserver")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
