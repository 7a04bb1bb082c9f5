"""gameserver.stats.benchmark against hand-computed counts, textbook intervals and edge cases."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gameserver.stats.benchmark import benchmark_tables, error_cdf
from gameserver.stats.bootstrap import median_resamples, pigeonhole
from gameserver.stats.clusters import clusters_of
from gameserver.stats.intervals import percentile_interval, sign_test_p, wilson_interval
from gameserver.stats.render import render_text
from planet_engine.geo import THRESHOLD_NAMES, THRESHOLDS_KM
from tests.gameserver.stats.rounds import round_table

REPO = Path(__file__).resolve().parents[3]


# Hand-made rounds. 1: human 0.5 km vs model 30 -> human wins street and city, ties the rest.
# 2: 300 vs 100 -> model wins region (200 km), ties the rest. 3: timeout vs 3000 -> both outside
# every radius: ties everywhere, but the model wins head to head. 4: 10 vs 10 -> ties everywhere.
HAND_HUMAN_KM = [0.5, 300.0, math.inf, 10.0]
HAND_MODEL_KM = [30.0, 100.0, 3000.0, 10.0]


@pytest.fixture
def hand_tables() -> dict:
    table = round_table(
        human_km=HAND_HUMAN_KM,
        model_km=HAND_MODEL_KM,
        players=["ann", "bob", "ann", "cy"],
        models=["m1", "m1", "m2", "m1"],
    )
    return benchmark_tables(table=table, seed=0, resamples=200)


def test_wilson_interval_for_seven_of_ten_matches_the_textbook_values() -> None:
    low, high = wilson_interval(successes=7, n=10)
    assert (round(low, 4), round(high, 4)) == (0.3968, 0.8922)


def test_sign_test_matches_exact_binomial_values() -> None:
    assert sign_test_p(wins=28, losses=22) == pytest.approx(0.4798, abs=1e-4)  # PlaNet vs humans
    assert sign_test_p(wins=0, losses=0) == 1.0
    assert sign_test_p(wins=10, losses=0) == pytest.approx(0.001953125, rel=1e-12)
    assert sign_test_p(wins=5, losses=5) == 1.0


def test_sign_test_handles_a_million_decided_rounds_without_overflow() -> None:
    # 500,500 vs 499,500 is one standard deviation out: the normal approximation gives p ~ 0.3173.
    assert sign_test_p(wins=500_500, losses=499_500) == pytest.approx(0.3173, abs=2e-3)
    assert sign_test_p(wins=600_000, losses=400_000) == 0.0


def test_threshold_counts_match_the_hand_computed_table(hand_tables: dict) -> None:
    rows = {row["name"]: row for row in hand_tables["thresholds"]}
    counts = {name: (row["human_wins"], row["model_wins"], row["ties"]) for name, row in rows.items()}
    assert counts == {
        "street": (1, 0, 3),
        "city": (1, 0, 3),
        "region": (0, 1, 3),
        "country": (0, 0, 4),
        "continent": (0, 0, 4),
    }
    assert rows["street"]["human_win_rate"] == 1.0 and rows["street"]["sign_test_p"] == 1.0
    assert rows["country"]["human_win_rate"] is None and rows["country"]["wilson_low"] is None
    assert (rows["city"]["human_accuracy"], rows["city"]["model_accuracy"]) == (0.5, 0.25)
    assert (rows["region"]["human_accuracy"], rows["region"]["model_accuracy"]) == (0.5, 0.75)
    assert (rows["continent"]["human_accuracy"], rows["continent"]["model_accuracy"]) == (0.75, 0.75)


def test_head_to_head_and_medians_match_the_hand_computed_table(hand_tables: dict) -> None:
    duel = hand_tables["head_to_head"]
    assert (duel["human_wins"], duel["model_wins"], duel["ties"], duel["decided"]) == (1, 2, 1, 3)
    assert duel["human_win_rate"] == pytest.approx(1 / 3)
    assert hand_tables["errors"]["human_median_km"] == 155.0  # (10 + 300) / 2; the timeout sorts last
    assert hand_tables["errors"]["model_median_km"] == 65.0
    players = {group["group"]: group for group in hand_tables["breakdowns"]["player"]}
    assert list(players) == ["ann", "bob", "cy"]
    assert (players["ann"]["rounds"], players["ann"]["human_wins"], players["ann"]["model_wins"]) == (2, 1, 1)
    assert players["ann"]["human_median_km"] is None  # median of (0.5, inf) is infinite -> None
    assert players["cy"]["ties"] == 1


def test_tables_are_json_without_nan_and_identical_for_the_same_seed(hand_tables: dict) -> None:
    table = round_table(
        human_km=HAND_HUMAN_KM,
        model_km=HAND_MODEL_KM,
        players=["ann", "bob", "ann", "cy"],
        models=["m1", "m1", "m2", "m1"],
    )
    again = benchmark_tables(table=table, seed=0, resamples=200)
    assert json.dumps(again, allow_nan=False) == json.dumps(hand_tables, allow_nan=False)
    assert "street" in render_text(tables=hand_tables)


def median_interval(*, values: np.ndarray, seed: int) -> tuple[float | None, float | None]:
    """The cluster bootstrap's median interval when every value is its own panorama (one player)."""
    clusters = clusters_of(
        panorama=np.arange(values.size), player=np.zeros(values.size, dtype=np.int64), panoramas=values.size, players=1
    )
    boot = pigeonhole(clusters=clusters, seed=seed, resamples=1000)
    order = np.argsort(values, kind="stable")
    return percentile_interval(
        samples=median_resamples(
            weights=boot.cell_weights(), ordered=values[order], ordered_cell=boot.row_cell()[order]
        )
    )


def test_median_interval_is_seeded_and_contains_the_sample_median() -> None:
    values = np.random.default_rng(3).lognormal(5, 2, size=5001)
    first = median_interval(values=values, seed=7)
    assert first == median_interval(values=values, seed=7)
    assert first != median_interval(values=values, seed=8)
    assert first[0] is not None and first[1] is not None and first[0] <= np.median(values) <= first[1]


def test_median_interval_with_mostly_timeouts_is_infinite_not_nan() -> None:
    low, high = median_interval(values=np.array([1.0, np.inf, np.inf, np.inf]), seed=0)
    assert low is not None and not math.isnan(low) and high == math.inf


def test_ratings_put_an_unbeaten_player_above_the_model_and_the_model_above_a_winless_one() -> None:
    table = round_table(human_km=[1.0] * 20 + [900.0] * 20, model_km=[50.0] * 40, players=["ace"] * 20 + ["zed"] * 20)
    ratings = benchmark_tables(table=table, seed=0, resamples=100)["ratings"]
    assert [(entry["name"], entry["kind"]) for entry in ratings] == [
        ("ace", "human"),
        ("lite2", "model"),
        ("zed", "human"),
    ]
    assert all(math.isfinite(entry["rating"]) and entry["low"] <= entry["rating"] <= entry["high"] for entry in ratings)
    # The model is the anchor, at 1500 exactly (no longer the mean over everyone rated).
    assert ratings[1]["rating"] == 1500.0 and ratings[1]["anchor"]
    assert ratings[0]["rating"] - 1500 == pytest.approx(1500 - ratings[2]["rating"])


def test_empty_table_gives_empty_tables() -> None:
    tables = benchmark_tables(table=round_table(human_km=[], model_km=[]))
    assert tables["rounds"] == 0 and tables["ratings"] == [] and tables["breakdowns"]["player"] == []
    assert tables["errors"]["human_median_km"] is None and tables["paired"]["mean_log_ratio"] is None
    assert tables["head_to_head"]["sign_test_p"] == 1.0 and tables["head_to_head"]["cluster_p"] == 1.0
    assert tables["power"]["rounds_needed"] is None and tables["planet_table"] == [
        {
            "name": "Humans",
            "kind": "human",
            "rounds": 0,
            "median_km": None,
            "median_low": None,
            "median_high": None,
            "median_note": None,
            "accuracy": [
                {"name": name, "km": km, "rate": None, "low": None, "high": None}
                for name, km in zip(THRESHOLD_NAMES, THRESHOLDS_KM, strict=True)
            ],
        }
    ]
    json.dumps(tables, allow_nan=False)
    render_text(tables=tables)


def test_all_ties_and_a_single_round_do_not_crash() -> None:
    ties = benchmark_tables(table=round_table(human_km=[5.0, 40.0], model_km=[5.0, 40.0]), resamples=50)
    assert ties["head_to_head"]["decided"] == 0 and ties["head_to_head"]["human_win_rate"] is None
    assert ties["paired"]["mean_log_ratio"] == 0.0 and ties["power"]["rounds_needed"] is None
    single = benchmark_tables(table=round_table(human_km=[math.inf], model_km=[12.0]), resamples=50)
    assert single["head_to_head"]["model_wins"] == 1 and single["paired"]["sd"] is None
    for tables in (ties, single):
        json.dumps(tables, allow_nan=False)
        render_text(tables=tables)


def test_module_imports_no_django() -> None:
    # Imported through its package, as a notebook would: neither `gameserver` nor its stats package may
    # pull Django (or Celery, which imports django.conf) in.
    code = (
        "import sys, gameserver.stats.benchmark, gameserver.stats.render\n"
        "assert not [m for m in sys.modules if m.split('.')[0] in ('django', 'celery')], 'django imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)


def test_error_cdf_counts_rounds_within_each_distance_and_never_a_timeout() -> None:
    cdf = error_cdf(human_km=np.array([0.5, 30.0, math.inf, 5000.0]), model_km=np.array([2.0, 2.0, 2.0, 2.0]))
    km = np.array(cdf["km"])
    assert km[0] == 0.1 and km[-1] == pytest.approx(20037.5) and np.all(np.diff(km) > 0)
    at = {d: int(np.searchsorted(km, d)) for d in (1.0, 100.0)}  # grid points just above 1 km and 100 km
    assert km[at[1.0]] >= 1.0 and km[at[1.0] - 1] < 1.0
    assert cdf["human"][at[1.0]] == 0.25 and cdf["model"][at[1.0]] == 0.0
    assert cdf["human"][at[100.0]] == 0.5 and cdf["model"][at[100.0]] == 1.0
    assert cdf["human"][-1] == 0.75  # the timeout stays outside even half the earth
    assert error_cdf(human_km=np.array([]), model_km=np.array([]))["human"][0] is None
