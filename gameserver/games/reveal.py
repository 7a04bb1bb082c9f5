"""Reads: what a player who has locked a guess sees of the round. Before the round is revealed
(rules.round_revealed), their own guess and how many seats have locked; after it, the whole reveal: truth, both
guesses, errors, winners, the model's cells and the room's other guesses. A country streak's reveal is in
streaks.py."""

from __future__ import annotations

import math

from gameserver.games.models import Game, Guess, Round
from gameserver.games.rules import (
    THRESHOLDS,
    guess_tier,
    panorama_attribution,
    panorama_licence,
    round_model_km,
    round_points,
)
from gameserver.games.streaks import round_streak_reveal
from gameserver.games.trust import guess_standing_shown
from planet_engine.geo import geoscore, head_to_head, threshold_outcomes


def round_waiting(*, round: Round, guess: Guess, seats: int, locked: int) -> dict[str, object]:
    """A locked guess on a round not yet revealed: the player's own guess and how many seats have locked;
    nothing about the truth, the model's guess or anyone's distance or points."""
    return {
        "round": round.public_id,
        "number": round.number,
        "revealed": False,
        "human": {
            "latitude": guess.latitude,
            "longitude": guess.longitude,
            "country": guess.country,
            "timed_out": guess.timed_out,
        },
        "guessed": locked,
        "players": seats,
        "deadline": round.deadline.isoformat() if round.deadline else None,
    }


def round_reveal(*, round: Round, guess: Guess, alone: bool = False) -> dict[str, object]:
    """Everything shown once a round is revealed: truth, both guesses, errors, winners, cells, and the room's
    other guesses (none to look up when the player is `alone` in the game). A country streak's round has its own
    reveal (streaks.py): countries and streaks, no distances."""
    if round.game.goal == Game.Goal.COUNTRY:
        return round_streak_reveal(round=round, guess=guess)
    panorama = round.panorama
    human_km = math.inf if guess.km is None else guess.km
    result: dict[str, object] = {
        "round": round.public_id,
        "number": round.number,
        "truth": {
            "latitude": panorama.latitude,
            "longitude": panorama.longitude,
            "country": panorama.country,
            "continent": panorama.continent,
        },
        "human": {
            "latitude": guess.latitude,
            "longitude": guess.longitude,
            "timed_out": guess.timed_out,
            "km": guess.km,
            "points": round_points(guess.points),
        },
        "model": {"status": round.model_status},
        "attribution": panorama_attribution(panorama=panorama),
        "licence": panorama_licence(panorama=panorama),
        "thresholds": THRESHOLDS,
        # The other players of the room who have locked their guess on this round.
        "opponents": [
            {
                "name": name,
                "latitude": other.latitude,
                "longitude": other.longitude,
                "timed_out": other.timed_out,
                "km": other.km,
                "points": round_points(other.points),
            }
            for other, name in ([] if alone else _opponent_guesses(round=round, player_key=guess.player_key))
        ],
    }
    model_km = guess.model_km
    if model_km is None:
        # The model answered after this guess was locked: shown, but not counted in the benchmark.
        model_km = round_model_km(round=round)
    if model_km is not None:
        result["model"] = {
            "status": round.model_status,
            "latitude": round.model_latitude,
            "longitude": round.model_longitude,
            "km": model_km,
            "points": round_points(geoscore(model_km)),
            "top_cells": round.model_top_cells,
            "checkpoint_sha256": round.model_checkpoint_sha256,
            "view": round.model_view,
        }
        result["winners"] = threshold_outcomes(human_km, model_km)
        result["head_to_head"] = head_to_head(human_km, model_km)
    # The player's own view of the rule: the tier and whether it counts, without what would tell a cheater they
    # were caught (the suspicion, the anomaly flags), which staff see in the admin and researchers in the export.
    tier, reasons = guess_tier(guess=guess, round=round, standing=guess_standing_shown(guess), disclose=False)
    result["counted"] = tier != "excluded"
    result["tier"], result["tier_reasons"] = tier, list(reasons)
    result["revealed"] = True
    return result


def _opponent_guesses(*, round: Round, player_key: str) -> list[tuple[Guess, str]]:
    names = dict(round.game.players.values_list("player_key", "name"))
    others = round.guesses.exclude(player_key=player_key).order_by("guessed_at", "pk")
    return [(other, names.get(other.player_key, "?")) for other in others]
