from django.apps import AppConfig


class PanoramasConfig(AppConfig):
    name = "gameserver.panoramas"
