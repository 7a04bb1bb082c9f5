"""Reads for the game API: sets, models, games, rounds before the guess, a game's summary and the daily
challenge's board. Nothing here returns a location of a round before the player's guess is locked; what a player
sees after locking one is in reveal.py."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from django.db.models import Count, F, Q
from django.utils import timezone

from gameserver.games.errors import NotAPlayer, NotFound
from gameserver.games.models import Game, Guess, Player, Round, RoundView
from gameserver.games.rules import compass_point, round_fixed_view, round_points, round_revealed
from gameserver.games.streaks import streak_standing
from gameserver.games.trust import AccountHistories, player_flags_cached
from gameserver.inference.models import ModelVersion
from gameserver.panoramas.lifecycle import panorama_sets_visible
from gameserver.panoramas.models import Panorama, PanoramaSet
from gameserver.panoramas.storage import served_view_key
from planet_engine.countries import country_codes


def panorama_set_get(*, name: str, staff: bool = False) -> PanoramaSet:
    """A set a new game may be made of: a published one (staff: or a draft); retired sets are history."""
    try:
        return panorama_sets_visible(staff=staff).get(name=name)
    except PanoramaSet.DoesNotExist:
        raise NotFound(f"no panorama set named {name!r}") from None


def panorama_set_list(*, staff: bool = False) -> list[dict[str, object]]:
    sets = (
        panorama_sets_visible(staff=staff)
        .annotate(
            size=Count("panoramas", distinct=True),
            place_views=Count("panoramas__views", distinct=True),
            places=Count("panoramas", filter=Q(panoramas__kind=Panorama.Kind.MULTIVIEW), distinct=True),
        )
        .filter(size__gt=0)
        .order_by("name")
    )
    return [
        {
            "name": s.name,
            "panoramas": s.size,
            "views": s.size - s.places + s.place_views,
            "licence": s.licence,
            "attribution": s.attribution,
            **({"status": s.status} if staff else {}),
        }
        for s in sets
    ]


def country_list() -> list[str]:
    """The ISO 3166-1 alpha-2 codes a country-streak guess may name (the map's Natural Earth countries)."""
    return sorted(country_codes())


def model_version_get(*, name: str) -> ModelVersion:
    """A model by its name ("planet": its latest version) or one version of it ("planet@v2", "planet@v1")."""
    family, _, number = name.partition("@v")
    versions = ModelVersion.objects.filter(family=family).order_by("-number")
    version = (versions.filter(number=int(number)) if number.isdigit() else versions).first()
    if version is None:
        raise NotFound(f"no model named {name!r}")
    return version


def model_version_list() -> list[dict[str, object]]:
    """Each model's latest version (and the default, if an older one is), the default first."""
    versions = ModelVersion.objects.order_by("-is_default", "family", "-number")
    latest = {v.family: v.pk for v in versions.order_by("family", "number")}
    return [
        {
            "name": v.name,
            "family": v.family,
            "version": v.number,
            "kind": v.kind,
            "view": v.view,
            "description": v.description,
            "checkpoint_sha256": v.checkpoint_sha256,
            "default": v.is_default,
        }
        for v in versions
        if v.is_default or latest[v.family] == v.pk
    ]


def game_get(*, public_id: str) -> Game:
    try:
        return Game.objects.select_related("panorama_set", "model_version").get(public_id=public_id)
    except Game.DoesNotExist:
        raise NotFound("no such game") from None


def round_get(*, public_id: str) -> Round:
    try:
        return Round.objects.select_related("game", "panorama", "panorama__panorama_set").get(public_id=public_id)
    except Round.DoesNotExist:
        raise NotFound("no such round") from None


def game_round_get(*, game: Game, number: int) -> Round:
    try:
        return game.rounds.select_related("panorama").get(number=number)
    except Round.DoesNotExist:
        raise NotFound(f"game has no round {number}") from None


def player_require(*, game: Game, player_key: str) -> Player:
    seat = Player.objects.filter(game=game, player_key=player_key).first()
    if seat is None:
        raise NotAPlayer("join this game before playing it")
    return seat


def guess_for(*, round: Round, player_key: str) -> Guess | None:
    return Guess.objects.filter(round=round, player_key=player_key).first()


def round_view(*, round: Round) -> dict[str, object]:
    """What a player may know about a round before guessing: no location, no model guess."""
    shown: dict[str, object] = {
        "round": round.public_id,
        "number": round.number,
        # What is served: a photo, or an equirectangular panorama (NMPZ serves its opening view as a photo).
        "kind": "photo" if round_fixed_view(round=round) else round.panorama.kind,
        "mode": round.game.mode,
        "goal": round.game.goal,
        "image_url": f"/api/rounds/{round.public_id}/image",
        "heading": None if round_fixed_view(round=round) else round.view_heading,  # a panorama opens here (°)
        "deadline": round.deadline.isoformat() if round.deadline else None,
        "model_ready": round.model_status == Round.ModelStatus.READY,
    }
    if round.panorama.kind == Panorama.Kind.MULTIVIEW:
        views = list(round.views.select_related("panorama_view"))
        # One view served (no-move, NMPZ) is a photo; several are a place to look around. Names and compass points
        # say which way each faces, never where (rules.compass_point).
        shown["kind"] = "multiview" if len(views) > 1 else "photo"
        if len(views) > 1:
            shown["views"] = [
                {
                    "image_url": f"/api/rounds/{round.public_id}/views/{view.number}",
                    "name": view.panorama_view.name,
                    "heading": compass_point(view.panorama_view.heading),
                }
                for view in views
            ]
    return shown


def round_view_file(*, round: Round, number: int) -> str:
    """The stored key of the served view `number` of a multi-view round."""
    view = RoundView.objects.filter(round=round, number=number).first()
    if view is None:
        raise NotFound("no such view")
    return served_view_key(name=view.view_name)


def game_summary(*, game: Game, player_key: str) -> dict[str, object]:
    """The game as one player sees it: their rounds and points, and the room's standings (points only: no
    location of any round appears here). Points count only from rounds already revealed (rules.round_revealed):
    before that, a room shows who has guessed, not how well."""
    now = timezone.now()
    seats = list(game.players.all())
    all_guesses = list(Guess.objects.filter(round__game=game))
    locked = Counter(g.round_id for g in all_guesses)
    game_rounds = list(game.rounds.select_related("panorama"))
    revealed = {r.pk for r in game_rounds if round_revealed(round=r, seats=len(seats), locked=locked[r.pk], now=now)}
    shown = [g for g in all_guesses if g.round_id in revealed]
    mine = {g.round_id: g for g in all_guesses if g.player_key == player_key}
    rounds: list[dict[str, object]] = []
    for game_round in game_rounds:
        guess = mine.get(game_round.pk)
        visible = guess if game_round.pk in revealed else None
        rounds.append(
            {
                "number": game_round.number,
                "round": game_round.public_id if game_round.served_at else None,
                "locked": guess is not None,
                "revealed": game_round.pk in revealed,
                "guessed": locked[game_round.pk],
                "points": round_points(visible.points) if visible else None,
                "model_points": (
                    round_points(visible.model_points) if visible and visible.model_points is not None else None
                ),
            }
        )
    totals: dict[str, list[int]] = {}
    for guess in shown:
        totals.setdefault(guess.player_key, []).append(round_points(guess.points))
    mine_shown = [g for g in shown if g.player_key == player_key]
    finished = all(game_round.pk in mine for game_round in game_rounds)
    players = [
        {
            "name": seat.name,
            "you": seat.player_key == player_key,
            "rounds_played": len(totals.get(seat.player_key, [])),
            "total_points": sum(totals.get(seat.player_key, [])),
        }
        for seat in seats
    ]
    return {
        "game": game.public_id,
        "set": game.panorama_set.name,
        "model": game.model_version.name,
        "rounds": rounds,
        "round_count": game.round_count,
        "time_limit_s": game.time_limit_s,
        "mode": game.mode,
        "goal": game.goal,
        "joined": any(seat.player_key == player_key for seat in seats),
        "players": players,
        "joinable": not any(r.served_at for r in game_rounds),
        "total_points": sum(round_points(g.points) for g in mine_shown),
        "total_model_points": sum(round_points(g.model_points) for g in mine_shown if g.model_points is not None),
        "finished": finished,
        "daily": game.daily.isoformat() if game.daily else None,
        "rematch": game.rematch.public_id if game.rematch is not None else None,
        # A country streak's standing over the rounds revealed so far (streaks.py); `over` once it has ended.
        "streak": (
            {**streak_standing(rounds=[r for r in game_rounds if r.pk in revealed], guesses=mine), "over": finished}
            if game.goal == Game.Goal.COUNTRY
            else None
        ),
    }


def daily_board(*, day: date) -> list[tuple[int | None, dict[str, Any]]]:
    """The day's leaderboard as (game pk, row) pairs, best first; PlaNet's row has no game. Only finished tries
    by accounts that were established when they started it are ranked (the verified tier's bar: a new cookie jar
    or a fresh account is no new person), and not a try with a guess flagged as suspicious
    (rules.guess_suspicion) nor one by a player the anomaly model flags (trust.player_flags). PlaNet's row is its
    mean total over those games (it played each player's own encodings of the same places)."""
    totals: dict[int, list[int]] = {}
    model: dict[int, list[int]] = {}
    flagged: set[int] = set()
    for game_id, points, model_points, suspicion in Guess.objects.filter(
        round__game__daily=day, player_key=F("round__game__owner_key")
    ).values_list("round__game_id", "points", "model_points", "suspicion"):
        if suspicion:
            flagged.add(game_id)
        totals.setdefault(game_id, []).append(round_points(points))
        if model_points is not None:
            model.setdefault(game_id, []).append(round_points(model_points))
    games = Game.objects.filter(daily=day, pk__in=totals).prefetch_related("players")
    players_flagged = player_flags_cached()
    histories = AccountHistories(game.owner_key for game in games)
    finished = [
        game
        for game in games
        if len(totals[game.pk]) == game.round_count
        and game.pk not in flagged
        and histories.established(game.owner_key, game.created_at)
        and game.owner_key not in players_flagged
    ]
    rows: list[tuple[int | None, dict[str, Any]]] = [
        (
            game.pk,
            {
                "name": next(seat.name for seat in game.players.all() if seat.player_key == game.owner_key),
                "points": sum(totals[game.pk]),
                "model": False,
            },
        )
        for game in finished
    ]
    answered = [sum(model[game.pk]) for game in finished if len(model.get(game.pk, [])) == game.round_count]
    if answered:
        rows.append(
            (
                None,
                {
                    "name": "PlaNet",
                    "points": round(sum(answered) / len(answered)),
                    "model": True,
                    "games": len(answered),
                },
            )
        )
    return sorted(rows, key=lambda pair: -pair[1]["points"])


def daily_leaderboard(*, day: date) -> list[dict[str, Any]]:
    """The day's leaderboard rows, best first (daily_board), points only: nothing of where the rounds were."""
    return [row for _, row in daily_board(day=day)]


def daily_standing(*, day: date, player_key: str) -> dict[str, Any] | None:
    """This player's own try at the day's challenge against the board: their points so far, whether they have
    finished, whether the board ranks their try, and their rank among the board's rows (PlaNet's included) — the
    rank their points would have where the board leaves their try out. None when they have not tried today."""
    game = Game.objects.filter(owner_key=player_key, daily=day).first()
    if game is None:
        return None
    mine = [
        round_points(points)
        for points in Guess.objects.filter(round__game=game, player_key=player_key).values_list("points", flat=True)
    ]
    board = daily_board(day=day)
    on_board = any(pk == game.pk for pk, _ in board)
    points = sum(mine)
    ahead = sum(1 for pk, row in board if row["points"] > points and pk != game.pk)
    return {
        "points": points,
        "finished": len(mine) == game.round_count,
        "on_board": on_board,
        "rank": ahead + 1,
        "of": len(board) + (0 if on_board else 1),
    }
