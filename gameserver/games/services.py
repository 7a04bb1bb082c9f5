"""Game logic (writes): create a game, play again as a room, join it, serve a round (and ask the model on the
same pixels). Locking a guess and showing its outcome are in guessing.py; reads in selectors.py; the rules of a
round in rules.py; which panoramas a game draws in drawing.py.

Enqueueing happens on commit, so a worker never looks for a round that is not yet in the database.
"""

from __future__ import annotations

import random
import unicodedata
from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone

from gameserver.events import game_event_send_on_commit
from gameserver.games.drawing import panoramas_draw, panoramas_playable
from gameserver.games.errors import GameError, GameStarted, WaitForHost
from gameserver.games.models import Game, Player, Round, RoundView
from gameserver.games.rules import (
    default_seat_name,
    round_first_serve_allowed,
    round_fixed_view,
    round_view_source,
    round_views_to_serve,
)
from gameserver.games.selectors import player_require
from gameserver.games.serving_stock import view_take, view_write
from gameserver.games.tasks import game_views_stock_on_commit, predict_round_enqueue
from gameserver.games.throttle import rate_limits_hit
from gameserver.inference.models import ModelVersion
from gameserver.panoramas.models import Panorama, PanoramaSet
from gameserver.panoramas.storage import stored_image_key

MAX_ROUNDS = 50
MAX_PLAYERS = 16
MAX_NAME_LENGTH = 40
MAX_TIME_LIMIT_S = 3600
# Dropped from names: control (Cc), format (Cf: bidi overrides and isolates U+202A-U+202E, U+2066-U+2069, marks
# U+200E/F, zero-width characters) and surrogate (Cs) characters, which reorder, hide or break the text around.
INVISIBLE_CATEGORIES = frozenset(("Cc", "Cf", "Cs"))


def game_create(
    *,
    panorama_set: PanoramaSet,
    owner_key: str,
    owner_name: str = "",
    owner_browser: str = "",
    rounds: int = 5,
    time_limit_s: int | None = None,
    mode: str = Game.Mode.MOVE,
    model_version: ModelVersion | None = None,
    rng: random.Random | None = None,
    panorama_ids: list[int] | None = None,
    daily: date | None = None,
    goal: str = Game.Goal.DISTANCE,
    owner_address: str = "",
) -> Game:
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
        raise GameError(
            f"model {model_version.name} has predictions for {len(available)} panoramas of set "
            f"{panorama_set.name}, fewer than {rounds} rounds"
            if model_version.kind == ModelVersion.Kind.EXTERNAL
            else f"set {panorama_set.name} has {len(available)} panoramas, fewer than {rounds} rounds"
        )
    drawn = (
        panorama_ids
        if panorama_ids is not None
        else panoramas_draw(
            panorama_ids=available,
            rounds=rounds,
            owner_key=owner_key,
            owner_browser=owner_browser,
            owner_address=owner_address,
            panorama_set=panorama_set,
            rng=rng,
        )
    )
    with transaction.atomic():
        game = Game.objects.create(
            panorama_set=panorama_set,
            owner_key=owner_key,
            round_count=rounds,
            time_limit_s=time_limit_s,
            mode=mode,
            model_version=model_version,
            daily=daily,
            goal=goal,
        )
        Round.objects.bulk_create(Round(game=game, number=n, panorama_id=pid) for n, pid in enumerate(drawn, 1))
        Player.objects.create(
            game=game, player_key=owner_key, browser_key=owner_browser, name=_player_name(owner_name, owner_key)
        )
        game_views_stock_on_commit(game_id=game.pk)
    return game


def game_rematch(*, game: Game, player_key: str, browser_key: str = "", name: str = "") -> Game:
    """ "Play again" for a room: the first seat to ask creates the next game (same set, model, rounds, limit and
    mode) and takes its first seat; everyone else who asks is seated in that same game (while it is joinable).
    The room hears of it (a `rematch` event naming the new game, never a location)."""
    player_require(game=game, player_key=player_key)
    with transaction.atomic():
        # No join in the locking query: PostgreSQL refuses FOR UPDATE on the nullable side of an outer join.
        locked = Game.objects.select_for_update().get(pk=game.pk)
        if locked.rematch is None:
            locked.rematch = game_create(
                panorama_set=locked.panorama_set,
                owner_key=player_key,
                owner_name=name,
                owner_browser=browser_key,
                rounds=locked.round_count,
                time_limit_s=locked.time_limit_s,
                mode=locked.mode,
                model_version=locked.model_version,
                goal=locked.goal,
            )
            locked.save(update_fields=["rematch"])
            game_event_send_on_commit(
                game_public_id=locked.public_id, event="rematch", round_number=0, game=locked.rematch.public_id
            )
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
        seat = Player.objects.create(
            game=game, player_key=player_key, browser_key=browser_key, name=_player_name(name, player_key)
        )
        game_event_send_on_commit(
            game_public_id=game.public_id,
            event="player_joined",
            round_number=0,
            name=seat.name,
            players=game.players.count(),
        )
    return seat


def _player_name(name: str, player_key: str) -> str:
    # Blanks (tabs and newlines included) become one space; other invisible characters go.
    name = " ".join(
        "".join(
            character
            for character in str(name)
            if character.isspace() or unicodedata.category(character) not in INVISIBLE_CATEGORIES
        ).split()
    )
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
            if not round_first_serve_allowed(
                game=locked.game, seats=locked.game.players.count(), player_key=player_key
            ):
                raise WaitForHost()
            if address is not None:  # under the game's row lock: only a real first serve is counted
                rate_limits_hit(checks=[("predictions", address), ("game_predictions", locked.game.public_id)])
            if locked.panorama.kind == Panorama.Kind.MULTIVIEW:
                _views_serve(round=locked)
            else:
                if locked.panorama.kind == Panorama.Kind.EQUIRECTANGULAR:
                    locked.view_heading = locked.panorama.heading or 0.0
                equirectangular = locked.panorama.kind == Panorama.Kind.EQUIRECTANGULAR and not round_fixed_view(
                    round=locked
                )
                locked.view_name, locked.view_sha256, turn = view_take(
                    source=round_view_source(round=locked), equirectangular=equirectangular
                )
                if equirectangular:  # the served panorama was turned: it opens where the manifest's heading was
                    locked.view_heading = ((locked.view_heading or 0.0) + turn) % 360.0
            # The clock starts once the view exists: the response that shows it leaves right after.
            now = timezone.now()
            locked.served_at = now
            if locked.game.time_limit_s:
                locked.deadline = now + timedelta(seconds=locked.game.time_limit_s)
            locked.save(update_fields=["served_at", "deadline", "view_sha256", "view_heading", "view_name"])
            transaction.on_commit(lambda: predict_round_enqueue(round_id=locked.pk))
            game_event_send_on_commit(
                game_public_id=locked.game.public_id, event="round_started", round_number=locked.number
            )
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
