"""The browser game's HTML pages. Each is a shell: the page's script reads everything through the JSON API,
so no page ever renders a round's location into HTML."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET

from gameserver.games.models import Game
from gameserver.stats.datasheet import RECORDED, RETENTION, WHO_SEES, datasheet

# The first-play notice (templates/_research_notice.html): the datasheet's own words.
RESEARCH = {"recorded": RECORDED, "retention": RETENTION, "who_sees": WHO_SEES}


@require_GET
@ensure_csrf_cookie
def lobby(request: HttpRequest) -> HttpResponse:
    return render(request, "lobby.html", {"page": "lobby", "research": RESEARCH})


@require_GET
@ensure_csrf_cookie
def play(request: HttpRequest, game_id: str) -> HttpResponse:
    if not Game.objects.filter(public_id=game_id).exists():
        raise Http404("no such game")
    return render(
        request,
        "play.html",
        {
            "page": "play",
            "game_id": game_id,
            "research": RESEARCH,
            "tile_url": settings.PLANET_MAP_TILE_URL,
            "tile_attribution": settings.PLANET_MAP_TILE_ATTRIBUTION,
        },
    )


@require_GET
def datasheet_page(request: HttpRequest) -> HttpResponse:
    """The datasheet of the round exports (what is recorded, why, for whom), as the first-play notice links it."""
    return render(
        request,
        "datasheet.html",
        {"page": "datasheet", "text": datasheet(rows=0, filters={}, fmt="csv").split("\n", 4)[4]},
    )


@require_GET
def stats(request: HttpRequest) -> HttpResponse:
    return render(request, "stats.html", {"page": "stats"})
