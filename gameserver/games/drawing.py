"""Which panoramas a game draws: those it may play against its model and goal, the ones the player has not been
shown first (exposures)."""

from __future__ import annotations

import random

from django.db.models import Q, QuerySet

from gameserver.games.models import Exposure, Game
from gameserver.inference.models import ModelVersion
from gameserver.panoramas.models import PanoramaSet
from planet_engine.countries import country_codes


def panoramas_playable(*, panorama_set: PanoramaSet, model_version: ModelVersion, goal: str) -> list[int]:
    """The set's panoramas a game against `model_version` may draw: an external model answers only where it has
    a prediction; a country streak plays only panoramas whose country a player can name."""
    panoramas = panorama_set.panoramas.all()
    if model_version.kind == ModelVersion.Kind.EXTERNAL:  # it can answer only where it has a prediction
        panoramas = panoramas.filter(external_predictions__model_version=model_version)
    if goal == Game.Goal.COUNTRY:
        panoramas = panoramas.filter(country__in=country_codes())
    return sorted(panoramas.values_list("id", flat=True))


def panoramas_draw(*, panorama_ids: list[int], rounds: int, owner_key: str, owner_browser: str, panorama_set: PanoramaSet,
          rng: random.Random | None) -> list[int]:
    """`rounds` panoramas without repeats, those the player has not been shown first."""
    seen = set(exposures_of(player_key=owner_key, browser_key=owner_browser)
               .filter(panorama__panorama_set=panorama_set).values_list("panorama_id", flat=True))
    draw = rng or random.SystemRandom()
    unseen = [pid for pid in panorama_ids if pid not in seen]
    drawn = draw.sample(unseen, min(rounds, len(unseen)))
    if len(drawn) < rounds:
        drawn += draw.sample([pid for pid in panorama_ids if pid in seen], rounds - len(drawn))
    return drawn


def exposures_of(*, player_key: str, browser_key: str) -> QuerySet[Exposure]:
    """The panoramas shown to this account or this browser."""
    match = Q(player_key=player_key) | (Q(browser_key=browser_key) if browser_key else Q(pk__in=[]))
    return Exposure.objects.filter(match)
