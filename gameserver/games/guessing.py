"""Game logic (writes) for a guess: lock a player's guess on a served round and score it (a country streak's
right guess adds its next round: streaks.py), record the exposure of the panorama's truth, and show the player
the outcome of the round (reveal.py). Games, seats and serving a round are in services.py.

Events are sent on commit, so the room never hears of a guess that was rolled back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict

from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, F, OuterRef, QuerySet, Subquery
from django.utils import timezone

from gameserver.events import game_event_send_on_commit
from gameserver.games.drawing import exposures_of, panoramas_draw, panoramas_playable
from gameserver.games.errors import GameError
from gameserver.games.models import Exposure, Game, Guess, Player, Round
from gameserver.games.reveal import round_reveal, round_waiting
from gameserver.games.rules import (
    SUSPICIOUS_RUN_KM,
    SUSPICIOUS_RUN_OF,
    guess_country_right,
    guess_suspicion,
    round_closes_at,
    round_model_km,
    round_model_point,
    round_revealed,
)
from gameserver.games.selectors import player_require
from planet_engine.countries import country_codes
from planet_engine.geo import distance_km, geoscore, validate_coordinates


@dataclass(frozen=True)
class GuessResult:
    guess: Guess
    created: bool  # False: a repeated submission, answered with the first one
    round: Round  # the round as the guess was locked on it
    shown: dict[str, object]  # what the player sees now: the reveal, or who has guessed so far


def guess_submit(
    *,
    round: Round,
    player_key: str,
    latitude: float | None,
    longitude: float | None,
    timed_out: bool = False,
    browser_key: str = "",
    country: str | None = None,
    address_key: str = "",
) -> GuessResult:
    """Lock a player's guess (or timeout) on a served round, score it, and show the player the outcome;
    repeating it changes nothing. A fresh guess costs five statements: the seat, the locked round (with the
    room's counts, whether the player has seen the panorama and their recent near-exact guesses, all as
    subqueries of the one row lock), the insert and the exposure. A country streak's round takes `country`
    instead of a point; a right one adds the streak's next round in the same transaction."""
    streak = round.game.goal == Game.Goal.COUNTRY
    country = _guess_check(streak=streak, latitude=latitude, longitude=longitude, country=country, timed_out=timed_out)
    seat = player_require(game=round.game, player_key=player_key)
    try:
        with transaction.atomic():
            # Row lock: the model's result and this guess are ordered, so model_committed_first is exact.
            current = _round_locked(
                round=round, player_key=player_key, browser_key=browser_key, address_key=address_key
            )
            if current.served_at is None:
                raise GameError("this round has not started")
            now = timezone.now()
            if now > round_closes_at(round=current):
                timed_out = True
            scored = _score_country(current, timed_out) if streak else _score(current, latitude, longitude, timed_out)
            seconds = (now - current.served_at).total_seconds()
            # A second submission of the same seat fails here, on the one-guess-per-player constraint.
            guess = Guess.objects.create(
                round=current,
                player_key=player_key,
                **scored,
                seen_before=current.seen,  # type: ignore[attr-defined]
                country=None if scored["timed_out"] else country,
                suspicion=guess_suspicion(
                    km=scored["km"],
                    seconds=seconds,
                    recent_exact=current.recent_exact or 0,  # type: ignore[attr-defined]
                ),
            )
            # The truth will be shown to this seat (now, or at the room's reveal): the exposure is recorded here,
            # with the guess, so that reading a round writes nothing.
            _exposure_record(round=current, player_key=player_key, browser_key=browser_key, address_key=address_key)
            if streak and guess_country_right(guess=guess, panorama=current.panorama):
                _streak_extend(round=current, player_key=player_key, browser_key=browser_key, address_key=address_key)
            guesses, players = (current.locked or 0) + 1, current.seats  # type: ignore[attr-defined]
            game_event_send_on_commit(
                game_public_id=current.game.public_id,
                event="player_guessed",
                round_number=current.number,
                name=seat.name,
                guesses=guesses,
                players=players,
            )
            if guesses >= players:
                # Every seat has locked: the reveal, for everyone at once.
                game_event_send_on_commit(
                    game_public_id=current.game.public_id, event="round_complete", round_number=current.number
                )
    except IntegrityError:  # already locked (a repeat, or a concurrent duplicate): answer with the first guess
        return _result(
            Guess.objects.get(round=round, player_key=player_key),
            created=False,
            round=round,
            browser_key=browser_key,
            address_key=address_key,
        )
    return GuessResult(
        guess=guess,
        created=True,
        round=current,
        shown=round_outcome_show(
            round=current, guess=guess, browser_key=browser_key, seats=players, locked=guesses, address_key=address_key
        ),
    )


def _guess_check(
    *, streak: bool, latitude: float | None, longitude: float | None, country: str | None, timed_out: bool
) -> str | None:
    """The guess's country (a streak round's, upper case), or None, once the body is one its round takes: a
    point for a distance round, a known ISO 3166-1 alpha-2 code for a country streak's. GameError otherwise,
    before anything is written."""
    if streak and (latitude is not None or longitude is not None):
        raise GameError('a country-streak round takes a country, not a point: {"country": "FR"}')
    if not streak and country is not None:
        raise GameError("this round takes latitude and longitude, not a country")
    if timed_out:
        return None
    if streak:
        if (code := (country or "").strip().upper()) not in country_codes():
            raise GameError(
                'a country-streak guess names a country the map knows by its ISO 3166-1 alpha-2 code: {"country": "FR"}'
            )
        return code
    if latitude is None or longitude is None:
        raise GameError("a guess needs latitude and longitude")
    try:
        validate_coordinates(latitude, longitude)
    except ValueError as error:
        raise GameError(str(error)) from None
    return None


def _streak_extend(*, round: Round, player_key: str, browser_key: str, address_key: str) -> None:
    """A right country: the streak's next round, drawn from the set's panoramas this game has not played (those
    the player has not been shown first). None left: the streak ends unbroken, with nothing more to name."""
    game = round.game
    if round.number != game.round_count:  # only the streak's latest round grows it
        return
    played = set(game.rounds.values_list("panorama_id", flat=True))
    playable = panoramas_playable(panorama_set=game.panorama_set, model_version=game.model_version, goal=game.goal)
    left = [pid for pid in playable if pid not in played]
    if not left:
        return
    drawn = panoramas_draw(
        panorama_ids=left,
        rounds=1,
        owner_key=player_key,
        owner_browser=browser_key,
        owner_address=address_key,
        panorama_set=game.panorama_set,
        rng=None,
    )
    Round.objects.create(game=game, number=round.number + 1, panorama_id=drawn[0])
    Game.objects.filter(pk=game.pk).update(round_count=F("round_count") + 1)


def _round_locked(*, round: Round, player_key: str, browser_key: str, address_key: str) -> Round:
    """The round, row-locked, annotated with `seats`, `locked` (guesses so far), `seen` (the player has been
    shown this panorama in another round) and `recent_exact` (near-exact guesses among their last few)."""

    def count(rows: QuerySet[Any], by: str) -> Subquery:
        return Subquery(rows.values(by).annotate(n=Count("pk")).values("n")[:1])

    recent = Guess.objects.filter(player_key=player_key).order_by("-guessed_at", "-pk").values("pk")
    return (
        Round.objects.select_for_update(of=("self",))
        .select_related("panorama__panorama_set", "game")
        .annotate(
            seats=count(Player.objects.filter(game=OuterRef("game")), "game"),
            locked=count(Guess.objects.filter(round=OuterRef("pk")), "round"),
            seen=Exists(
                exposures_of(player_key=player_key, browser_key=browser_key, address_key=address_key)
                .filter(panorama=OuterRef("panorama"))
                .exclude(round=OuterRef("pk"))
            ),
            recent_exact=count(
                Guess.objects.filter(pk__in=recent[: SUSPICIOUS_RUN_OF - 1], km__lt=SUSPICIOUS_RUN_KM), "player_key"
            ),
        )
        .get(pk=round.pk)
    )


def _result(guess: Guess, *, created: bool, round: Round, browser_key: str, address_key: str) -> GuessResult:
    _exposure_record(round=round, player_key=guess.player_key, browser_key=browser_key, address_key=address_key)
    return GuessResult(
        guess=guess,
        created=created,
        round=round,
        shown=round_outcome_show(round=round, guess=guess, browser_key=browser_key, address_key=address_key),
    )


class _Scored(TypedDict):
    latitude: float | None
    longitude: float | None
    timed_out: bool
    km: float | None
    points: float
    model_km: float | None
    model_points: float | None
    model_committed_first: bool


def _score(round: Round, latitude: float | None, longitude: float | None, timed_out: bool) -> _Scored:
    truth = (round.panorama.latitude, round.panorama.longitude)
    human_km = None if timed_out or latitude is None or longitude is None else distance_km(latitude, longitude, *truth)
    model_km = round_model_km(round=round)
    return {
        "latitude": None if timed_out else latitude,
        "longitude": None if timed_out else longitude,
        "timed_out": timed_out,
        "km": human_km,
        "points": 0.0 if human_km is None else float(geoscore(human_km)),
        "model_km": model_km,
        "model_points": None if model_km is None else float(geoscore(model_km)),
        "model_committed_first": model_km is not None,
    }


def _score_country(round: Round, timed_out: bool) -> _Scored:
    """A country-streak guess has no point, distance or points (nor has the model's side): right or wrong is
    rules.guess_country_right. Whether the model had answered first is still recorded."""
    return {
        "latitude": None,
        "longitude": None,
        "timed_out": timed_out,
        "km": None,
        "points": 0.0,
        "model_km": None,
        "model_points": None,
        "model_committed_first": round_model_point(round=round) is not None,
    }


def round_outcome_show(
    *,
    round: Round,
    guess: Guess,
    browser_key: str = "",
    seats: int | None = None,
    locked: int | None = None,
    address_key: str = "",
) -> dict[str, object]:
    """What a player who has locked `guess` may see of the round now: the whole reveal once the round is
    revealed (rules.round_revealed); before that, their own guess and who has guessed. Writes nothing (the
    exposure was recorded when the guess locked). `seats` and `locked`: the room's counts when the caller
    already has them."""
    if seats is None or locked is None:
        seats, locked = round.game.players.count(), round.guesses.count()
    if not round_revealed(round=round, seats=seats, locked=locked, now=timezone.now()):
        return round_waiting(round=round, guess=guess, seats=seats, locked=locked)
    return round_reveal(round=round, guess=guess, alone=seats == 1)


def _exposure_record(*, round: Round, player_key: str, browser_key: str, address_key: str) -> None:
    """The panorama's truth goes to this seat once its round is revealed: an exposure, by account, browser and keyed
    address. Recorded when the guess locks (a little before a room's reveal: conservative for other games' rounds;
    trust.guess_standings ignores a round's own exposures)."""
    Exposure.objects.bulk_create(
        [
            Exposure(
                panorama_id=round.panorama_id,
                player_key=player_key,
                browser_key=browser_key,
                address_key=address_key,
                round=round,
            )
        ],
        ignore_conflicts=True,
    )
