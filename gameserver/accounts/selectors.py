"""Reads for a player's profile: their record against each model and their rating over time, from the same
rows, counting rule and rating scale as the benchmark (stats.selectors, rules.guess_exclusion, stats.ratings)."""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from typing import Any, cast

import numpy as np

from gameserver.stats.ratings import PROVISIONAL_ROUNDS, player_rating_path
from gameserver.stats.selectors import Filters, Row, benchmark_cached, player_id, round_rows

SCORE = {"human": 1.0, "tie": 0.5, "model": 0.0}  # a tie is half a win, as in the ratings


def account_data(*, player_key: str) -> dict[str, object]:
    """Everything the benchmark holds of this player, as export rows (their rounds of finished games; a game
    still being played is not in it yet): what a download of their own data gives them."""
    rows = round_rows(filters=Filters(players=(player_key,)))
    return {
        "player_id": player_id(player_key),
        "rounds": len(rows),
        "rows": rows,
        "about": "Your rounds as the benchmark's exports hold them; the columns are described in the "
        "datasheet (/datasheet).",
    }


def player_profile(*, player_key: str) -> dict[str, object]:
    """Games, rounds and mean points over the player's rounds of finished games (the benchmark's rows, so a
    game still being played is not in it yet); wins, ties and losses by the closer guess against each model
    over the counted rounds; and the rating after each finished game that added counted rounds."""
    rows = round_rows(filters=Filters(players=(player_key,)))
    counted = [row for row in rows if row["counted"]]
    names = [str(row["player_name"]) for row in rows if row["player_name"]]
    return {
        "display_name": names[-1] if names else None,
        "games": len({row["game_id"] for row in rows}),
        "rounds": len(rows),
        "counted_rounds": len(counted),
        "mean_points": float(np.mean([float(str(row["human_points"])) for row in rows])) if rows else None,
        "models": _records(counted),
        "rating": _rating_over_time(rows),
    }


def _records(counted: list[Row]) -> list[dict[str, object]]:
    outcomes: dict[str, Counter[str]] = {}
    for row in counted:
        outcomes.setdefault(str(row["model_name"]), Counter())[str(row["head_to_head"])] += 1
    return [
        {
            "model": model,
            "rounds": sum(counts.values()),
            "wins": counts["human"],
            "ties": counts["tie"],
            "losses": counts["model"],
        }
        for model, counts in sorted(outcomes.items())
    ]


def _rating_over_time(rows: list[Row]) -> dict[str, object]:
    """The player's Bradley–Terry rating (the benchmark's scale, stats.ratings) fitted on their counted rounds
    up to the end of each game, with every model held at its current rating on the benchmark page: one point
    per game that added counted rounds, the last one their rating there."""
    tables = benchmark_cached(filters=Filters(tier="open"))  # every counted round, as the player's own rows
    entries = cast(list[dict[str, Any]], tables["ratings"])
    info = cast(dict[str, Any], tables["ratings_info"])
    model_elo = {str(entry["name"]): float(entry["rating"]) for entry in entries if entry["kind"] == "model"}
    # A model missing from the tables (a game finished between the two reads) cannot place a round: left out.
    kept = [i for i, row in enumerate(rows) if row["counted"] and str(row["model_name"]) in model_elo]
    counted = [rows[i] for i in kept]
    # Games in the order they ended (their last row), each with its counted rounds so far.
    last_row = {str(row["game_id"]): i for i, row in enumerate(rows)}
    ends: list[int] = []
    games: list[tuple[str, str]] = []
    for game, last in sorted(last_row.items(), key=lambda item: item[1]):
        so_far = bisect_right(kept, last)
        if so_far and (not ends or so_far > ends[-1]):
            ends.append(so_far)
            games.append((game, str(rows[last]["guessed_at"])))
    path = player_rating_path(
        model_elo=np.array([model_elo[str(row["model_name"])] for row in counted]),
        score=np.array([SCORE[str(row["head_to_head"])] for row in counted]),
        ends=ends,
        human_mean_elo=float(info["humans_prior_mean"] or info["anchor_rating"]),
    )
    return {
        "points": [
            {"game": game, "played_at": played_at, "counted_rounds": end, "rating": rating}
            for (game, played_at), end, rating in zip(games, ends, path, strict=True)
        ],
        "anchor": info["anchor"],
        "anchor_rating": info["anchor_rating"],
        "provisional": len(counted) < PROVISIONAL_ROUNDS,
        "definition": "Bradley–Terry on the benchmark's scale, fitted on your counted rounds up to each game, "
        "with the models at their current ratings",
    }
