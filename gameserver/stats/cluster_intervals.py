"""Intervals and tests from the two-way cluster-robust variance (clusters.py): the duel's score test and the
human win rate's interval per group (contest_inference), each outcome's rate intervals (rate_intervals) and a mean's
interval (mean_interval). Pure NumPy, no Django."""

from __future__ import annotations

import numpy as np

from gameserver.stats.clusters import (
    TOO_FEW_PLAYERS,
    Clusters,
    rate_design,
    two_way,
)
from gameserver.stats.intervals import t_quantile, t_two_sided_p, wilson_interval


def contest_inference(
    *,
    human_win: np.ndarray,
    model_win: np.ndarray,
    clusters: Clusters,
    groups: np.ndarray | None = None,
    group_count: int = 1,
) -> list[dict]:
    """Per group, the cluster-aware view of a duel over its decided rounds: the human win rate's design effect
    (rate_design) and effective number of duels, the sign test corrected by that design effect (Rao & Scott
    1981: t = (wins - losses) / sqrt(decided x design effect), referred to Student's t), and the Wilson interval
    at the effective size with the same critical value, which inverts that test: the interval leaves out 50%
    exactly when the test rejects at 5%."""
    decided_rows = human_win != model_win
    design = rate_design(
        hits=human_win, members=decided_rows, clusters=clusters, groups=groups, group_count=group_count
    )
    result = []
    too_few_players = design.terms.too_few_players()
    for g in range(group_count):
        decided, rate = float(design.counts[g]), float(design.rate[0, g]) if design.counts[g] else 0.0
        effect, df = float(design.effect[0, g]), float(design.df[0, g])
        too_few = bool(too_few_players[g])
        row = {
            "low": None,
            "high": None,
            "cluster_p": 1.0 if decided == 0 else None,
            "cluster_df": df,
            "design_effect": _float_or_none(effect) if decided else None,
            "effective_decided": None,
            "panoramas": int(design.terms.panoramas[g]),
            "players": int(design.terms.players[g]),
            "effective_players": _float_or_none(float(design.terms.players_effective[g])),
            "too_few_players": too_few,
            "verdict": TOO_FEW_PLAYERS if too_few else None,
        }
        if decided > 0 and df >= 1 and not too_few:
            effective = decided / effect
            low, high = wilson_interval(successes=rate * effective, n=effective, z=t_quantile(probability=0.975, df=df))
            row.update(
                low=low,
                high=high,
                effective_decided=effective,
                cluster_p=t_two_sided_p(t=(2 * rate - 1) * decided / np.sqrt(decided * effect), df=df),
            )
        result.append(row)
    return result


def rate_intervals(
    *, hits: np.ndarray, members: np.ndarray, clusters: Clusters, groups: np.ndarray | None = None, group_count: int = 1
) -> list[list[tuple[float | None, float | None, float | None]]]:
    """Per rate (rows of `hits`, (k, N) bool) and group, (rate, low, high): the share of member rows that hit,
    with Wilson's interval at the effective sample size (rows over rate_design's design effect; Korn & Graubard
    1998) and t's critical value; no interval where the rows come from too few effective players."""
    design = rate_design(hits=hits, members=members, clusters=clusters, groups=groups, group_count=group_count)
    result: list[list[tuple[float | None, float | None, float | None]]] = []
    too_few_players = design.terms.too_few_players()
    for k in range(design.rate.shape[0]):
        column: list[tuple[float | None, float | None, float | None]] = []
        for g in range(group_count):
            count, rate, df = design.counts[g], design.rate[k, g], float(design.df[k, g])
            if count == 0 or df < 1 or too_few_players[g]:
                column.append((float(rate) if count else None, None, None))
                continue
            effective = count / design.effect[k, g]
            low, high = wilson_interval(successes=rate * effective, n=effective, z=t_quantile(probability=0.975, df=df))
            column.append((float(rate), low, high))
        result.append(column)
    return result


def mean_interval(*, values: np.ndarray, members: np.ndarray, clusters: Clusters) -> dict:
    """The mean of `values` over member rows with a two-way cluster-robust t interval (residuals about the
    mean), its design effect and the rows' standard deviation; None where undefined or from too few effective
    players."""
    n = int(members.sum())
    if n == 0:
        return {"mean": None, "low": None, "high": None, "sd": None, "design_effect": None}
    mean = float(values[members].mean())
    sd = float(values[members].std(ddof=1)) if n > 1 else None
    terms = two_way(scores=values - mean, members=members, clusters=clusters)
    variance, df = float(terms.variance()[0, 0]), float(terms.degrees_of_freedom()[0, 0])
    if df < 1 or not np.isfinite(variance) or terms.too_few_players()[0]:
        return {"mean": mean, "low": None, "high": None, "sd": sd, "design_effect": None}
    half = t_quantile(probability=0.975, df=df) * np.sqrt(variance) / n
    return {
        "mean": mean,
        "low": mean - float(half),
        "high": mean + float(half),
        "sd": sd,
        "design_effect": _float_or_none(terms.design_effect()[0, 0]),
    }


def _float_or_none(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None
