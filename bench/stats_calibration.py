"""Calibration of the benchmark's cluster inference (gameserver/stats/clusters.py) with known truths: how often the
95% interval of the human win rate covers the truth (goal >= 93%) and how often the 5% test rejects a true null
(goal <= 6%), per design, through the same `contest` the tables use.

Each replication draws players (a skill: a logit shift, sd `player_sd`) and panoramas (a difficulty, sd 0.8), and
each round's duel: the human wins with probability logistic(skill + difficulty), else the model. Skills and
difficulties are centred on 0 and symmetric, so the true win rate is 50% whoever holds the rounds (the null).
A design with skewed activity gives a few players most rounds. A design with "0/1 rates" gives every player an
extreme skill (all wins or all losses), the case a rate of exactly 0 or 1 made overconfident. A player never
plays a panorama twice (seen-before rounds are excluded). "no interval" is the share of replications where the
tables say "too few players to say" (or no cluster interval) instead of a number.

The same rounds carry each human's error in km, log-normal: log error = log(1000) + the player's accuracy (sd
0.5) + the panorama's hardness (sd 0.8) + the round's noise (sd 1), all drawn afresh (not centred), so the
population's median error is exactly 1000 km; "median coverage" is how often the tables' cluster-bootstrap
interval (outcomes.median_summary over bootstrap.pigeonhole's resamples, as benchmark_tables calls it) covers
1000 km. Run:
`.venv/bin/python -m bench.stats_calibration [--replications N] [--json F]`.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass

import numpy as np

from gameserver.stats.bootstrap import pigeonhole
from gameserver.stats.cluster_intervals import rate_intervals
from gameserver.stats.clusters import clusters_of, effective_players
from gameserver.stats.outcomes import contest, median_summary

MEDIAN_KM = 1000.0
ERROR_PLAYER_SD = 0.5  # log units: a player's typical error is 0.6-1.6 times the population's


@dataclass(frozen=True)
class Design:
    name: str
    rounds: tuple[int, ...]  # rounds per player
    panoramas: int
    player_sd: float = 0.7


DESIGNS = (
    Design("many light players (200 x 5)", (5,) * 200, 300),
    Design("10 players x 60 panoramas", (60,) * 10, 60),
    Design("3 players x 30 panoramas", (30,) * 3, 30),
    Design("3 players hold 73% of rounds", (68, 68, 68) + (4,) * 19, 120),
    Design("the same, wider skill spread", (68, 68, 68) + (4,) * 19, 120, player_sd=1.4),
    Design("5 players x 20 panoramas, 0/1 rates", (20,) * 5, 20, player_sd=6.0),
    # About 1.1 effective players: the tables say "too few players to say" instead of an interval.
    Design("1 player holds 204 of 215 rounds", (204, 6, 5), 215),
)


def replicate(
    design: Design, rng: np.random.Generator, errors: np.random.Generator
) -> tuple[bool | None, bool | None, bool | None]:
    """(the interval covers 50%, the test rejects at 5%, the median's interval covers MEDIAN_KM); None where the
    tables report no interval or test. `errors` draws the errors and the bootstrap (its own stream, so the win
    rates' draws are those of the harness without medians)."""
    skill = rng.normal(0, design.player_sd, len(design.rounds))
    skill -= skill.mean()
    difficulty = rng.normal(0, 0.8, design.panoramas)
    players, panoramas = [], []
    for index, count in enumerate(design.rounds):
        players += [index] * count
        panoramas += list(rng.choice(design.panoramas, size=count, replace=False))
    player, panorama = np.array(players), np.array(panoramas)
    win = rng.random(player.size) < 1 / (1 + np.exp(-(skill[player] + difficulty[panorama])))
    clusters = clusters_of(panorama=panorama, player=player, panoramas=design.panoramas, players=len(design.rounds))
    row = contest(human_win=win, model_win=~win, clusters=clusters)
    covers = None if row["low"] is None else bool(row["low"] <= 0.5 <= row["high"])
    rejects = None if row["cluster_p"] is None else bool(row["cluster_p"] < 0.05)
    log_km = (
        np.log(MEDIAN_KM)
        + errors.normal(0, ERROR_PLAYER_SD, len(design.rounds))[player]
        + errors.normal(0, 0.8, design.panoramas)[panorama]
        + errors.normal(0, 1.0, player.size)
    )
    order = np.argsort(log_km)
    boot = pigeonhole(clusters=clusters, seed=int(errors.integers(2**31)), resamples=1000)
    _, low, high = median_summary(
        ordered=np.exp(log_km[order]),
        ordered_cell=boot.row_cell()[order],
        weights=boot.cell_weights(),
        players=effective_players(player),
    )
    return covers, rejects, None if low is None or high is None else bool(low <= MEDIAN_KM <= high)


def replicate_rare_rate(rng: np.random.Generator) -> tuple[bool | None, bool | None]:
    """The model's accuracy at a radius it rarely reaches (a true 3% of the population's panoramas), over 30
    panoramas each played by 10 players: an observed 0% was taken at its full 300 rounds and its interval missed
    the truth every time. (covers, None): no test here."""
    panoramas, players = 30, 10
    hit_panorama = rng.random(panoramas) < 0.03
    panorama = np.tile(np.arange(panoramas), players)
    player = np.repeat(np.arange(players), panoramas)
    clusters = clusters_of(panorama=panorama, player=player, panoramas=panoramas, players=players)
    ((rate, low, high),) = rate_intervals(
        hits=hit_panorama[panorama], members=np.ones(panorama.size, bool), clusters=clusters.panorama_only()
    )[0]
    return (None if low is None or high is None else bool(low <= 0.03 <= high)), None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=400)
    parser.add_argument("--json", default=None)
    options = parser.parse_args()
    results = {}
    print(f"{'design':<40}{'coverage':>10}{'type I':>9}{'no interval':>13}{'median coverage':>17}")
    for index, design in enumerate(DESIGNS):
        rng, errors = np.random.default_rng(index), np.random.default_rng(1000 + index)
        runs = [replicate(design, rng, errors) for _ in range(options.replications)]
        covered = [c for c, _, _ in runs if c is not None]
        tested = [r for _, r, _ in runs if r is not None]
        median_covered = [m for _, _, m in runs if m is not None]
        coverage = float(np.mean(covered)) if covered else None
        type_one = float(np.mean(tested)) if tested else None
        median = float(np.mean(median_covered)) if median_covered else None
        results[design.name] = {
            "coverage": coverage,
            "type_one_error": type_one,
            "no_interval": 1 - len(covered) / len(runs),
            "median_coverage": median,
        }
        print(
            f"{design.name:<40}{'—' if coverage is None else f'{coverage:.3f}':>10}"
            f"{'—' if type_one is None else f'{type_one:.1%}':>9}{1 - len(covered) / len(runs):>13.1%}"
            f"{'—' if median is None else f'{median:.3f}':>17}"
        )
    rng = np.random.default_rng(len(DESIGNS))
    rare = [replicate_rare_rate(rng) for _ in range(options.replications)]
    covered = [c for c, _ in rare if c is not None]
    results["model accuracy, true 3%, 30 panoramas x 10"] = {
        "coverage": float(np.mean(covered)),
        "type_one_error": None,
    }
    print(
        f"{'model accuracy, true 3%, 30 panos x 10':<40}{np.mean(covered):>10.3f}{'—':>9}"
        f"{1 - len(covered) / len(rare):>13.1%}"
    )
    if options.json:
        with open(options.json, "w") as sink:
            json.dump(results, sink, indent=2)


if __name__ == "__main__":
    main()
