"""Human-vs-model benchmark statistics over played rounds: PlaNet's per-radius comparison, head to head,
median errors, paired log-error ratios, per-dimension breakdowns and one Bradley–Terry rating scale
(intervals and tests: intervals.py; ratings: ratings.py; the text report: render.py).

Pure NumPy, no Django, so the stats app, its management commands and bench/stats.py share one
implementation. Everything is vectorised over rounds (10^6 rows in a few seconds) and seeded: the same
table and seed give the same JSON.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gameserver.stats.intervals import (
    Z_95,
    mean_interval,
    median_interval,
    median_of_sorted,
    sign_test_p,
    wilson_interval,
)
from gameserver.stats.ratings import ratings
from planet_engine.geo import THRESHOLD_NAMES, THRESHOLDS_KM, within_thresholds

Z_80_POWER = 0.841621
# A timeout's error is infinite; in log ratios it counts as the farthest possible miss instead.
HALF_CIRCUMFERENCE_KM = 20037.5
BREAKDOWN_DIMENSIONS = ("panorama_set", "model_version", "mode", "continent", "player")
# Error CDFs (PlaNet's Figure 3) are sampled at log-spaced distances from 100 m to half the circumference.
CDF_POINTS = 57


@dataclass(frozen=True)
class RoundTable:
    """One row per counted player-round (exclusions already applied); numpy arrays of equal length."""

    human_km: np.ndarray  # float64; np.inf where the player timed out
    model_km: np.ndarray  # float64
    human_points: np.ndarray  # float64 GeoGuessr points
    model_points: np.ndarray  # float64
    player: np.ndarray  # object array of str (player id)
    panorama_set: np.ndarray  # object str
    model_version: np.ndarray  # object str (model name)
    mode: np.ndarray  # object str
    continent: np.ndarray  # object str, the truth's continent ("" if unknown)
    human_same_country: np.ndarray  # bool: guess's country == truth's country
    model_same_country: np.ndarray
    human_same_continent: np.ndarray
    model_same_continent: np.ndarray

    def __len__(self) -> int:
        return int(len(self.human_km))




def benchmark_tables(*, table: RoundTable, seed: int = 0, resamples: int = 1000) -> dict:
    """Every benchmark table of `table` as JSON-ready plain values (None where undefined or infinite)."""
    n = len(table)
    human_km = np.asarray(table.human_km, dtype=np.float64)
    model_km = np.asarray(table.model_km, dtype=np.float64)
    human_better, model_better = human_km < model_km, model_km < human_km
    # Independent streams per table, so adding resamples to one leaves the others unchanged.
    human_seed, model_seed, paired_seed, rating_seed = (
        int(s) for s in np.random.SeedSequence(seed).generate_state(4))
    # Factorised once: the breakdowns and the ratings both group by player and model.
    labels = {dimension: _factorize(getattr(table, dimension)) for dimension in BREAKDOWN_DIMENSIONS}
    human_inside, model_inside = within_thresholds(human_km), within_thresholds(model_km)  # (N, 5) each
    human_wins = (human_inside & ~model_inside).sum(axis=0)
    model_wins = (model_inside & ~human_inside).sum(axis=0)
    thresholds = [
        {"name": name, "km": km, **_contest(human_wins=int(h), model_wins=int(m), rounds=n),
         "human_accuracy": _fraction(human_inside[:, i].sum(), n),
         "model_accuracy": _fraction(model_inside[:, i].sum(), n)}
        for i, (name, km, h, m) in enumerate(zip(THRESHOLD_NAMES, THRESHOLDS_KM, human_wins, model_wins))]
    return {
        "rounds": n,
        "thresholds": thresholds,
        "head_to_head": _contest(human_wins=int(human_better.sum()), model_wins=int(model_better.sum()), rounds=n),
        "errors": {**_median_summary(prefix="human", km=human_km, seed=human_seed, resamples=resamples),
                   **_median_summary(prefix="model", km=model_km, seed=model_seed, resamples=resamples),
                   "human_mean_points": _mean_or_none(table.human_points),
                   "model_mean_points": _mean_or_none(table.model_points)},
        "admin_levels": {name: _mean_or_none(getattr(table, name)) for name in (
            "human_same_country", "model_same_country", "human_same_continent", "model_same_continent")},
        "paired": _paired(human_km=human_km, model_km=model_km, seed=paired_seed, resamples=resamples),
        "breakdowns": _breakdowns(table=table, labels=labels, human_km=human_km, model_km=model_km,
                                  human_better=human_better, model_better=model_better),
        "ratings": ratings(player_labels=labels["player"], model_labels=labels["model_version"],
                            human_better=human_better, model_better=model_better, seed=rating_seed,
                            resamples=resamples),
        "error_cdf": error_cdf(human_km=human_km, model_km=model_km),
    }


def error_cdf(*, human_km: np.ndarray, model_km: np.ndarray) -> dict:
    """Share of rounds with an error of at most `km`, for humans and the model, on a log-spaced km grid;
    a timeout (inf) is never within any distance. Shares are None when there are no rounds."""
    km = np.geomspace(0.1, HALF_CIRCUMFERENCE_KM, CDF_POINTS)

    def shares(errors: np.ndarray) -> list[float | None]:
        if not len(errors):
            return [None] * CDF_POINTS
        return (np.searchsorted(np.sort(errors), km, side="right") / len(errors)).tolist()

    return {"km": km.round(3).tolist(), "human": shares(human_km), "model": shares(model_km)}




def _contest(*, human_wins: int, model_wins: int, rounds: int) -> dict:
    """Win counts, the human win rate over decided rounds with its Wilson interval, and the sign test."""
    decided = human_wins + model_wins
    low, high = wilson_interval(successes=human_wins, n=decided) if decided else (None, None)
    return {"human_wins": human_wins, "model_wins": model_wins, "ties": rounds - decided, "decided": decided,
            "human_win_rate": human_wins / decided if decided else None, "wilson_low": low, "wilson_high": high,
            "sign_test_p": sign_test_p(wins=human_wins, losses=model_wins)}


def _median_summary(*, prefix: str, km: np.ndarray, seed: int, resamples: int) -> dict:
    if km.size == 0:
        return {f"{prefix}_median_km": None, f"{prefix}_median_low": None, f"{prefix}_median_high": None}
    low, high = median_interval(values=km, seed=seed, resamples=resamples)
    return {f"{prefix}_median_km": _finite_or_none(median_of_sorted(np.sort(km))),
            f"{prefix}_median_low": _finite_or_none(low), f"{prefix}_median_high": _finite_or_none(high)}


def _paired(*, human_km: np.ndarray, model_km: np.ndarray, seed: int, resamples: int) -> dict:
    """Mean of d = ln(human_km + 1) - ln(model_km + 1) per round, its bootstrap interval and the rounds a
    paired test would need to detect it; exp(mean) > 1 means humans miss by more."""
    d = (np.log1p(np.minimum(human_km, HALF_CIRCUMFERENCE_KM))
         - np.log1p(np.minimum(model_km, HALF_CIRCUMFERENCE_KM)))  # (N,)
    if d.size == 0:
        return {"mean_log_ratio": None, "low": None, "high": None, "ratio": None, "ratio_low": None,
                "ratio_high": None, "sd": None, "rounds_needed_80pct_power": None, "power_note": "No rounds yet."}
    mean = float(d.mean())
    sd = float(d.std(ddof=1)) if d.size > 1 else None
    low, high = mean_interval(values=d, seed=seed, resamples=resamples)
    needed = (math.ceil(((Z_95 + Z_80_POWER) * sd / abs(mean)) ** 2) if mean != 0 and sd is not None else None)
    if needed is None:
        note = "No measurable difference between human and model errors to power a test on."
    else:
        note = (f"Humans' (km+1) errors are {math.exp(mean):.3g}x the model's (geometric mean); a paired test at "
                f"5% two-sided with 80% power needs about {needed:,} rounds to detect that; there are {d.size:,}.")
    return {"mean_log_ratio": mean, "low": low, "high": high, "ratio": math.exp(mean), "ratio_low": math.exp(low),
            "ratio_high": math.exp(high), "sd": sd, "rounds_needed_80pct_power": needed, "power_note": note}




def _breakdowns(*, table: RoundTable, labels: dict[str, tuple[list[str], np.ndarray]], human_km: np.ndarray,
                model_km: np.ndarray, human_better: np.ndarray, model_better: np.ndarray) -> dict:
    n = len(table)
    # Rank every error once; per dimension one integer sort of (group, rank) then yields each group's
    # sorted errors, so group medians cost no per-group work.
    sides = {side: _ranked(km) for side, km in (("human", human_km), ("model", model_km))}
    result = {}
    for dimension in BREAKDOWN_DIMENSIONS:
        names, codes = labels[dimension]
        groups = len(names)
        rounds = np.bincount(codes, minlength=groups)
        columns = {
            "rounds": rounds.tolist(),
            "human_wins": np.bincount(codes, weights=human_better, minlength=groups).astype(np.int64).tolist(),
            "model_wins": np.bincount(codes, weights=model_better, minlength=groups).astype(np.int64).tolist()}
        columns["ties"] = (rounds - np.array(columns["human_wins"], dtype=np.int64)
                           - np.array(columns["model_wins"], dtype=np.int64)).tolist()
        for side, (ordered, rank) in sides.items():
            key = np.sort(codes * max(n, 1) + rank)
            starts = np.cumsum(rounds) - rounds
            medians = (ordered[key[starts + (rounds - 1) // 2] % n] + ordered[key[starts + rounds // 2] % n]) / 2
            points = np.bincount(codes, weights=getattr(table, f"{side}_points"), minlength=groups) / rounds
            columns[f"{side}_median_km"] = [_finite_or_none(x) for x in medians]
            columns[f"{side}_mean_points"] = [float(x) for x in points]
        result[dimension] = [{"group": name, **{column: values[g] for column, values in columns.items()}}
                             for g, name in enumerate(names)]
    return result




def _factorize(labels: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Sorted distinct labels and each row's index into them.

    np.unique on an object array compares Python strings (~0.5 s a column at 10^6 rows), so rows are
    hashed (FNV-1a over their UTF-32 code units, one NumPy pass per character position), the hashes
    factorised, and the result checked against the strings; a collision falls back to np.unique.
    """
    text = np.asarray(labels).astype(str)  # (N,) fixed-width unicode
    if text.size == 0:
        return [], np.zeros(0, dtype=np.int64)
    digest = np.full(text.size, 14695981039346656037, dtype=np.uint64)
    for units in text.view(np.uint32).reshape(text.size, -1).T:  # (N,) per character position
        digest = (digest ^ units) * np.uint64(1099511628211)
    _, first, codes = np.unique(digest, return_index=True, return_inverse=True)
    if not np.array_equal(text[first][codes], text):
        names, codes = np.unique(text, return_inverse=True)
        return names.tolist(), codes
    names = text[first]
    order = np.argsort(names)
    position = np.empty_like(order)
    position[order] = np.arange(order.size)
    return names[order].tolist(), position[codes]


def _ranked(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted values and each row's position in them."""
    order = np.argsort(values, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return values[order], rank




def _fraction(count: int, n: int) -> float | None:
    return float(count) / n if n else None


def _mean_or_none(values: np.ndarray) -> float | None:
    values = np.asarray(values, dtype=np.float64)
    return float(values.mean()) if values.size else None


def _finite_or_none(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


