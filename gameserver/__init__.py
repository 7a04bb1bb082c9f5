"""PlaNet Arena's Django project.

The Celery app is bound when Django loads the inference app (InferenceConfig.ready), not here, so that the
pure modules (gameserver.stats.benchmark) import without Django."""
