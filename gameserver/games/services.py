"""Game logic (writes): create a game, join it, serve a round (and ask the model on the same pixels), lock a
guess. Reads, the reveal included, are in selectors.py; the rules of a round in rules.py.

Enqueueing happens on commit, so a worker never looks for a round that is not yet in the database.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from gameserver.games.errors import GameError
from gameserver.games.models import Game, Guess, Player, Round
from gameserver.games.rules import round_closes_at, round_fixed_view, round_model_point, round_view_path
from gameserver.games.selectors import player_require
from gameserver.inference.models import ModelVersion
from gameserver.inference.tasks import predict_round_enqueue
from gameserver.panoramas.models import Panorama, PanoramaSet
from gameserver.realtime.events import game_event_send_on_commit
from planet_engine.geo import distance_km, geoscore, validate_coordinates

MAX_ROUNDS = 50
MAX_PLAYERS = 16
MAX_NAME_LENGTH = 40
MAX_TIME_LIMIT_S = 3600

@dataclass(frozen=True)
class GuessResult:
    guess: Guess
    created: bool  # False: a repeated submission, answered with the first one
    round: Round  # the round as the guess was locked on it (the reveal is built from it)


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


def _player_name(name: str, player_key: str) -> str:
    name = " ".join(str(name).split())  # no control characters or runs of blanks
    if len(name) > MAX_NAME_LENGTH:
        raise GameError(f"a player name has at most {MAX_NAME_LENGTH} characters")
    return name or f"guest-{player_key.rsplit(':', 1)[-1][:4]}"


def round_serve(*, round: Round, player_key: str) -> Round:
    """Start the round's clock on first serve and ask the model for its guess on the same pixels."""
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


def guess_submit(*, round: Round, player_key: str, latitude: float | None, longitude: float | None,
                 timed_out: bool = False) -> GuessResult:
    """Lock a player's guess (or timeout) on a served round and score it; repeating it changes nothing."""
    if not timed_out:
        if latitude is None or longitude is None:
            raise GameError("a guess needs latitude and longitude")
        try:
            validate_coordinates(latitude, longitude)
        except ValueError as error:
            raise GameError(str(error)) from None
    seat = player_require(game=round.game, player_key=player_key)
    existing = Guess.objects.filter(round=round, player_key=player_key).first()
    if existing:
        return GuessResult(existing, created=False, round=round)
    try:
        with transaction.atomic():
            # Row lock: the model's result and this guess are ordered, so model_committed_first is exact.
            current = (Round.objects.select_for_update(of=("self",))
                       .select_related("panorama__panorama_set", "game").get(pk=round.pk))
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
        return GuessResult(Guess.objects.get(round=round, player_key=player_key), created=False, round=round)
    return GuessResult(guess, created=True, round=current)


def _score(round: Round, latitude: float | None, longitude: float | None, timed_out: bool) -> dict[str, object]:
    truth = (round.panorama.latitude, round.panorama.longitude)
    human_km = None if timed_out or latitude is None or longitude is None else distance_km(latitude, longitude, *truth)
    model_point = round_model_point(round=round)
    model_ready = model_point is not None
    model_km = distance_km(*model_point, *truth) if model_point is not None else None
    return {
        "latitude": None if timed_out else latitude, "longitude": None if timed_out else longitude,
        "timed_out": timed_out, "km": human_km, "points": 0.0 if human_km is None else geoscore(human_km),
        "model_km": model_km, "model_points": None if model_km is None else geoscore(model_km),
        "model_committed_first": model_ready,
    }
