"""The game's URLconf plus /bench/bare: the baseline of bench/load.py's throughput ratio (see load_settings.py)."""

from django.http import HttpRequest, JsonResponse
from django.urls import path

from gameserver.urls import urlpatterns as game_urlpatterns


def bare(request: HttpRequest) -> JsonResponse:
    # No database, session or template work: what any Django JSON view costs at least on this server.
    return JsonResponse({"ok": True})


urlpatterns = [path("bench/bare", bare), *game_urlpatterns]
