"""Which panoramas a game draws: those it may play against its model and goal, the ones the player has not been
shown first (exposures)."""

from __future__ import annotations

import hashlib
import hmac
import random
from datetime import date, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from gameserver.games.errors import GameError
from gameserver.games.models import DailySet, Exposure, Game
from gameserver.inference.models import ModelVersion
from gameserver.panoramas.models import PanoramaSet
from planet_engine.countries import country_codes


def panoramas_playable(*, panorama_set: PanoramaSet, model_version: ModelVersion, goal: str) -> list[int]:
    """The set's panoramas a game against `model_version` may draw: an external model answers only where it has
    a prediction; a country streak plays only panoramas whose country a player can name."""
    panoramas = panorama_set.panoramas.filter(retired=False)
    if model_version.kind == ModelVersion.Kind.EXTERNAL:  # it can answer only where it has a prediction
        panoramas = panoramas.filter(external_predictions__model_version=model_version)
    if goal == Game.Goal.COUNTRY:
        panoramas = panoramas.filter(country__in=country_codes())
    return sorted(panoramas.values_list("id", flat=True))


def panoramas_draw(
    *,
    panorama_ids: list[int],
    rounds: int,
    owner_key: str,
    owner_browser: str,
    panorama_set: PanoramaSet,
    rng: random.Random | None,
    owner_address: str = "",
) -> list[int]:
    """`rounds` panoramas without repeats: those the player has not been shown first; only when the set has too
    few others, the ones they have seen or the daily challenge's places of today and yesterday (whose answers
    are being passed around)."""
    seen = set(
        exposures_of(player_key=owner_key, browser_key=owner_browser, address_key=owner_address)
        .filter(panorama__panorama_set=panorama_set)
        .values_list("panorama_id", flat=True)
    )
    seen |= set(daily_places_recent(panorama_set=panorama_set))
    draw = rng or random.SystemRandom()
    unseen = [pid for pid in panorama_ids if pid not in seen]
    drawn = draw.sample(unseen, min(rounds, len(unseen)))
    if len(drawn) < rounds:
        drawn += draw.sample([pid for pid in panorama_ids if pid in seen], rounds - len(drawn))
    return drawn


DAILY_ROUNDS = 5


def daily_today() -> date:
    return timezone.now().date()  # UTC (USE_TZ, TIME_ZONE UTC)


def daily_set(*, day: date | None = None) -> PanoramaSet:
    """The day's set (today's by default): the one its first try recorded (daily_set_pin), else the one a try
    would take now: PLANET_DAILY_SET, else the first published set by name with enough panoramas for a challenge."""
    pinned = DailySet.objects.filter(day=day or daily_today()).select_related("panorama_set").first()
    if pinned is not None:
        return pinned.panorama_set
    sets = PanoramaSet.objects.filter(status=PanoramaSet.Status.PUBLISHED).order_by("name")
    chosen = (
        sets.filter(name=settings.PLANET_DAILY_SET)
        if settings.PLANET_DAILY_SET
        else sets.annotate(size=Count("panoramas", filter=Q(panoramas__retired=False))).filter(size__gte=DAILY_ROUNDS)
    ).first()
    if chosen is None:
        raise GameError("no panorama set for the daily challenge: an admin must import one")
    return chosen


def daily_set_pin(*, day: date) -> PanoramaSet:
    """The day's set, recorded on its first try so the rest of the day's tries draw from the same one."""
    panorama_set = daily_set(day=day)
    try:
        with transaction.atomic():
            DailySet.objects.get_or_create(day=day, defaults={"panorama_set": panorama_set})
    except IntegrityError:  # another first try recorded the day a moment before
        pass
    return DailySet.objects.select_related("panorama_set").get(day=day).panorama_set


def daily_panorama_ids(*, panorama_set: PanoramaSet, day: date) -> list[int]:
    """The day's panoramas, in order: the same for everyone."""
    ids = sorted(panorama_set.panoramas.filter(retired=False).values_list("id", flat=True))
    if len(ids) < DAILY_ROUNDS:
        raise GameError(
            f"set {panorama_set.name} has {len(ids)} panoramas, fewer than the {DAILY_ROUNDS} a daily challenge plays"
        )
    seed = hmac.new(
        settings.SECRET_KEY.encode(),
        f"planet-arena daily {day.isoformat()} {panorama_set.name}".encode(),
        hashlib.sha256,
    ).hexdigest()
    return random.Random(seed).sample(ids, DAILY_ROUNDS)


def daily_places_recent(*, panorama_set: PanoramaSet) -> list[int]:
    """The daily challenge's places of today and yesterday that belong to `panorama_set`: they stay out of
    ordinary games for the day and the next."""
    today = daily_today()
    places = []
    for day in (today, today - timedelta(days=1)):
        try:
            if daily_set(day=day).pk == panorama_set.pk:
                places += daily_panorama_ids(panorama_set=panorama_set, day=day)
        except GameError:
            continue
    return places


def exposures_of(*, player_key: str, browser_key: str, address_key: str = "") -> QuerySet[Exposure]:
    """The panoramas shown to this account, this browser or (a guest's: `address_key`, trust.address_key) any
    guest at this address: a fresh cookie jar is a new guest, not a new person."""
    match = Q(player_key=player_key)
    if browser_key:
        match |= Q(browser_key=browser_key)
    if address_key:
        match |= Q(address_key=address_key)
    return Exposure.objects.filter(match)
