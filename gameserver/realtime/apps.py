from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "gameserver.realtime"
