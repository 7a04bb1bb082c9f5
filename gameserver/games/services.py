"""Game logic: create a game, serve a round (and ask the model on the same pixels), lock a guess, reveal.

Enqueueing happens on commit, so a worker never looks for a round that is not yet in the database.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.db import IntegrityError, transaction
from django.utils import timezone

from gameserver.games.models import Game, Guess, Player, Round
from gameserver.inference.models import ModelVersion
from gameserver.panoramas.models import Panorama, PanoramaSet
from gameserver.panoramas.perspective import panorama_fixed_view_path
from gameserver.panoramas.services import panorama_image_path
from gameserver.realtime.events import game_event_send_on_commit
from planet_engine.geo import distance_km, geoscore, head_to_head, threshold_outcomes, validate_coordinates

MAX_ROUNDS = 50
MAX_PLAYERS = 16
MAX_NAME_LENGTH = 40
MAX_TIME_LIMIT_S = 3600
# A guess sent a moment after the deadline (network latency) still counts as sent in time.
DEADLINE_GRACE = timedelta(seconds=2)
# A round with no time limit closes this long after it was served: its truth may then enter the benchmark and
# its exports, so a guess arriving later counts as a timeout (no one can guess with the answer in hand).
ROUND_OPEN_MAX = timedelta(hours=24)


class GameError(ValueError):
    """A request the game cannot honour; the message is safe to show the player."""


class NotFound(GameError):
    pass


class NotAPlayer(GameError):
    """The request comes from someone who has not joined the game."""


@dataclass(frozen=True)
class GuessResult:
    guess: Guess
    created: bool  # False: a repeated submission, answered with the first one


def game_create(*, panorama_set: PanoramaSet, owner_key: str, owner_name: str = "", rounds: int = 5,
                time_limit_s: int | None = None, mode: str = Game.Mode.MOVE,
                model_version: ModelVersion | None = None, rng: random.Random | None = None) -> Game:
    """A game of `rounds` panoramas drawn without repeats, against `model_version` (else the default model);
    its creator is its first player."""
    if model_version is None:
        model_version = ModelVersion.objects.filter(is_default=True).first()
        if model_version is None:
            raise GameError("no model is registered to play against: python manage.py register_model")
    if not 1 <= rounds <= MAX_ROUNDS:
        raise GameError(f"rounds must be between 1 and {MAX_ROUNDS}")
    if time_limit_s is not None and not 5 <= time_limit_s <= MAX_TIME_LIMIT_S:
        raise GameError(f"time limit must be between 5 and {MAX_TIME_LIMIT_S} seconds, or none")
    if mode not in Game.Mode.values:
        raise GameError(f"mode must be one of {', '.join(Game.Mode.values)}")
    panorama_ids = list(panorama_set.panoramas.values_list("id", flat=True))
    if len(panorama_ids) < rounds:
        raise GameError(f"set {panorama_set.name} has {len(panorama_ids)} panoramas, fewer than {rounds} rounds")
    drawn = (rng or random.SystemRandom()).sample(panorama_ids, rounds)  # without repeats
    with transaction.atomic():
        game = Game.objects.create(panorama_set=panorama_set, owner_key=owner_key, round_count=rounds,
                                   time_limit_s=time_limit_s, mode=mode, model_version=model_version)
        Round.objects.bulk_create(Round(game=game, number=n, panorama_id=pid) for n, pid in enumerate(drawn, 1))
        Player.objects.create(game=game, player_key=owner_key, name=_player_name(owner_name, owner_key))
    return game


def game_join(*, game: Game, player_key: str, name: str = "") -> Player:
    """Take a seat in a game's room to play its rounds too; joining twice returns the same seat."""
    seat = Player.objects.filter(game=game, player_key=player_key).first()
    if seat:
        return seat
    with transaction.atomic():
        # Locks the game row, so two joins cannot both take the last seat.
        Game.objects.select_for_update().get(pk=game.pk)
        if game.players.count() >= MAX_PLAYERS:
            raise GameError(f"this room is full ({MAX_PLAYERS} players)")
        seat = Player.objects.create(game=game, player_key=player_key, name=_player_name(name, player_key))
        game_event_send_on_commit(game_public_id=game.public_id, event="player_joined", round_number=0,
                                  name=seat.name, players=game.players.count())
    return seat


def player_require(*, game: Game, player_key: str) -> Player:
    seat = Player.objects.filter(game=game, player_key=player_key).first()
    if seat is None:
        raise NotAPlayer("join this game before playing it")
    return seat


def _player_name(name: str, player_key: str) -> str:
    name = " ".join(str(name).split())  # no control characters or runs of blanks
    if len(name) > MAX_NAME_LENGTH:
        raise GameError(f"a player name has at most {MAX_NAME_LENGTH} characters")
    return name or f"guest-{player_key.rsplit(':', 1)[-1][:4]}"


def round_serve(*, round: Round, player_key: str) -> Round:
    """Start the round's clock on first serve and ask the model for its guess on the same pixels."""
    from gameserver.inference.tasks import predict_round_enqueue

    player_require(game=round.game, player_key=player_key)
    with transaction.atomic():
        locked = Round.objects.select_for_update(of=("self",)).select_related("game", "panorama").get(pk=round.pk)
        if locked.served_at is None:
            now = timezone.now()
            locked.served_at = now
            if locked.game.time_limit_s:
                locked.deadline = now + timedelta(seconds=locked.game.time_limit_s)
            if locked.panorama.kind == Panorama.Kind.EQUIRECTANGULAR:
                locked.view_heading = locked.panorama.heading or 0.0
            locked.view_sha256 = (hashlib.sha256(round_view_path(round=locked).read_bytes()).hexdigest()
                                  if round_fixed_view(round=locked) else locked.panorama.content_sha256)
            locked.save(update_fields=["served_at", "deadline", "view_sha256", "view_heading"])
            transaction.on_commit(lambda: predict_round_enqueue(round_id=locked.pk))
            game_event_send_on_commit(game_public_id=locked.game.public_id, event="round_started",
                                      round_number=locked.number)
    return locked


def round_closes_at(*, round: Round) -> datetime:
    """When a served round stops taking guesses: its deadline (and grace), else ROUND_OPEN_MAX after serving."""
    return round.deadline + DEADLINE_GRACE if round.deadline else round.served_at + ROUND_OPEN_MAX


def round_fixed_view(*, round: Round) -> bool:
    """A panorama in a no-move-pan-zoom game is served as the flat render of its opening view."""
    return round.panorama.kind == Panorama.Kind.EQUIRECTANGULAR and round.game.mode == Game.Mode.NMPZ


def round_view_path(*, round: Round) -> Path:
    """The exact image a served round shows players and the model."""
    if round_fixed_view(round=round):
        return panorama_fixed_view_path(panorama=round.panorama, heading_deg=round.view_heading or 0.0)
    return panorama_image_path(panorama=round.panorama)


def guess_submit(*, round: Round, player_key: str, latitude: float | None, longitude: float | None,
                 timed_out: bool = False) -> GuessResult:
    """Lock a player's guess (or timeout) on a served round and score it; repeating it changes nothing."""
    if not timed_out:
        if latitude is None or longitude is None:
            raise GameError("a guess needs latitude and longitude")
        validate_coordinates(latitude, longitude)
    seat = player_require(game=round.game, player_key=player_key)
    existing = Guess.objects.filter(round=round, player_key=player_key).first()
    if existing:
        return GuessResult(existing, created=False)
    try:
        with transaction.atomic():
            # Row lock: the model's result and this guess are ordered, so model_committed_first is exact.
            current = Round.objects.select_for_update(of=("self",)).select_related("panorama", "game").get(pk=round.pk)
            if current.served_at is None:
                raise GameError("this round has not started")
            if timezone.now() > round_closes_at(round=current):
                timed_out = True
            guess = Guess.objects.create(round=current, player_key=player_key, **_score(current, latitude,
                                         longitude, timed_out))
            guesses, players = current.guesses.count(), current.game.players.count()
            game_event_send_on_commit(game_public_id=current.game.public_id, event="player_guessed",
                                      round_number=current.number, name=seat.name, guesses=guesses,
                                      players=players)
            if guesses >= players:
                game_event_send_on_commit(game_public_id=current.game.public_id, event="round_complete",
                                          round_number=current.number)
    except IntegrityError:  # a concurrent duplicate submission won the race: answer with its guess
        return GuessResult(Guess.objects.get(round=round, player_key=player_key), created=False)
    return GuessResult(guess, created=True)


def _score(round: Round, latitude: float | None, longitude: float | None, timed_out: bool) -> dict[str, object]:
    truth = (round.panorama.latitude, round.panorama.longitude)
    human_km = None if timed_out else distance_km(latitude, longitude, *truth)
    model_ready = round.model_status == Round.ModelStatus.READY
    model_km = distance_km(round.model_latitude, round.model_longitude, *truth) if model_ready else None
    return {
        "latitude": None if timed_out else latitude, "longitude": None if timed_out else longitude,
        "timed_out": timed_out, "km": human_km, "points": 0.0 if human_km is None else geoscore(human_km),
        "model_km": model_km, "model_points": None if model_km is None else geoscore(model_km),
        "model_committed_first": model_ready,
    }


def round_reveal(*, round: Round, guess: Guess) -> dict[str, object]:
    """Everything shown after a player's guess is locked: truth, both guesses, errors, winners, cells."""
    panorama = round.panorama
    human_km = math.inf if guess.km is None else guess.km
    result: dict[str, object] = {
        "round": round.public_id, "number": round.number,
        "truth": {"latitude": panorama.latitude, "longitude": panorama.longitude, "country": panorama.country,
                  "continent": panorama.continent},
        "human": {"latitude": guess.latitude, "longitude": guess.longitude, "timed_out": guess.timed_out,
                  "km": guess.km, "points": round_points(guess.points)},
        "model": {"status": round.model_status},
        "attribution": panorama.attribution or panorama.panorama_set.attribution,
        "licence": panorama.licence or panorama.panorama_set.licence,
        # The other players of the room who have locked their guess on this round.
        "opponents": [
            {"name": name, "latitude": other.latitude, "longitude": other.longitude, "timed_out": other.timed_out,
             "km": other.km, "points": round_points(other.points)}
            for other, name in _opponent_guesses(round=round, player_key=guess.player_key)
        ],
    }
    model_km = guess.model_km
    if model_km is None and round.model_status == Round.ModelStatus.READY:
        # The model answered after this guess was locked: shown, but not counted in the benchmark.
        model_km = distance_km(round.model_latitude, round.model_longitude, panorama.latitude, panorama.longitude)
    if model_km is not None:
        result["model"] = {
            "status": round.model_status, "latitude": round.model_latitude, "longitude": round.model_longitude,
            "km": model_km, "points": round_points(geoscore(model_km)),
            "top_cells": round.model_top_cells, "checkpoint_sha256": round.model_checkpoint_sha256,
        }
        result["winners"] = threshold_outcomes(human_km, model_km)
        result["head_to_head"] = head_to_head(human_km, model_km)
    result["counted"] = guess.model_committed_first and not panorama.near_training_photo
    return result


def round_points(points: float) -> int:
    # Half up, as GeoGuessr shows points (the builtin round() is half-to-even).
    return int(math.floor(points + 0.5))


def _opponent_guesses(*, round: Round, player_key: str) -> list[tuple[Guess, str]]:
    names = dict(round.game.players.values_list("player_key", "name"))
    others = round.guesses.exclude(player_key=player_key).order_by("guessed_at", "pk")
    return [(other, names.get(other.player_key, "?")) for other in others]
