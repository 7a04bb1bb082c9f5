from django.apps import AppConfig


class GamesConfig(AppConfig):
    name = "gameserver.games"
