"""Bradley–Terry with a Gaussian prior and an anchored model, against hand-solved posterior modes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gameserver.stats.benchmark import benchmark_tables
from gameserver.stats.ratings import ELO_PER_LOG_ODDS, PRIOR_SD_ELO
from tests.gameserver.stats.rounds import round_table


def record(wins: dict[str, tuple[int, int]], models: str = "lite2") -> dict:
    """One round per duel: `wins` maps a player to (human wins, rounds) against one model."""
    players, human_km = [], []
    for name, (won, played) in wins.items():
        players += [name] * played
        human_km += [1.0] * won + [900.0] * (played - won)
    return {
        "human_km": human_km,
        "model_km": [50.0] * len(human_km),
        "players": players,
        "models": [models] * len(human_km),
    }


def by_name(tables: dict) -> dict[str, dict]:
    return {entry["name"]: entry for entry in tables["ratings"]}


def posterior_mode(wins: float, played: int, mean: float = 0.0) -> tuple[float, float]:
    """Hand Newton on wins - played σ(b) - (b - mean) / s² = 0 for a player against the anchor: (b, posterior
    sd). The humans' mean is this with mean 0 on every human round pooled."""
    precision = (ELO_PER_LOG_ODDS / PRIOR_SD_ELO) ** 2
    b = mean
    for _ in range(100):
        p = 1 / (1 + math.exp(-b))
        b += (wins - played * p - precision * (b - mean)) / (played * p * (1 - p) + precision)
    p = 1 / (1 + math.exp(-b))
    return b, 1 / math.sqrt(played * p * (1 - p) + precision)


def test_the_prior_ranks_59_of_68_above_two_perfect_records_of_3() -> None:
    # "even" (50 of 100) keeps the humans' mean, the centre of everyone's prior, near the population's.
    wins = {"steady": (59, 68), "lucky": (3, 3), "luckier": (3, 3), "even": (50, 100)}
    ratings = benchmark_tables(table=round_table(**record(wins)), resamples=200)["ratings"]
    assert ratings[0]["name"] == "steady" and {entry["name"] for entry in ratings[1:3]} == {"lucky", "luckier"}
    humans, _ = posterior_mode(115, 174)  # the four records pooled
    for name, (won, played) in (("steady", (59, 68)), ("lucky", (3, 3))):
        mode, _ = posterior_mode(won, played, humans)
        assert by_name({"ratings": ratings})[name]["rating"] == pytest.approx(1500 + ELO_PER_LOG_ODDS * mode, abs=1e-6)
    # Without a prior 3 of 3 has an infinite maximum likelihood; with it, finite.
    assert 1500 < by_name({"ratings": ratings})["lucky"]["rating"] < by_name({"ratings": ratings})["steady"]["rating"]


def test_a_perfect_record_gets_at_least_the_posterior_interval_and_is_provisional() -> None:
    lucky = by_name(benchmark_tables(table=round_table(**record({"lucky": (3, 3)})), resamples=200))["lucky"]
    _, sd = posterior_mode(3, 3, posterior_mode(3, 3)[0])
    assert lucky["high"] - lucky["rating"] >= 1.959963 * ELO_PER_LOG_ODDS * sd - 1e-6  # 295 Elo
    assert lucky["low"] < 1500 < lucky["rating"] < lucky["high"]
    assert lucky["provisional"]


def test_the_anchor_model_stays_at_1500_and_a_long_record_barely_moves_when_others_join() -> None:
    before = by_name(benchmark_tables(table=round_table(**record({"steady": (59, 68)})), resamples=100))
    after = by_name(benchmark_tables(table=round_table(**record({"steady": (59, 68), "new": (0, 12)})), resamples=100))
    assert before["lite2"]["rating"] == after["lite2"]["rating"] == 1500.0
    assert before["lite2"]["anchor"] and (after["lite2"]["low"], after["lite2"]["high"]) == (1500.0, 1500.0)
    # A newcomer (0 of 12) moves the humans' mean, the centre of steady's prior, by ~120 Elo; steady's 68 rounds
    # move ~11.
    assert after["steady"]["rating"] == pytest.approx(before["steady"]["rating"], abs=15)
    assert not after["steady"]["provisional"] and not after["new"]["provisional"]


def test_the_default_model_is_the_anchor_when_named_else_the_model_with_most_rounds() -> None:
    first, second = record({"ann": (6, 10)}, models="old"), record({"ann": (4, 12)}, models="new")
    table = round_table(**{key: first[key] + second[key] for key in first})
    assert benchmark_tables(table=table, resamples=50)["ratings_info"]["anchor"] == "new"
    tables = benchmark_tables(table=table, resamples=50, anchor_model="old")
    assert tables["ratings_info"]["anchor"] == "old" and by_name(tables)["old"]["rating"] == 1500.0
    assert by_name(tables)["new"]["rating"] != 1500.0
    assert benchmark_tables(table=table, resamples=50, anchor_model="gone")["ratings_info"]["anchor"] == "new"


def test_bootstrap_intervals_widen_with_fewer_rounds() -> None:
    ratings = by_name(
        benchmark_tables(table=round_table(**record({"many": (60, 100), "few": (12, 20)})), resamples=300)
    )
    assert ratings["few"]["high"] - ratings["few"]["low"] > ratings["many"]["high"] - ratings["many"]["low"]
    assert np.isfinite([ratings["few"]["low"], ratings["few"]["high"]]).all()


def test_a_short_record_is_pulled_towards_the_humans_not_towards_the_model() -> None:
    # Ten players win 60 of 80 against the model; a newcomer wins 3 of 4, the same rate. Centred on the anchor
    # model the prior pulled the newcomer ~100 Elo below the others; centred on the humans' mean it stays close.
    wins = {f"p{i}": (60, 80) for i in range(10)} | {"new": (3, 4)}
    tables = benchmark_tables(table=round_table(**record(wins)), resamples=50)
    ratings = by_name(tables)
    humans, _ = posterior_mode(603, 804)
    assert tables["ratings_info"]["humans_prior_mean"] == pytest.approx(1500 + ELO_PER_LOG_ODDS * humans, abs=1e-6)
    assert abs(ratings["new"]["rating"] - ratings["p0"]["rating"]) < 15
    assert ratings["new"]["provisional"]


def test_a_player_not_connected_to_the_anchor_is_listed_apart_and_not_ranked() -> None:
    # ann and bob play lite2 (the anchor: most rounds); cy plays only "other", which no one else played.
    first = record({"ann": (6, 10), "bob": (4, 10)})
    second = record({"cy": (5, 5)}, models="other")
    tables = benchmark_tables(table=round_table(**{key: first[key] + second[key] for key in first}), resamples=50)
    entries = tables["ratings"]
    assert [entry["name"] for entry in entries if not entry["connected"]] == ["cy", "other"]
    assert [entry["connected"] for entry in entries] == [True, True, True, False, False]  # apart, at the end
    assert all(entry["rank"] is None for entry in entries if not entry["connected"])
    assert sorted(entry["rank"] for entry in entries if entry["connected"]) == [1, 2, 3]


def test_rank_intervals_hold_the_rank_and_are_wider_for_a_short_record() -> None:
    wins = {"top": (90, 100), "mid": (50, 100), "low": (10, 100), "new": (2, 3)}
    entries = by_name(benchmark_tables(table=round_table(**record(wins)), resamples=200))
    for entry in entries.values():
        assert entry["rank_low"] <= entry["rank"] <= entry["rank_high"]
    assert entries["top"]["rank"] == 1 and entries["top"]["rank_high"] <= 2
    assert entries["new"]["rank_high"] - entries["new"]["rank_low"] >= 2
