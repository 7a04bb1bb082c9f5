"""The country streak (Game.goal "country"), as the API reads it: each round the player names the country of
the photo; a right country extends the streak, the first wrong country (or a timeout) ends the game.

How a streak game is laid out (the simplest design that keeps every other rule of a game true): it starts with
one round and grows by one round per right guess (guessing.guess_submit draws the next panorama, without
repeats, from the set's panoramas whose country the map can name, those the player has not been shown first).
A miss adds no round, so a streak game is over exactly when every round it has is locked: `finished`, the
round's closing rules, games_finished and the exports read it like any game, and no drawn-but-unplayed round
keeps it open. Naming every country of the set right ends it unbroken. A streak is played alone: the seats of a
room would end at different rounds.

PlaNet plays the same rounds on the same served bytes; its country is its point guess's
(rules.round_model_country). Its streak is counted on the rounds the human saw: the rounds right in a row from
the first, so it can outlast the human's (`model_alive`: it named every round shown so far) but never run past
the human's last round. Nothing here is read before a round is revealed to the player.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from gameserver.games.models import Guess, Round
from gameserver.games.rules import (
    guess_country_right,
    guess_exclusion,
    panorama_attribution,
    panorama_licence,
    round_model_country,
    streak_length,
)


def streak_standing(*, rounds: Sequence[Round], guesses: Mapping[int, Guess]) -> dict[str, object]:
    """Both streaks over `rounds` (revealed to the player, in order, panoramas selected) and the player's
    `guesses` by round id: their lengths, how many rounds were played, and whether PlaNet named every one."""
    human = [r.pk in guesses and guess_country_right(guess=guesses[r.pk], panorama=r.panorama) for r in rounds]
    model = [round_model_country(round=r) == r.panorama.country for r in rounds]
    return {
        "human": streak_length(human),
        "model": streak_length(model),
        "rounds": len(rounds),
        "model_alive": streak_length(model) == len(rounds),
    }


def round_streak_reveal(*, round: Round, guess: Guess) -> dict[str, object]:
    """A revealed streak round: the true country (and place), the player's country, PlaNet's guess and country,
    and both streaks through this round. No distances or points: a country is right or wrong."""
    panorama = round.panorama
    played = list(
        Round.objects.filter(game_id=round.game_id, number__lte=round.number)
        .select_related("panorama")
        .order_by("number")
    )
    guesses = {g.round_id: g for g in Guess.objects.filter(round__in=played, player_key=guess.player_key)}
    right = guess_country_right(guess=guess, panorama=panorama)
    result: dict[str, object] = {
        "round": round.public_id,
        "number": round.number,
        "goal": round.game.goal,
        "truth": {
            "latitude": panorama.latitude,
            "longitude": panorama.longitude,
            "country": panorama.country,
            "continent": panorama.continent,
        },
        "human": {
            "latitude": None,
            "longitude": None,
            "country": guess.country,
            "timed_out": guess.timed_out,
            "right": right,
        },
        "model": {"status": round.model_status},
        "streak": {**streak_standing(rounds=played, guesses=guesses), "ended": not right},
        "attribution": panorama_attribution(panorama=panorama),
        "licence": panorama_licence(panorama=panorama),
        "opponents": [],
        "counted": not guess_exclusion(guess=guess, round=round, disclose=False),
        "revealed": True,
    }
    if round.model_status == Round.ModelStatus.READY and round.model_latitude is not None:
        country = round_model_country(round=round)
        result["model"] = {
            "status": round.model_status,
            "latitude": round.model_latitude,
            "longitude": round.model_longitude,
            "country": country,
            "right": country == panorama.country,
            "top_cells": round.model_top_cells,
            "checkpoint_sha256": round.model_checkpoint_sha256,
            "view": round.model_view,
        }
    return result
