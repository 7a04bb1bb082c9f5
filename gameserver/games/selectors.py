"""Reads for the game API. Nothing here returns a location of an unlocked round."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, F, Q, QuerySet

from gameserver.games.models import Game, Guess, Round
from gameserver.games.services import (DEADLINE_GRACE, ROUND_OPEN_MAX, NotFound, round_fixed_view,
                                       round_points)
from gameserver.inference.models import ModelVersion
from gameserver.panoramas.models import PanoramaSet


def panorama_set_get(*, name: str) -> PanoramaSet:
    try:
        return PanoramaSet.objects.get(name=name)
    except PanoramaSet.DoesNotExist:
        raise NotFound(f"no panorama set named {name!r}") from None


def panorama_set_list() -> list[dict[str, object]]:
    sets = PanoramaSet.objects.annotate(size=Count("panoramas")).filter(size__gt=0).order_by("name")
    return [{"name": s.name, "panoramas": s.size, "licence": s.licence, "attribution": s.attribution}
            for s in sets]


def model_version_get(*, name: str) -> ModelVersion:
    try:
        return ModelVersion.objects.get(name=name)
    except ModelVersion.DoesNotExist:
        raise NotFound(f"no model named {name!r}") from None


def model_version_list() -> list[dict[str, object]]:
    return [{"name": v.name, "description": v.description, "checkpoint_sha256": v.checkpoint_sha256,
             "default": v.is_default} for v in ModelVersion.objects.order_by("-is_default", "name")]


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


def rounds_closed(*, now: datetime) -> QuerySet[Round]:
    """Rounds whose truth no player can still use: every seat of the room has locked a guess, or the round
    stopped taking guesses (its deadline, or ROUND_OPEN_MAX after it was served). Only these may be shown
    beyond a player's own reveal (benchmark tables, exports): a room's opponent may not have guessed yet."""
    return (Round.objects.filter(served_at__isnull=False)
            .annotate(locked=Count("guesses", distinct=True), seats=Count("game__players", distinct=True))
            .filter(Q(locked__gte=F("seats")) | Q(deadline__lt=now - DEADLINE_GRACE)
                    | Q(deadline__isnull=True, served_at__lt=now - ROUND_OPEN_MAX)))


def guess_for(*, round: Round, player_key: str) -> Guess | None:
    return Guess.objects.filter(round=round, player_key=player_key).first()


def round_view(*, round: Round) -> dict[str, object]:
    """What a player may know about a round before guessing: no location, no model guess."""
    return {
        "round": round.public_id, "number": round.number,
        # What is served: a photo, or an equirectangular panorama (NMPZ serves its opening view as a photo).
        "kind": "photo" if round_fixed_view(round=round) else round.panorama.kind,
        "mode": round.game.mode, "image_url": f"/api/rounds/{round.public_id}/image",
        "heading": None if round_fixed_view(round=round) else round.view_heading,  # a panorama opens here (°)
        "deadline": round.deadline.isoformat() if round.deadline else None,
        "model_ready": round.model_status == Round.ModelStatus.READY,
    }


def game_summary(*, game: Game, player_key: str) -> dict[str, object]:
    """The game as one player sees it: their rounds and points, and the room's standings (points only:
    no location of any round appears here)."""
    all_guesses = list(Guess.objects.filter(round__game=game))
    mine = {g.round_id: g for g in all_guesses if g.player_key == player_key}
    rounds = []
    for game_round in game.rounds.all():
        guess = mine.get(game_round.pk)
        rounds.append({
            "number": game_round.number, "round": game_round.public_id if game_round.served_at else None,
            "locked": guess is not None,
            "points": round_points(guess.points) if guess else None,
            "model_points": round_points(guess.model_points) if guess and guess.model_points is not None else None,
        })
    totals: dict[str, list[int]] = {}
    for guess in all_guesses:
        totals.setdefault(guess.player_key, []).append(round_points(guess.points))
    players = [{"name": seat.name, "you": seat.player_key == player_key,
                "rounds_played": len(totals.get(seat.player_key, [])),
                "total_points": sum(totals.get(seat.player_key, []))} for seat in game.players.all()]
    return {
        "game": game.public_id, "set": game.panorama_set.name, "model": game.model_version.name,
        "rounds": rounds, "round_count": game.round_count, "time_limit_s": game.time_limit_s, "mode": game.mode,
        "joined": any(player["you"] for player in players), "players": players,
        "total_points": sum(r["points"] or 0 for r in rounds),
        "total_model_points": sum(r["model_points"] or 0 for r in rounds),
        "finished": all(r["locked"] for r in rounds),
    }
