from django.apps import AppConfig


class InferenceConfig(AppConfig):
    name = "gameserver.inference"

    def ready(self) -> None:
        # Binds the project's Celery app as the current one, so shared tasks enqueue on its broker from
        # Django processes (web server, management commands), and `celery -A gameserver` finds it too.
        import gameserver.celery  # noqa: F401
        from gameserver.inference.leaks import versions_places
        from gameserver.panoramas.leaks import versions_places_provide

        versions_places_provide(versions_places)  # each import is checked against every registered model version
