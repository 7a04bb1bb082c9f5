"""What the headline numbers estimate, side by side with the alternatives a reader may have in mind: the
round-weighted and the player-weighted win rate, the paired accuracy difference at each radius, the timeouts'
sensitivity row, and the one multiple-testing family the page presents as headline findings. Pure NumPy, no
Django.
"""

from __future__ import annotations

import numpy as np

from gameserver.stats.cluster_intervals import mean_interval
from gameserver.stats.clusters import MIN_EFFECTIVE_PLAYERS, TOO_FEW_PLAYERS, Clusters
from gameserver.stats.intervals import holm, t_quantile, t_two_sided_p
from planet_engine.geo import THRESHOLD_NAMES, THRESHOLDS_KM

HEADLINE = "round_weighted"
HEADLINE_REASON = (
    "The headline is the round-weighted win rate: the share of decided duels the humans won, every "
    "round counting once (PlaNet's 28 of 50). A player with many rounds weighs more in it; the "
    "player-weighted rate (each player's own rate, averaged) weighs every player alike. They differ "
    "when a few players hold most rounds and play unlike the rest."
)
EXPLORATORY_NOTE = (
    "Per-country, per-player and the other breakdowns' intervals are exploratory: each is a 95% "
    "interval on its own, with no adjustment for the many groups shown, so some will exclude 50% "
    "by chance. Only the headline family (the closer guess, right country, right continent and the "
    "five radii) is adjusted for multiplicity (Holm)."
)


def player_weighted(*, human_win: np.ndarray, model_win: np.ndarray, player: np.ndarray, players: int) -> dict:
    """Each player's human win rate over their decided rounds, averaged over the players with one: the mean,
    Student's t interval over players (players are the independent units) and the t test of 50%. Below
    MIN_EFFECTIVE_PLAYERS players: the mean alone and "too few players to say"."""
    decided = human_win != model_win
    counts = np.bincount(player[decided], minlength=players).astype(np.float64)
    wins = np.bincount(player[decided], weights=human_win[decided], minlength=players)
    rates = wins[counts > 0] / counts[counts > 0]  # (P,) players with a decided round
    result: dict = {
        "rate": float(rates.mean()) if rates.size else None,
        "low": None,
        "high": None,
        "p": None,
        "players": int(rates.size),
        "too_few_players": bool(0 < rates.size < MIN_EFFECTIVE_PLAYERS),
        "verdict": None,
    }
    if result["too_few_players"]:
        result["verdict"] = TOO_FEW_PLAYERS
    elif rates.size >= MIN_EFFECTIVE_PLAYERS:
        mean, se = float(rates.mean()), float(rates.std(ddof=1)) / np.sqrt(rates.size)
        half = t_quantile(probability=0.975, df=rates.size - 1) * se
        result.update(
            low=max(0.0, mean - half),
            high=min(1.0, mean + half),
            p=1.0
            if se == 0 and mean == 0.5
            else (0.0 if se == 0 else t_two_sided_p(t=(mean - 0.5) / se, df=rates.size - 1)),
        )
    return result


def win_rate_estimands(
    *, head_to_head: dict, human_better: np.ndarray, model_better: np.ndarray, player: np.ndarray, players: int
) -> dict:
    """The closer guess's two win rates side by side, and which one is the headline and why."""
    return {
        "headline": HEADLINE,
        "headline_reason": HEADLINE_REASON,
        "round_weighted": {
            key: head_to_head[key]
            for key in ("human_win_rate", "low", "high", "cluster_p", "too_few_players", "verdict")
        },
        "player_weighted": player_weighted(
            human_win=human_better, model_win=model_better, player=player, players=players
        ),
    }


def accuracy_differences(*, human_inside: np.ndarray, model_inside: np.ndarray, clusters: Clusters) -> list[dict]:
    """Per radius, the paired difference human accuracy minus model accuracy (the mean over rounds of
    inside_human - inside_model, both on the same round) with its two-way cluster-robust interval (panoramas
    and players; the players' dimension carries who played)."""
    everyone = np.ones(human_inside.shape[0], dtype=bool)
    result = []
    for i, (name, km) in enumerate(zip(THRESHOLD_NAMES, THRESHOLDS_KM, strict=True)):
        difference = human_inside[:, i].astype(np.float64) - model_inside[:, i]
        summary = mean_interval(values=difference, members=everyone, clusters=clusters)
        result.append(
            {
                "name": name,
                "km": km,
                "difference": summary["mean"],
                "low": summary["low"],
                "high": summary["high"],
                "design_effect": summary["design_effect"],
            }
        )
    return result


def headline_family(tables: dict) -> None:
    """Holm's adjustment over every test the page presents as a headline finding (the five radii, the closer
    guess, right country and right continent), in place as `cluster_p_holm`; a withheld or undefined test
    (p None) is not in the family."""
    rows = [*tables["thresholds"], tables["head_to_head"], *tables["admin_outcomes"]]
    for row, adjusted in zip(rows, holm([row.get("cluster_p") for row in rows]), strict=True):
        row["cluster_p_holm"] = adjusted
    tables["headline_family"] = {
        "tests": [
            *(f"within {row['km']:g} km" for row in tables["thresholds"]),
            "closer guess",
            *(f"right {row['name']}" for row in tables["admin_outcomes"]),
        ],
        "adjustment": "Holm (1979)",
        "size": sum(row.get("cluster_p") is not None for row in rows),
    }
    tables["exploratory_note"] = EXPLORATORY_NOTE
