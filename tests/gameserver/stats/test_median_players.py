"""The humans' median error carries its cluster-bootstrap interval only from ten effective players up: below, the
tables give the median and say there are too few players for an interval (its coverage fell to 88% with three
players of very different skill: docs/statistics.md). The model's median is clustered by panorama alone."""

from __future__ import annotations

import numpy as np

from gameserver.stats.benchmark import benchmark_tables
from gameserver.stats.clusters import MEDIAN_MIN_PLAYERS, TOO_FEW_PLAYERS, effective_players
from gameserver.stats.render import render_text
from tests.gameserver.stats.rounds import round_table


def tables_for(players: list[str]) -> dict:
    rng = np.random.default_rng(5)
    human_km = rng.lognormal(6, 1, size=len(players)).tolist()
    model_km = rng.lognormal(6, 1, size=len(players)).tolist()
    return benchmark_tables(
        table=round_table(human_km=human_km, model_km=model_km, players=players, models=["m"] * len(players)),
        seed=0,
        resamples=200,
    )


def test_kish_counts_players_by_their_share_of_the_rounds() -> None:
    assert effective_players(np.array([0, 1, 2] * 10)) == 3.0
    assert 1.1 < effective_players(np.array([0] * 204 + [1] * 6 + [2] * 5)) < 1.2
    assert effective_players(np.array([], dtype=np.int64)) == 0.0


def test_three_players_get_a_median_and_no_interval_ten_get_both() -> None:
    few = tables_for([f"p{i % 3}" for i in range(60)])
    errors = few["errors"]
    assert errors["human_median_km"] is not None and errors["human_median_low"] is None
    assert errors["human_median_note"] == TOO_FEW_PLAYERS
    humans = next(row for row in few["planet_table"] if row["kind"] == "human")
    assert humans["median_low"] is None and humans["median_note"] == TOO_FEW_PLAYERS
    model = next(row for row in few["planet_table"] if row["kind"] == "model")
    assert model["median_low"] is not None and model["median_note"] is None  # panoramas only
    assert TOO_FEW_PLAYERS in render_text(tables=few)

    many = tables_for([f"p{i % int(MEDIAN_MIN_PLAYERS)}" for i in range(60)])
    assert many["errors"]["human_median_low"] is not None and many["errors"]["human_median_note"] is None
