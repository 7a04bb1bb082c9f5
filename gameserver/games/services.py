"""Game logic (writes): create a game, join it, serve a round (and ask the model on the same pixels), lock a
guess (a country streak's right guess adds its next round: streaks.py), show a player the outcome of a round.
Reads are in selectors.py; the rules of a round in rules.py; which panoramas a game draws in drawing.py.

Enqueueing happens on commit, so a worker never looks for a round that is not yet in the database.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, TypedDict

from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, F, OuterRef, QuerySet, Subquery
from django.utils import timezone

from gameserver.events import game_event_send_on_commit
from gameserver.games.drawing import exposures_of, panoramas_draw, panoramas_playable
from gameserver.games.errors import GameError, GameStarted, WaitForHost
from gameserver.games.models import Exposure, Game, Guess, Player, Round, RoundView
from gameserver.games.rules import (
    SUSPICIOUS_RUN_KM,
    SUSPICIOUS_RUN_OF,
    default_seat_name,
    guess_country_right,
    guess_suspicion,
    round_closes_at,
    round_first_serve_allowed,
    round_fixed_view,
    round_model_km,
    round_model_point,
    round_revealed,
    round_view_source,
    round_views_to_serve,
)
from gameserver.games.selectors import player_require, round_reveal, round_waiting
from gameserver.games.serving_stock import view_take, view_write
from gameserver.games.tasks import game_views_stock_on_commit
from gameserver.games.throttle import rate_limits_hit
from gameserver.inference.models import ModelVersion
from gameserver.inference.tasks import predict_round_enqueue
from gameserver.panoramas.models import Panorama, PanoramaSet
from gameserver.panoramas.storage import stored_image_key
from planet_engine.countries import country_codes
from planet_engine.geo import distance_km, geoscore, validate_coordinates

MAX_ROUNDS = 50
MAX_PLAYERS = 16
MAX_NAME_LENGTH = 40
MAX_TIME_LIMIT_S = 3600
# Dropped from names: control (Cc), format (Cf: bidi overrides and isolates U+202A-U+202E, U+2066-U+2069, marks
# U+200E/F, zero-width characters) and surrogate (Cs) characters, which reorder, hide or break the text around.
INVISIBLE_CATEGORIES = frozenset(("Cc", "Cf", "Cs"))


@dataclass(frozen=True)
class GuessResult:
    guess: Guess
    created: bool  # False: a repeated submission, answered with the first one
    round: Round  # the round as the guess was locked on it
    shown: dict[str, object]  # what the player sees now: the reveal, or who has guessed so far


def game_create(*, panorama_set: PanoramaSet, owner_key: str, owner_name: str = "", owner_browser: str = "",
                rounds: int = 5, time_limit_s: int | None = None, mode: str = Game.Mode.MOVE,
                model_version: ModelVersion | None = None, rng: random.Random | None = None,
                panorama_ids: list[int] | None = None, daily: date | None = None,
                goal: str = Game.Goal.DISTANCE, owner_address: str = "") -> Game:
    """A game of `rounds` panoramas drawn without repeats, against `model_version` (else the default model; an
    external model's games draw only panoramas it has predictions for); its creator is its first player.
    Panoramas the creator has already been shown are drawn only when the set has too few others; `panorama_ids`
    (a daily challenge's, the same for everyone) are played as given. A country streak (`goal` "country")
    ignores `rounds`: it starts with one round and grows while the player is right (streaks.py)."""
    if model_version is None:
        model_version = ModelVersion.objects.filter(is_default=True).first()
        if model_version is None:
            raise GameError("no model is registered to play against: python manage.py register_model")
    if panorama_set.status == PanoramaSet.Status.RETIRED:
        raise GameError(f"set {panorama_set.name} is retired: it is kept for the benchmark's history, not played")
    if goal not in Game.Goal.values:
        raise GameError(f"goal must be one of {', '.join(Game.Goal.values)}")
    if goal == Game.Goal.COUNTRY:
        rounds = 1
    if not 1 <= rounds <= MAX_ROUNDS:
        raise GameError(f"rounds must be between 1 and {MAX_ROUNDS}")
    if time_limit_s is not None and not 5 <= time_limit_s <= MAX_TIME_LIMIT_S:
        raise GameError(f"time limit must be between 5 and {MAX_TIME_LIMIT_S} seconds, or none")
    if mode not in Game.Mode.values:
        raise GameError(f"mode must be one of {', '.join(Game.Mode.values)}")
    available = panoramas_playable(panorama_set=panorama_set, model_version=model_version, goal=goal)
    if goal == Game.Goal.COUNTRY and not available:
        raise GameError(f"set {panorama_set.name} has no panorama in a country the map can name")
    if len(available) < rounds:
        raise GameError(f"model {model_version.name} has predictions for {len(available)} panoramas of set "
                        f"{panorama_set.name}, fewer than {rounds} rounds"
                        if model_version.kind == ModelVersion.Kind.EXTERNAL else
                        f"set {panorama_set.name} has {len(available)} panoramas, fewer than {rounds} rounds")
    drawn = panorama_ids if panorama_ids is not None else panoramas_draw(
        panorama_ids=available, rounds=rounds, owner_key=owner_key, owner_browser=owner_browser,
        owner_address=owner_address, panorama_set=panorama_set, rng=rng)
    with transaction.atomic():
        game = Game.objects.create(panorama_set=panorama_set, owner_key=owner_key, round_count=rounds,
                                   time_limit_s=time_limit_s, mode=mode, model_version=model_version, daily=daily,
                                   goal=goal)
        Round.objects.bulk_create(Round(game=game, number=n, panorama_id=pid) for n, pid in enumerate(drawn, 1))
        Player.objects.create(game=game, player_key=owner_key, browser_key=owner_browser,
                              name=_player_name(owner_name, owner_key))
        game_views_stock_on_commit(game_id=game.pk)
    return game


def game_rematch(*, game: Game, player_key: str, browser_key: str = "", name: str = "") -> Game:
    """"Play again" for a room: the first seat to ask creates the next game (same set, model, rounds, limit and
    mode) and takes its first seat; everyone else who asks is seated in that same game (while it is joinable).
    The room hears of it (a `rematch` event naming the new game, never a location)."""
    player_require(game=game, player_key=player_key)
    with transaction.atomic():
        # No join in the locking query: PostgreSQL refuses FOR UPDATE on the nullable side of an outer join.
        locked = Game.objects.select_for_update().get(pk=game.pk)
        if locked.rematch is None:
            locked.rematch = game_create(
                panorama_set=locked.panorama_set, owner_key=player_key, owner_name=name, owner_browser=browser_key,
                rounds=locked.round_count, time_limit_s=locked.time_limit_s, mode=locked.mode,
                model_version=locked.model_version, goal=locked.goal)
            locked.save(update_fields=["rematch"])
            game_event_send_on_commit(game_public_id=locked.public_id, event="rematch", round_number=0,
                                      game=locked.rematch.public_id)
            return locked.rematch
    game_join(game=locked.rematch, player_key=player_key, browser_key=browser_key, name=name)
    return locked.rematch


def game_join(*, game: Game, player_key: str, browser_key: str = "", name: str = "") -> Player:
    """Take a seat in a game's room to play its rounds too; joining twice returns the same seat. One account
    and one browser hold at most one seat, and joining closes when the first round is served (a latecomer is
    offered a fresh game on the same set)."""
    seat = Player.objects.filter(game=game, player_key=player_key).first()
    if seat:
        return seat
    if game.goal == Game.Goal.COUNTRY:
        raise GameError("a country streak is played alone: start your own from the lobby")
    if game.daily:  # each try is one player's own; a seat in another's would spend the joiner's try and hold it up
        raise GameError("a daily challenge is played alone: start your own try from the lobby")
    with transaction.atomic():
        # Locks the game row, so two joins cannot both take the last seat, nor join while a round starts.
        Game.objects.select_for_update().get(pk=game.pk)
        if browser_key and game.players.filter(browser_key=browser_key).exists():
            raise GameError("this browser already holds a seat in this game (one person, one seat)")
        if game.rounds.filter(served_at__isnull=False).exists():
            raise GameStarted(game=game)
        if game.players.count() >= MAX_PLAYERS:
            raise GameError(f"this room is full ({MAX_PLAYERS} players)")
        seat = Player.objects.create(game=game, player_key=player_key, browser_key=browser_key,
                                     name=_player_name(name, player_key))
        game_event_send_on_commit(game_public_id=game.public_id, event="player_joined", round_number=0,
                                  name=seat.name, players=game.players.count())
    return seat


def _player_name(name: str, player_key: str) -> str:
    # Blanks (tabs and newlines included) become one space; other invisible characters go.
    name = " ".join("".join(character for character in str(name) if character.isspace()
                            or unicodedata.category(character) not in INVISIBLE_CATEGORIES).split())
    if len(name) > MAX_NAME_LENGTH:
        raise GameError(f"a player name has at most {MAX_NAME_LENGTH} characters")
    # A default name tells the room nothing of the player's key (its session key, for a guest).
    return name or default_seat_name(player_key)


def round_serve(*, round: Round, player_key: str, address: str | None = None) -> Round:
    """Start the round's clock on first serve, encode the round's own view (serving.py) and ask the model for
    its guess on exactly those bytes. A serve asked for from `address` (over the API) is a first serve only within
    the per-address and per-game limits (RateLimited, nothing written); an operator's (None) is not limited."""
    player_require(game=round.game, player_key=player_key)
    with transaction.atomic():
        # Locks the game row too: a join waits for the first serve, then finds the game started.
        Game.objects.select_for_update().get(pk=round.game_id)
        locked = Round.objects.select_for_update(of=("self",)).select_related("game", "panorama").get(pk=round.pk)
        if locked.served_at is None:
            if not round_first_serve_allowed(game=locked.game, seats=locked.game.players.count(),
                                             player_key=player_key):
                raise WaitForHost()
            if address is not None:  # under the game's row lock: only a real first serve is counted
                rate_limits_hit(checks=[("predictions", address), ("game_predictions", locked.game.public_id)])
            if locked.panorama.kind == Panorama.Kind.MULTIVIEW:
                _views_serve(round=locked)
            else:
                if locked.panorama.kind == Panorama.Kind.EQUIRECTANGULAR:
                    locked.view_heading = locked.panorama.heading or 0.0
                equirectangular = locked.panorama.kind == Panorama.Kind.EQUIRECTANGULAR and not round_fixed_view(
                    round=locked)
                locked.view_name, locked.view_sha256, turn = view_take(source=round_view_source(round=locked),
                                                                       equirectangular=equirectangular)
                if equirectangular:  # the served panorama was turned: it opens where the manifest's heading was
                    locked.view_heading = ((locked.view_heading or 0.0) + turn) % 360.0
            # The clock starts once the view exists: the response that shows it leaves right after.
            now = timezone.now()
            locked.served_at = now
            if locked.game.time_limit_s:
                locked.deadline = now + timedelta(seconds=locked.game.time_limit_s)
            locked.save(update_fields=["served_at", "deadline", "view_sha256", "view_heading", "view_name"])
            transaction.on_commit(lambda: predict_round_enqueue(round_id=locked.pk))
            game_event_send_on_commit(game_public_id=locked.game.public_id, event="round_started",
                                      round_number=locked.number)
    return locked


def _views_serve(*, round: Round) -> None:
    """Encode and record each view of a multi-view place the round serves (rules.round_views_to_serve); the
    round's own view fields are its first view's."""
    served = []
    for number, view in enumerate(round_views_to_serve(round=round)):
        name, sha256, _ = view_write(source=stored_image_key(name=view.image_name), equirectangular=False)
        served.append(RoundView(round=round, number=number, panorama_view=view, view_name=name, view_sha256=sha256))
    RoundView.objects.bulk_create(served)
    round.view_name, round.view_sha256 = served[0].view_name, served[0].view_sha256


def guess_submit(*, round: Round, player_key: str, latitude: float | None, longitude: float | None,
                 timed_out: bool = False, browser_key: str = "", country: str | None = None,
                 address_key: str = "") -> GuessResult:
    """Lock a player's guess (or timeout) on a served round, score it, and show the player the outcome;
    repeating it changes nothing. A fresh guess costs five statements: the seat, the locked round (with the
    room's counts, whether the player has seen the panorama and their recent near-exact guesses, all as
    subqueries of the one row lock), the insert and the exposure. A country streak's round takes `country`
    instead of a point; a right one adds the streak's next round in the same transaction."""
    streak = round.game.goal == Game.Goal.COUNTRY
    country = _guess_check(streak=streak, latitude=latitude, longitude=longitude, country=country,
                           timed_out=timed_out)
    seat = player_require(game=round.game, player_key=player_key)
    try:
        with transaction.atomic():
            # Row lock: the model's result and this guess are ordered, so model_committed_first is exact.
            current = _round_locked(round=round, player_key=player_key, browser_key=browser_key,
                                    address_key=address_key)
            if current.served_at is None:
                raise GameError("this round has not started")
            now = timezone.now()
            if now > round_closes_at(round=current):
                timed_out = True
            scored = _score_country(current, timed_out) if streak else _score(current, latitude, longitude, timed_out)
            seconds = (now - current.served_at).total_seconds()
            # A second submission of the same seat fails here, on the one-guess-per-player constraint.
            guess = Guess.objects.create(
                round=current, player_key=player_key, **scored, seen_before=current.seen,  # type: ignore[attr-defined]
                country=None if scored["timed_out"] else country,
                suspicion=guess_suspicion(km=scored["km"], seconds=seconds,
                                          recent_exact=current.recent_exact or 0))  # type: ignore[attr-defined]
            # The truth will be shown to this seat (now, or at the room's reveal): the exposure is recorded here,
            # with the guess, so that reading a round writes nothing.
            _exposure_record(round=current, player_key=player_key, browser_key=browser_key, address_key=address_key)
            if streak and guess_country_right(guess=guess, panorama=current.panorama):
                _streak_extend(round=current, player_key=player_key, browser_key=browser_key,
                               address_key=address_key)
            guesses, players = (current.locked or 0) + 1, current.seats  # type: ignore[attr-defined]
            game_event_send_on_commit(game_public_id=current.game.public_id, event="player_guessed",
                                      round_number=current.number, name=seat.name, guesses=guesses,
                                      players=players)
            if guesses >= players:
                # Every seat has locked: the reveal, for everyone at once.
                game_event_send_on_commit(game_public_id=current.game.public_id, event="round_complete",
                                          round_number=current.number)
    except IntegrityError:  # already locked (a repeat, or a concurrent duplicate): answer with the first guess
        return _result(Guess.objects.get(round=round, player_key=player_key), created=False, round=round,
                       browser_key=browser_key, address_key=address_key)
    return GuessResult(guess=guess, created=True, round=current, shown=round_outcome_show(
        round=current, guess=guess, browser_key=browser_key, seats=players, locked=guesses, address_key=address_key))


def _guess_check(*, streak: bool, latitude: float | None, longitude: float | None, country: str | None,
                 timed_out: bool) -> str | None:
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
            raise GameError('a country-streak guess names a country the map knows by its ISO 3166-1 alpha-2 code: '
                            '{"country": "FR"}')
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
    drawn = panoramas_draw(panorama_ids=left, rounds=1, owner_key=player_key, owner_browser=browser_key,
                  owner_address=address_key, panorama_set=game.panorama_set, rng=None)
    Round.objects.create(game=game, number=round.number + 1, panorama_id=drawn[0])
    Game.objects.filter(pk=game.pk).update(round_count=F("round_count") + 1)


def _round_locked(*, round: Round, player_key: str, browser_key: str, address_key: str) -> Round:
    """The round, row-locked, annotated with `seats`, `locked` (guesses so far), `seen` (the player has been
    shown this panorama in another round) and `recent_exact` (near-exact guesses among their last few)."""
    def count(rows: QuerySet[Any], by: str) -> Subquery:
        return Subquery(rows.values(by).annotate(n=Count("pk")).values("n")[:1])

    recent = Guess.objects.filter(player_key=player_key).order_by("-guessed_at", "-pk").values("pk")
    return (Round.objects.select_for_update(of=("self",)).select_related("panorama__panorama_set", "game")
            .annotate(seats=count(Player.objects.filter(game=OuterRef("game")), "game"),
                      locked=count(Guess.objects.filter(round=OuterRef("pk")), "round"),
                      seen=Exists(exposures_of(player_key=player_key, browser_key=browser_key,
                                               address_key=address_key)
                                  .filter(panorama=OuterRef("panorama")).exclude(round=OuterRef("pk"))),
                      recent_exact=count(Guess.objects.filter(pk__in=recent[:SUSPICIOUS_RUN_OF - 1],
                                                              km__lt=SUSPICIOUS_RUN_KM), "player_key"))
            .get(pk=round.pk))


def _result(guess: Guess, *, created: bool, round: Round, browser_key: str, address_key: str) -> GuessResult:
    _exposure_record(round=round, player_key=guess.player_key, browser_key=browser_key, address_key=address_key)
    return GuessResult(guess=guess, created=created, round=round,
                       shown=round_outcome_show(round=round, guess=guess, browser_key=browser_key,
                                                address_key=address_key))


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
        "latitude": None if timed_out else latitude, "longitude": None if timed_out else longitude,
        "timed_out": timed_out, "km": human_km, "points": 0.0 if human_km is None else float(geoscore(human_km)),
        "model_km": model_km, "model_points": None if model_km is None else float(geoscore(model_km)),
        "model_committed_first": model_km is not None,
    }


def _score_country(round: Round, timed_out: bool) -> _Scored:
    """A country-streak guess has no point, distance or points (nor has the model's side): right or wrong is
    rules.guess_country_right. Whether the model had answered first is still recorded."""
    return {"latitude": None, "longitude": None, "timed_out": timed_out, "km": None, "points": 0.0,
            "model_km": None, "model_points": None,
            "model_committed_first": round_model_point(round=round) is not None}


def round_outcome_show(*, round: Round, guess: Guess, browser_key: str = "", seats: int | None = None,
                       locked: int | None = None, address_key: str = "") -> dict[str, object]:
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
    Exposure.objects.bulk_create([Exposure(panorama_id=round.panorama_id, player_key=player_key,
                                           browser_key=browser_key, address_key=address_key, round=round)],
                                 ignore_conflicts=True)
