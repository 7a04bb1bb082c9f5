"""Who wins, and how often each side is right: the duels at each radius, on the closer guess and on the right
country and continent, and PlaNet's table (accuracy at each radius and the median error, for humans and for
each model), each with its naive and its cluster-aware inference. Pure NumPy, no Django.
"""

from __future__ import annotations

import numpy as np

from gameserver.stats.bootstrap import median_resamples
from gameserver.stats.cluster_intervals import contest_inference, rate_intervals
from gameserver.stats.clusters import MEDIAN_MIN_PLAYERS, TOO_FEW_PLAYERS, Clusters
from gameserver.stats.intervals import median_of_sorted, percentile_interval, sign_test_p, wilson_interval
from planet_engine.geo import THRESHOLD_NAMES, THRESHOLDS_KM, within_thresholds

ADMIN_NOTE = (
    "Right country and right continent compare the offline reverse geocoding (Natural Earth admin-0 "
    "polygons) of each guess with the truth's, over rounds whose truth has a known country or continent. "
    "First-level regions (states, provinces) are not in that offline data, so there is no region "
    "outcome; the 200 km radius is the nearest stand-in."
)


def contest(*, human_win: np.ndarray, model_win: np.ndarray, clusters: Clusters, rounds: int | None = None) -> dict:
    """Win counts over `rounds` rows (all by default; ties: neither side wins), the human win rate among decided
    rounds with the naive Wilson interval and exact sign test (rounds as independent duels) and the cluster-aware ones
    (cluster_intervals.contest_inference: two-way score test, design effect, effective size, interval)."""
    human_wins, model_wins = int(human_win.sum()), int(model_win.sum())
    decided = human_wins + model_wins
    naive_low, naive_high = wilson_interval(successes=human_wins, n=decided) if decided else (None, None)
    rounds = int(human_win.size) if rounds is None else rounds
    return {
        "human_wins": human_wins,
        "model_wins": model_wins,
        "ties": rounds - decided,
        "decided": decided,
        "human_win_rate": human_wins / decided if decided else None,
        **contest_inference(human_win=human_win, model_win=model_win, clusters=clusters)[0],
        "wilson_low": naive_low,
        "wilson_high": naive_high,
        "sign_test_p": sign_test_p(wins=human_wins, losses=model_wins),
    }


def admin_outcomes(
    *,
    human_right: dict[str, np.ndarray],
    model_right: dict[str, np.ndarray],
    known: dict[str, np.ndarray],
    clusters: Clusters,
) -> list[dict]:
    """Per level (country, continent): the duel of who named it (only one side right) over the rounds whose
    truth is known there, and each side's share right with its cluster interval (the model's by panorama)."""
    result = []
    for level in ("country", "continent"):
        rows, human, model = known[level], human_right[level] & known[level], model_right[level] & known[level]
        accuracy: dict[str, float | None] = {}
        rates = [
            rate_intervals(hits=human, members=rows, clusters=clusters)[0],
            rate_intervals(hits=model, members=rows, clusters=clusters.panorama_only())[0],
        ]
        for side, ((rate, low, high),) in zip(("human", "model"), rates, strict=True):
            accuracy |= {f"{side}_accuracy": rate, f"{side}_accuracy_low": low, f"{side}_accuracy_high": high}
        result.append(
            {
                "name": level,
                "rounds": int(rows.sum()),
                **contest(
                    human_win=human & ~model, model_win=model & ~human, clusters=clusters, rounds=int(rows.sum())
                ),
                **accuracy,
            }
        )
    return result


def median_summary(
    *, ordered: np.ndarray, ordered_cell: np.ndarray, weights: np.ndarray, players: float | None = None
) -> tuple[float | None, float | None, float | None]:
    """(median, low, high) of sorted errors with the cluster bootstrap's 95% percentile interval (`weights`
    (B, cells) per resample, `ordered_cell` each sorted row's cell); None for no rows and for infinite ends
    (a median among timeouts), and no interval where the rows' effective `players` (humans' errors; None: not
    clustered by player) are under MEDIAN_MIN_PLAYERS."""
    if not ordered.size:
        return None, None, None
    if players is not None and players < MEDIAN_MIN_PLAYERS:
        return _finite_or_none(median_of_sorted(ordered)), None, None
    low, high = percentile_interval(
        samples=median_resamples(weights=weights, ordered=ordered, ordered_cell=ordered_cell)
    )
    return _finite_or_none(median_of_sorted(ordered)), _finite_or_none(low), _finite_or_none(high)


def median_note(median: tuple[float | None, float | None, float | None]) -> str | None:
    """What stands where the humans' median has no interval though it has a value (median_summary withheld it:
    too few players)."""
    return TOO_FEW_PLAYERS if median[0] is not None and median[1] is None else None


def planet_table(
    *,
    human_inside: np.ndarray,
    model_inside: np.ndarray,
    models: tuple[list[str], np.ndarray],
    medians: dict[str, tuple[float | None, float | None, float | None]],
    clusters: Clusters,
    prior_km: np.ndarray | None = None,
) -> list[dict]:
    """PlaNet's table: one row for the humans (every round) and one per model (its rounds), accuracy at each
    radius with cluster intervals and the median error with its cluster-bootstrap interval (`medians`, keyed
    "human" and by model name). The humans' rounds are clustered by panorama and player, the model's by
    panorama alone (Clusters.panorama_only). `prior_km` (each round's set-prior error, inf where unknown) adds
    the baseline row: a fixed guess at each set's geometric median, clustered by panorama."""
    names, codes = models
    everyone = np.ones(human_inside.shape[0], dtype=bool)
    result = [
        _planet_row(
            name="Humans",
            kind="human",
            inside=human_inside,
            members=everyone,
            median=medians["human"],
            clusters=clusters,
        )
    ]
    for code, name in enumerate(names):
        result.append(
            _planet_row(
                name=name,
                kind="model",
                inside=model_inside,
                members=codes == code,
                median=medians[name],
                clusters=clusters.panorama_only(),
            )
        )
    if prior_km is not None and np.isfinite(prior_km).any():
        median = _finite_or_none(float(np.median(prior_km))) if prior_km.size else None
        result.append(
            _planet_row(
                name="Set prior",
                kind="baseline",
                inside=within_thresholds(prior_km),
                members=everyone,
                median=(median, None, None),
                clusters=clusters.panorama_only(),
            )
        )
    return result


def _planet_row(
    *,
    name: str,
    kind: str,
    inside: np.ndarray,
    members: np.ndarray,
    median: tuple[float | None, float | None, float | None],
    clusters: Clusters,
) -> dict:
    rates = rate_intervals(hits=inside.T, members=members, clusters=clusters)
    accuracy = [
        {"name": radius, "km": km, "rate": rate, "low": low, "high": high}
        for radius, km, ((rate, low, high),) in zip(THRESHOLD_NAMES, THRESHOLDS_KM, rates, strict=True)
    ]
    return {
        "name": name,
        "kind": kind,
        "rounds": int(members.sum()),
        "accuracy": accuracy,
        "median_km": median[0],
        "median_low": median[1],
        "median_high": median[2],
        "median_note": median_note(median) if kind == "human" else None,
    }


def _finite_or_none(value: float | None) -> float | None:
    return float(value) if value is not None and np.isfinite(value) else None
