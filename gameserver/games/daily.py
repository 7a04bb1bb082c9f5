"""The daily challenge: the same rounds for everyone each UTC day, one try each, a leaderboard with PlaNet on it.

The day's panoramas are drawn from the daily set (PLANET_DAILY_SET, default the first set by name; recorded by
the day's first try, so a set imported later that day changes nothing until tomorrow) by a
generator seeded with an HMAC of the date under SECRET_KEY, so every player, server and restart agrees on them
and nobody without the secret can work them out from the public manifest ahead of the day (default set: the first by
name with at least five panoramas). Each player's try is their
own game (its own encodings, clock and model guesses), marked with the day; a second try by the same account
or browser returns the first. Daily rounds stay out of the benchmark (`daily_challenge`): their answers can be
passed around, so the day's places also stay out of ordinary games that day and the next (drawing.py), and the
leaderboard ranks accounts only. The draw itself lives in drawing.py, which ordinary games read too.
"""

from __future__ import annotations

from datetime import date

from django.db import IntegrityError
from django.db.models import Q

from gameserver.games.drawing import DAILY_ROUNDS, daily_panorama_ids, daily_set, daily_set_pin, daily_today
from gameserver.games.models import Game
from gameserver.games.services import game_create

__all__ = ["DAILY_ROUNDS", "daily_game", "daily_panorama_ids", "daily_set", "daily_set_pin", "daily_today", "daily_try"]


def daily_try(*, player_key: str, browser_key: str = "", day: date | None = None) -> Game | None:
    """The try this account or browser already started at the day's challenge, if any."""
    tried = Q(owner_key=player_key) | (Q(players__browser_key=browser_key) if browser_key else Q(pk__in=[]))
    return Game.objects.filter(tried, daily=day or daily_today()).first()


def daily_game(*, player_key: str, browser_key: str = "", name: str = "", day: date | None = None) -> Game:
    """This player's try at the day's challenge: the one they started, else a new one."""
    day = day or daily_today()
    existing = daily_try(player_key=player_key, browser_key=browser_key, day=day)
    if existing is not None:
        return existing
    panorama_set = daily_set_pin(day=day)
    try:
        return game_create(
            panorama_set=panorama_set,
            owner_key=player_key,
            owner_name=name,
            owner_browser=browser_key,
            rounds=DAILY_ROUNDS,
            panorama_ids=daily_panorama_ids(panorama_set=panorama_set, day=day),
            daily=day,
        )
    except IntegrityError:  # the same player's second request, a moment later: one try
        return Game.objects.get(owner_key=player_key, daily=day)
