"""The benchmark per group of one dimension (panorama set, model, mode, the truth's continent and country,
player): duel counts on the closer guess with the human win rate's cluster interval, median errors, mean
points and each side's share of right countries and continents. Pure NumPy, no Django."""

from __future__ import annotations

import numpy as np

from gameserver.stats.cluster_intervals import contest_inference
from gameserver.stats.clusters import Clusters


def breakdown(
    *,
    labels: tuple[list[str], np.ndarray],
    sides: dict[str, tuple[np.ndarray, np.ndarray]],
    points: dict[str, np.ndarray],
    human_better: np.ndarray,
    model_better: np.ndarray,
    right: dict[str, np.ndarray],
    known: dict[str, np.ndarray],
    clusters: Clusters,
) -> list[dict]:
    """One row per group, in label order. `sides`: per side, (sorted errors, the rows in that order), so that
    one stable sort of the groups in error order yields every group's sorted errors (a radix sort while the
    codes fit 16 bits); `right`: per "human_country",
    "model_continent"..., whether that side named the truth's; `known`: per level, whether the truth's is known."""
    names, codes = labels
    groups = len(names)
    rounds = np.bincount(codes, minlength=groups)

    def total(values: np.ndarray) -> np.ndarray:
        return np.bincount(codes, weights=values, minlength=groups)

    columns: dict[str, list] = {
        "rounds": rounds.tolist(),
        "human_wins": total(human_better).astype(np.int64).tolist(),
        "model_wins": total(model_better).astype(np.int64).tolist(),
    }
    columns["ties"] = (
        rounds - np.array(columns["human_wins"], dtype=np.int64) - np.array(columns["model_wins"], dtype=np.int64)
    ).tolist()
    decided = np.array(columns["human_wins"]) + np.array(columns["model_wins"])
    columns["human_win_rate"] = [h / int(d) if d else None for h, d in zip(columns["human_wins"], decided, strict=True)]
    inference = contest_inference(
        human_win=human_better, model_win=model_better, clusters=clusters, groups=codes, group_count=groups
    )
    columns["low"] = [row["low"] for row in inference]
    columns["high"] = [row["high"] for row in inference]
    starts = np.cumsum(rounds) - rounds
    narrow = codes.astype(np.int16 if groups < 2**15 else np.int64)
    for side, (ordered, order) in sides.items():
        by_group = np.argsort(narrow[order], kind="stable")  # positions in `ordered`, group by group
        medians = (ordered[by_group[starts + (rounds - 1) // 2]] + ordered[by_group[starts + rounds // 2]]) / 2
        columns[f"{side}_median_km"] = [float(x) if np.isfinite(x) else None for x in medians]
        columns[f"{side}_mean_points"] = (total(points[side]) / rounds).tolist()
    known_rounds = {level: total(rows) for level, rows in known.items()}
    for name, hits in right.items():
        level = name.split("_", 1)[1]
        with np.errstate(divide="ignore", invalid="ignore"):
            shares = total(hits & known[level]) / known_rounds[level]
        columns[f"{name}_rate"] = [float(x) if np.isfinite(x) else None for x in shares]
    # Exploratory: each group's interval stands alone, unadjusted for the many groups (estimands.EXPLORATORY_NOTE).
    return [
        {"group": name, "exploratory": True, **{column: values[g] for column, values in columns.items()}}
        for g, name in enumerate(names)
    ]
