"""What the headline estimates and how it is hedged: round- and player-weighted win rates, paired accuracy
differences, "too few players to say", the timeouts' sensitivity row and the headline multiple-testing family."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gameserver.stats.benchmark import benchmark_tables
from gameserver.stats.intervals import t_quantile
from gameserver.stats.render import render_text
from tests.gameserver.stats.rounds import round_table


def dominated_table() -> dict:
    # Ann plays 40 rounds and wins every one; bob, cy, dee and eve play 5 each and lose every one.
    players = ["ann"] * 40 + [name for name in ("bob", "cy", "dee", "eve") for _ in range(5)]
    human_km = [1.0] * 40 + [900.0] * 20
    return benchmark_tables(table=round_table(human_km=human_km, model_km=[50.0] * 60, players=players), resamples=50)


def test_round_and_player_weighted_win_rates_are_side_by_side_with_the_headline_named() -> None:
    estimands = dominated_table()["estimands"]
    assert estimands["headline"] == "round_weighted" and "player-weighted" in estimands["headline_reason"]
    assert estimands["round_weighted"]["human_win_rate"] == pytest.approx(40 / 60)
    weighted = estimands["player_weighted"]
    assert weighted["rate"] == pytest.approx(1 / 5) and weighted["players"] == 5
    # Student's t over the five players' rates (1, 0, 0, 0, 0): sd sqrt(0.2), 4 degrees of freedom.
    half = t_quantile(probability=0.975, df=4) * math.sqrt(0.2) / math.sqrt(5)
    assert (weighted["low"], weighted["high"]) == pytest.approx((0.0, 0.2 + half))


def test_one_player_holding_most_rounds_is_too_few_players_to_say() -> None:
    # 3 players, 204 of 215 rounds held by one: about 1.1 effective players.
    players = ["ann"] * 204 + ["bob"] * 6 + ["cy"] * 5
    rng = np.random.default_rng(3)
    table = round_table(
        human_km=list(np.where(rng.random(215) < 0.7, 1.0, 900.0)), model_km=[50.0] * 215, players=players
    )
    tables = benchmark_tables(table=table, resamples=50)
    head = tables["head_to_head"]
    assert head["too_few_players"] and head["verdict"] == "too few players to say"
    assert head["low"] is None and head["cluster_p"] is None and head["effective_players"] < 1.2
    assert tables["planet_table"][0]["accuracy"][0]["low"] is None  # the humans' accuracy: no interval either
    assert "too few players to say" in render_text(tables=tables)


def test_paired_accuracy_difference_at_each_radius_is_human_minus_model_with_an_interval() -> None:
    rng = np.random.default_rng(5)
    players = [f"p{i % 8}" for i in range(160)]
    human_km = list(rng.lognormal(5, 2, 160))
    model_km = list(rng.lognormal(5, 2, 160))
    rows = benchmark_tables(table=round_table(human_km=human_km, model_km=model_km, players=players), resamples=50)[
        "accuracy_differences"
    ]
    assert [row["km"] for row in rows] == [1, 25, 200, 750, 2500]
    for row, km in zip(rows, (1, 25, 200, 750, 2500), strict=True):
        expected = np.mean(np.array(human_km) <= km) - np.mean(np.array(model_km) <= km)
        assert row["difference"] == pytest.approx(expected)
        if row["low"] is not None:
            assert row["low"] <= row["difference"] <= row["high"]
    assert all(row["low"] is not None for row in rows[2:])


def test_timeouts_as_losses_sit_beside_the_same_with_timeouts_left_out() -> None:
    # 6 players: 30 wins, 10 losses and 20 timeouts (a timeout loses the closer guess).
    human_km = [1.0] * 30 + [900.0] * 10 + [math.inf] * 20
    players = [f"p{i % 6}" for i in range(60)]
    row = benchmark_tables(table=round_table(human_km=human_km, model_km=[50.0] * 60, players=players), resamples=50)[
        "timeout_sensitivity"
    ]
    assert row["timeouts"] == 20
    assert row["as_losses"]["human_win_rate"] == pytest.approx(30 / 60)
    assert row["excluded"]["human_win_rate"] == pytest.approx(30 / 40) and row["excluded"]["decided"] == 40
    assert row["excluded"]["low"] is not None


def test_holm_family_holds_the_radii_the_closer_guess_and_right_country_and_continent() -> None:
    rng = np.random.default_rng(2)
    players = [f"p{i % 10}" for i in range(200)]
    table = round_table(
        human_km=list(rng.lognormal(5, 2, 200)), model_km=list(rng.lognormal(4.5, 2, 200)), players=players
    )
    tables = benchmark_tables(table=table, resamples=50)
    family = [*tables["thresholds"], tables["head_to_head"], *tables["admin_outcomes"]]
    assert tables["headline_family"]["tests"][5:] == ["closer guess", "right country", "right continent"]
    defined = sorted((row["cluster_p"], row["cluster_p_holm"]) for row in family if row["cluster_p"] is not None)
    assert len(defined) == tables["headline_family"]["size"] > 5
    running = 0.0
    for rank, (p, adjusted) in enumerate(defined):
        running = max(running, min(1.0, (len(defined) - rank) * p))
        assert adjusted == pytest.approx(running)


def test_breakdowns_are_labelled_exploratory() -> None:
    tables = dominated_table()
    assert all(group["exploratory"] for groups in tables["breakdowns"].values() for group in groups)
    assert "exploratory" in tables["exploratory_note"]
    assert "exploratory" in render_text(tables=tables)
