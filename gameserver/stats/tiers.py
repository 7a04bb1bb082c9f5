"""The benchmark's two tiers over export rows: which rows are verified, why the others are open, and what a
verified table withholds. rules.guess_tier decides each row; this reads the decisions back from the rows, so a
report recomputed from an export file sees the same tiers."""

from __future__ import annotations

import numpy as np

from gameserver.games.models import Guess
from gameserver.games.rules import Standing, guess_tier
from planet_engine.geo import distances_km

Row = dict[str, object]

# The benchmark's two tiers: verified (the headline: every rule of rules.guess_tier passes) and open (every
# counted round, verified or not, each open one labelled with why it is not verified).
TIERS = ("verified", "open")


def tier_columns(guess: Guess, standing: Standing) -> Row:
    tier, reasons = guess_tier(guess=guess, round=guess.round, standing=standing)
    return {
        "tier": tier,
        "tier_reasons": ";".join(reasons) if tier == "open" else "",
        "player_flags": ";".join(standing.player_flags),
    }


def set_prior_km(guesses: list[Guess]) -> list[float | None]:
    """Each row's set-prior error: km from its set's geometric median to the truth (None: not measured)."""
    result: list[float | None] = [None] * len(guesses)
    known = [i for i, g in enumerate(guesses) if g.round.panorama.panorama_set.prior_latitude is not None]
    if known:
        sets = [guesses[i].round.panorama.panorama_set for i in known]
        km = distances_km(
            np.array([s.prior_latitude for s in sets], dtype=np.float64),
            np.array([s.prior_longitude for s in sets], dtype=np.float64),
            np.array([guesses[i].round.panorama.latitude for i in known], dtype=np.float64),
            np.array([guesses[i].round.panorama.longitude for i in known], dtype=np.float64),
        )
        for i, value in zip(known, km.tolist(), strict=True):
            result[i] = round(value, 3)
    return result


# What a verified radius's row keeps when the set prior wins most of its rounds: who was inside, not who won.
_WITHHELD_KEEP = ("name", "km", "human_accuracy", "model_accuracy", "set_prior_accuracy", "set_prior_wins_most")


def withhold_if_prior_wins(row: dict[str, object]) -> None:
    row["reported"] = not row["set_prior_wins_most"]
    if not row["reported"]:
        for key in [key for key in row if key not in _WITHHELD_KEEP and key != "reported"]:
            row[key] = None
        row["not_reported"] = (
            f"a fixed guess at the set's centre is within {row['km']:g} km in most rounds: not a human-vs-model result"
        )
