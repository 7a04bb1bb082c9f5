"""Encodings of a round's view made before its first serve, so the serve request does not pay for them.

serving.py gives every serve its own encoding (a random crop, scale and JPEG quality), which is what keeps a
served image out of any lookup table; making it took ~15% of a web process's CPU under load, on the request
that starts the round. With settings.PLANET_SERVING_STOCK = N > 0, a game's creation asks a background task
(tasks.py, on the inference worker's queue) to stock N encodings of each image its rounds will serve; a first
serve takes one under a row lock and deletes its row in the same transaction, so each stocked encoding is served
exactly once, and encodes on the spot when none is stocked (no worker yet, a burst, a fixed NMPZ view). What a
player gets is unchanged: one round's own bytes, never another round's."""

from __future__ import annotations

import hashlib

from django.conf import settings

from gameserver.games import serving
from gameserver.games.models import Game, Round, StockedView
from gameserver.games.rules import round_fixed_view, round_view_source
from gameserver.objectstore import object_read, object_write
from gameserver.panoramas.models import Panorama
from gameserver.panoramas.storage import served_view_key
from gameserver.public_ids import new_public_id


def view_write(*, source: str, equirectangular: bool) -> tuple[str, str, float]:
    """A fresh encoding of the stored image `source` (serving.py), stored under a random name:
    (name, sha256, the degrees a 360° panorama was turned)."""
    view, turn = serving.view_encode(data=object_read(key=source), equirectangular=equirectangular)
    name = f"{new_public_id()}.jpg"
    object_write(key=served_view_key(name=name), data=view)
    return name, hashlib.sha256(view).hexdigest(), turn


def view_take(*, source: str, equirectangular: bool) -> tuple[str, str, float]:
    """Inside a first serve's transaction: a stocked encoding of `source`, its row deleted so that no other round
    can take it (skip_locked: a concurrent serve takes the next one), or a fresh one when none is stocked."""
    if settings.PLANET_SERVING_STOCK <= 0:
        return view_write(source=source, equirectangular=equirectangular)
    stocked = (
        StockedView.objects.select_for_update(skip_locked=True)
        .filter(source_key=source, equirectangular=equirectangular)
        .order_by("pk")
        .first()
    )
    if stocked is None:
        return view_write(source=source, equirectangular=equirectangular)
    stocked.delete()
    return stocked.view_name, stocked.view_sha256, stocked.turn


def game_view_sources(*, game: Game) -> list[tuple[str, bool]]:
    """(source, equirectangular) of each round of a new game that a stocked encoding can serve: a photo or a
    360° panorama; not a multi-view place (its views are encoded together) nor an NMPZ render (its source is
    made at the serve)."""
    sources = []
    for game_round in Round.objects.filter(game=game).select_related("panorama", "game"):
        kind = game_round.panorama.kind
        if kind == Panorama.Kind.MULTIVIEW or round_fixed_view(round=game_round):
            continue
        sources.append((round_view_source(round=game_round), kind == Panorama.Kind.EQUIRECTANGULAR))
    return sources


def game_stock_refill(*, game_id: int) -> int:
    """Stock encodings for every round of the game that a stocked encoding can serve; how many were made."""
    game = Game.objects.filter(pk=game_id).first()
    if game is None:
        return 0  # deleted meanwhile
    return sum(
        stock_refill(source=source, equirectangular=equirectangular)
        for source, equirectangular in game_view_sources(game=game)
    )


def stock_refill(*, source: str, equirectangular: bool) -> int:
    """Encode `source` until PLANET_SERVING_STOCK encodings wait for it; how many were made. Two refills at once
    may stock a few more: harmless, each is still served once."""
    missing = (
        settings.PLANET_SERVING_STOCK
        - StockedView.objects.filter(source_key=source, equirectangular=equirectangular).count()
    )
    for _ in range(missing):
        name, sha256, turn = view_write(source=source, equirectangular=equirectangular)
        StockedView.objects.create(
            source_key=source, equirectangular=equirectangular, view_name=name, view_sha256=sha256, turn=turn
        )
    return max(0, missing)
