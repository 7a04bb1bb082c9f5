"""PlaNet Arena's Django project."""

from gameserver.celery import app as celery_app

__all__ = ["celery_app"]
