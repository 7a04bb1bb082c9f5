"""Right country and continent, PlaNet's table, country breakdowns, power and the cluster bootstrap's medians
in benchmark_tables, against hand-computed tables."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from gameserver.stats.benchmark import RoundTable, benchmark_tables
from gameserver.stats.bootstrap import median_resamples, pigeonhole
from gameserver.stats.clusters import clusters_of
from gameserver.stats.intervals import percentile_interval, t_quantile, wilson_interval
from gameserver.stats.power import decided_needed_independent
from tests.gameserver.stats.rounds import round_table

HAND_HUMAN_KM = [0.5, 300.0, math.inf, 10.0]
HAND_MODEL_KM = [30.0, 100.0, 3000.0, 10.0]


def crafted_table(*, human_km: list[float], model_km: list[float]) -> RoundTable:
    """10 panoramas each played once by each of 10 players (panorama-major order)."""
    panorama, player = np.divmod(np.arange(100), 10)
    return round_table(
        human_km=human_km, model_km=model_km, players=[f"u{j}" for j in player], panoramas=[f"p{i}" for i in panorama]
    )


def test_right_country_and_continent_duels_over_rounds_with_a_known_truth() -> None:
    # 1: truth FR; the human names FR, the model DE (both Europe). 2: truth FR; human ES, model FR.
    # 3: truth unknown: left out. 4: truth JP; the human names CN (Asia), the model US.
    table = dataclasses.replace(
        round_table(human_km=HAND_HUMAN_KM, model_km=HAND_MODEL_KM, countries=["FR", "FR", "", "JP"]),
        continent=np.array(["Europe", "Europe", "", "Asia"], dtype=object),
        human_same_country=np.array([True, False, False, False]),
        model_same_country=np.array([False, True, False, False]),
        human_same_continent=np.array([True, True, False, True]),
        model_same_continent=np.array([True, True, False, False]),
    )
    country, continent = benchmark_tables(table=table, resamples=50)["admin_outcomes"]
    assert (country["name"], country["rounds"], country["human_wins"], country["model_wins"], country["ties"]) == (
        "country",
        3,
        1,
        1,
        1,
    )
    assert (country["human_accuracy"], country["model_accuracy"]) == pytest.approx((1 / 3, 1 / 3))
    assert (continent["rounds"], continent["human_wins"], continent["model_wins"], continent["ties"]) == (3, 1, 0, 2)
    assert (continent["human_accuracy"], continent["model_accuracy"]) == pytest.approx((1.0, 2 / 3))
    assert continent["human_accuracy_low"] < 1.0 == continent["human_accuracy_high"]
    assert "not in that offline data" in benchmark_tables(table=table, resamples=50)["admin_note"]


def test_planet_table_has_humans_and_each_model_with_intervals() -> None:
    table = round_table(human_km=HAND_HUMAN_KM, model_km=HAND_MODEL_KM, models=["m1", "m1", "m2", "m1"])
    humans, first, second = benchmark_tables(table=table, resamples=200)["planet_table"]
    assert [(row["name"], row["kind"], row["rounds"]) for row in (humans, first, second)] == [
        ("Humans", "human", 4),
        ("m1", "model", 3),
        ("m2", "model", 1),
    ]
    assert [a["rate"] for a in humans["accuracy"]] == [0.25, 0.5, 0.5, 0.75, 0.75]
    assert [a["rate"] for a in first["accuracy"]] == pytest.approx([0.0, 1 / 3, 1.0, 1.0, 1.0])
    assert [a["rate"] for a in second["accuracy"]] == [0.0] * 5
    assert (humans["median_km"], first["median_km"], second["median_km"]) == (155.0, 30.0, 3000.0)
    for row in (humans, first):
        assert all(a["low"] <= a["rate"] <= a["high"] for a in row["accuracy"])
    assert first["median_low"] <= first["median_km"] <= first["median_high"]
    assert humans["median_high"] is None  # resamples drawing the timeout twice have an infinite median
    assert second["accuracy"][0]["low"] is None  # one round on one panorama: no cluster inference


def test_country_breakdown_has_win_rates_with_intervals() -> None:
    # FR: the human closer 3 times of 4, DE once of 4; four players, one round each in each country; every round
    # its own panorama.
    table = round_table(
        human_km=[1.0, 1.0, 1.0, 900.0, 900.0, 900.0, 1.0, 900.0],
        model_km=[50.0] * 8,
        players=["ann", "bob", "cy", "dee"] * 2,
        countries=["FR"] * 4 + ["DE"] * 4,
    )
    groups = {g["group"]: g for g in benchmark_tables(table=table, resamples=50)["breakdowns"]["country"]}
    assert [(g["human_wins"], g["model_wins"], g["ties"]) for g in groups.values()] == [(1, 3, 0), (3, 1, 0)]
    assert (groups["FR"]["human_win_rate"], groups["DE"]["human_win_rate"]) == (0.75, 0.25)
    # FR's wins less their rate (0.25, 0.25, 0.25, -0.75): panoramas 0.75 (x 4/3: four alike), players the same
    # 0.75 (x 4/3), cells 0.75: V = 1 + 1 - 0.75 = 1.25, design effect 5/3, 2.4 effective duels, t on
    # Satterthwaite's 2² / (1 / 3 + 1 / 3) = 6 kept within [3, 3].
    effective = 4 / (5 / 3)
    assert (groups["FR"]["low"], groups["FR"]["high"]) == pytest.approx(
        wilson_interval(successes=0.75 * effective, n=effective, z=t_quantile(probability=0.975, df=3))
    )
    assert (groups["FR"]["human_country_rate"], groups["FR"]["model_country_rate"]) == (0.75, 1.0)  # < 300 km


def test_the_model_median_interval_widens_when_its_error_repeats_on_each_panorama() -> None:
    # The model answers panorama i with an error of 10 (i + 1) km, for each of the 10 players.
    model_km = [10.0 * (i + 1) for i in range(10) for _ in range(10)]
    tables = benchmark_tables(table=crafted_table(human_km=[500.0] * 100, model_km=model_km), resamples=1000)
    errors = tables["errors"]
    naive = clusters_of(panorama=np.arange(100), player=np.zeros(100, dtype=np.int64), panoramas=100, players=1)
    boot = pigeonhole(clusters=naive, seed=0, resamples=1000)
    values = np.array(model_km)
    naive_low, naive_high = percentile_interval(
        samples=median_resamples(weights=boot.cell_weights(), ordered=values, ordered_cell=boot.row_cell())
    )
    assert errors["model_median_km"] == 55.0 and naive_low is not None and naive_high is not None
    assert errors["model_median_high"] - errors["model_median_low"] >= 2 * (naive_high - naive_low)


def test_power_scales_independent_duels_by_the_design_effect() -> None:
    assert decided_needed_independent() == 783  # ((1.96 x 0.5 + 0.8416 x sqrt(0.2475)) / 0.05)² = 782.5
    # Humans win every round on panoramas 0-5 and lose every round on 6-9: design effect 100/9 (test_clusters),
    # 10 rounds per panorama and per player, every duel decided; a panorama's duels correlate fully.
    tables = benchmark_tables(
        table=crafted_table(human_km=[1.0] * 60 + [900.0] * 40, model_km=[50.0] * 100), resamples=50
    )
    power = tables["power"]
    assert power["design_effect"] == pytest.approx(100 / 9)
    # 782.5 x 100/9 = 8694.4 rounds: the ceiling of 783 x 100/9 (8700.1) and 10 a panorama and a player.
    assert (power["rounds_needed"], power["panoramas_needed"], power["players_needed"]) == (8701, 871, 871)
    assert power["panorama_correlation"] == pytest.approx(1.0) and power["panoramas_at_least"] == 783
    assert "fixed in advance" in power["note"] and "observed" not in power["note"]
    assert tables["design"]["rounds_per_panorama"] == 10.0 and tables["design"]["busiest_player_share"] == 0.1
