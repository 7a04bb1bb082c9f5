"""One player's rating over time: each prefix's posterior mode with the models held fixed, whose full record is
that player's rating in the joint fit (two models, one of them free)."""

from __future__ import annotations

import numpy as np
import pytest

from gameserver.stats.benchmark import benchmark_tables
from gameserver.stats.ratings import player_rating_path
from tests.gameserver.stats.rounds import round_table


def test_the_full_record_gives_the_joint_fits_rating_and_a_prefix_its_own():
    # ann: 3 of 4 against lite2 (the anchor), 1 of 3 against knn; bob: 2 of 4 against knn.
    players = ["ann"] * 7 + ["bob"] * 4
    models = ["lite2"] * 4 + ["knn"] * 3 + ["knn"] * 4
    human_km = [1.0, 1.0, 1.0, 900.0, 1.0, 900.0, 900.0, 1.0, 1.0, 900.0, 900.0]
    tables = benchmark_tables(
        table=round_table(human_km=human_km, model_km=[50.0] * 11, players=players, models=models),
        resamples=50,
        anchor_model="lite2",
    )
    rating = {entry["name"]: entry["rating"] for entry in tables["ratings"]}
    score = np.array([1.0 if km < 50 else 0.0 for km in human_km[:7]])
    elo = np.array([rating[model] for model in models[:7]])
    (everything,) = player_rating_path(
        model_elo=elo, score=score, ends=[7], human_mean_elo=tables["ratings_info"]["humans_prior_mean"]
    )
    assert everything == pytest.approx(rating["ann"], abs=1e-6)
    # The first four alone: 3 of 4 against the anchor, as the joint fit of that record alone would say (with that
    # record's humans' mean as the prior's centre).
    alone = benchmark_tables(
        table=round_table(human_km=human_km[:4], model_km=[50.0] * 4, players=players[:4], models=models[:4]),
        resamples=50,
    )
    first_four, _ = player_rating_path(
        model_elo=elo, score=score, ends=[4, 7], human_mean_elo=alone["ratings_info"]["humans_prior_mean"]
    )
    assert first_four == pytest.approx(alone["ratings"][0]["rating"], abs=1e-6)


def test_no_rounds_no_points():
    assert player_rating_path(model_elo=np.array([]), score=np.array([]), ends=[], human_mean_elo=1500.0) == []
