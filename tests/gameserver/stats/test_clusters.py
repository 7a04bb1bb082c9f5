"""Two-way cluster-robust inference and the pigeonhole bootstrap against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gameserver.stats.bootstrap import median_resamples, pigeonhole, pooled_group_counts
from gameserver.stats.cluster_intervals import contest_inference, mean_interval, rate_intervals
from gameserver.stats.clusters import (
    DENSE_KEYS,
    EXACT_FOURTH_POWER,
    Clusters,
    _square_sums,
    _squared_and_fourth,
    clusters_of,
    distinct_keys,
    two_way,
)
from gameserver.stats.intervals import holm, sign_test_p, t_quantile, t_two_sided_p, wilson_interval


def clusters(panorama: list[int], player: list[int]) -> Clusters:
    return clusters_of(
        panorama=np.array(panorama), player=np.array(player), panoramas=max(panorama) + 1, players=max(player) + 1
    )


def crafted_duels() -> tuple[np.ndarray, np.ndarray, Clusters]:
    """10 panoramas, each played once by each of 10 players: the humans win every round on panoramas 0-5 and
    lose every round on 6-9. 60 wins of 100 look like independent evidence; they are 10 panoramas' worth."""
    panorama, player = np.divmod(np.arange(100), 10)
    human_win = panorama < 6
    return human_win, ~human_win, clusters_of(panorama=panorama, player=player, panoramas=10, players=10)


def test_t_distribution_matches_numerical_integration_and_tables() -> None:
    df: float
    for t, df in ((2.0, 10), (0.6325, 9), (3.5, 3)):
        grid = np.linspace(abs(t), 2000, 2_000_001)
        log_scale = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
        tail = np.trapezoid(np.exp(log_scale - (df + 1) / 2 * np.log1p(grid * grid / df)), grid)
        assert t_two_sided_p(t=t, df=df) == pytest.approx(2 * tail, abs=1e-7)
    assert t_two_sided_p(t=0.8, df=1) == pytest.approx(1 - 2 / math.pi * math.atan(0.8))  # Cauchy
    # Student's table: 12.706, 4.303, 2.365, 2.262, 2.042 and the normal 1.960.
    for df, expected in ((1, 12.7062), (2, 4.3027), (7, 2.3646), (9, 2.2622), (30, 2.0423), (10**7, 1.9600)):
        assert t_quantile(probability=0.975, df=df) == pytest.approx(expected, abs=1e-4)
    for df in (1.2, 1.5, 2.9, 4.4):  # Satterthwaite's degrees of freedom are not whole
        t = t_quantile(probability=0.975, df=df)
        assert t_two_sided_p(t=t, df=df) == pytest.approx(0.05, abs=1e-10)


def test_holm_multiplies_the_ordered_p_values_and_keeps_them_monotone() -> None:
    # Sorted: 0.005 x 4 = 0.02, 0.01 x 3 = 0.03, 0.03 x 2 = 0.06, 0.04 x 1 = 0.04 -> raised to 0.06.
    assert holm([0.01, 0.04, 0.03, 0.005, None]) == pytest.approx([0.03, 0.06, 0.06, 0.02, None])
    assert holm([0.9, 0.8]) == [1.0, 1.0] and holm([None, None]) == [None, None]


def test_two_way_variance_adds_the_panorama_and_player_terms_and_subtracts_the_cells() -> None:
    # Rows (panorama, player, score): (a, x, +1) (a, y, +1) (b, x, -1) (c, y, +1).
    terms = two_way(
        scores=np.array([1.0, 1.0, -1.0, 1.0]),
        members=np.ones(4, dtype=bool),
        clusters=clusters([0, 0, 1, 2], [0, 1, 0, 1]),
    )
    # Panoramas: a 2² + b 1 + c 1 = 6; players: x (1 - 1)² + y 2² = 4; cells (one row each): 4.
    assert (terms.panorama[0, 0], terms.player[0, 0], terms.cell[0, 0], terms.squares[0, 0]) == (6, 4, 4, 4)
    # Effective clusters (Kish, (sum n)² / sum n²): panoramas of 2, 1, 1 rows are 16 / 6 = 2.67, players of 2
    # and 2 rows are 2. Small-sample factors G/(G - 1): 1.6 and (at 2 or fewer) 2.
    assert (terms.panoramas_effective[0], terms.players_effective[0]) == pytest.approx((16 / 6, 2.0))
    assert terms.variance()[0, 0] == pytest.approx(13.6)  # max(6 x 1.6 + 4 x 2 - 4, 9.6, 8, 4)
    assert terms.design_effect()[0, 0] == pytest.approx(3.4)
    # Degrees of freedom per term from (sum n²)² / sum n⁴ clusters - 1: 36 / 18 - 1 = 1 and 64 / 32 - 1 = 1;
    # Satterthwaite (6 + 4)² / (6² / 1 + 4² / 1) = 1.9, kept within [1, 1].
    assert terms.degrees_of_freedom()[0, 0] == 1


def test_a_single_player_is_fixed_and_a_single_cell_cannot_be_tested() -> None:
    one_player = two_way(
        scores=np.array([1.0, 1.0, -1.0]), members=np.ones(3, dtype=bool), clusters=clusters([0, 0, 1], [0, 0, 0])
    )
    # Panoramas: 2² + 1 = 5, doubled (1.8 effective panoramas); 25 / 17 - 1 = 0.47 degrees of freedom, kept at
    # 0.5: under 1, too few clusters to say.
    assert one_player.variance()[0, 0] == 10.0 and one_player.degrees_of_freedom()[0, 0] == 0.5
    one_cell = contest_inference(
        human_win=np.array([True, True]), model_win=np.array([False, False]), clusters=clusters([0, 0], [0, 0])
    )[0]
    assert one_cell["cluster_p"] is None and one_cell["low"] is None and one_cell["cluster_df"] == 0


def test_design_effect_corrected_sign_test_and_interval_on_the_crafted_duels() -> None:
    human_win, model_win, design = crafted_duels()
    result = contest_inference(human_win=human_win, model_win=model_win, clusters=design)[0]
    # Win - 0.6 summed: panoramas 6 x (10 x 0.4)² + 4 x (10 x -0.6)² = 240; players 10 x (6 x 0.4 - 4 x 0.6)² = 0;
    # cells 60 x 0.16 + 40 x 0.36 = 24 = 100 x 0.6 x 0.4. V = max(240 x 10/9 + 0 - 24, 266.7, 0, 24) = 266.7 (10
    # equal panoramas: the factor 10/9): design effect 100/9, 9 effective duels.
    assert result["design_effect"] == pytest.approx(100 / 9) and result["effective_decided"] == pytest.approx(9.0)
    # Satterthwaite: 240² / (240² / 9) = 9 degrees of freedom.
    assert result["cluster_df"] == 9 and (result["panoramas"], result["players"]) == (10, 10)
    # Rao & Scott: t = (60 - 40) / sqrt(100 x 100/9) = 0.6.
    assert result["cluster_p"] == pytest.approx(t_two_sided_p(t=0.6, df=9))
    assert result["cluster_p"] == pytest.approx(0.5633, abs=1e-3)
    assert sign_test_p(wins=60, losses=40) == pytest.approx(0.0569, abs=1e-4)  # what independence would claim
    effective = 9.0
    assert (result["low"], result["high"]) == pytest.approx(
        wilson_interval(successes=0.6 * effective, n=effective, z=t_quantile(probability=0.975, df=9))
    )
    naive = wilson_interval(successes=60, n=100)
    assert result["high"] - result["low"] > 2.5 * (naive[1] - naive[0])


def test_one_player_holding_most_rounds_is_about_one_players_evidence() -> None:
    # One player holds 200 of 230 rounds, every round its own panorama, wins drawn independently at 77%. About
    # humans in general that is nearly one player's word (1.3 effective players): no test and no interval, "too
    # few players to say", where 230 independent duels would claim p < 1e-12.
    rng = np.random.default_rng(7)
    player = np.concatenate([np.zeros(200, dtype=np.int64), np.repeat(np.arange(1, 16), 2)])
    human_win = rng.random(230) < 0.77
    result = contest_inference(
        human_win=human_win,
        model_win=~human_win,
        clusters=clusters_of(panorama=np.arange(230), player=player, panoramas=230, players=16),
    )[0]
    assert sign_test_p(wins=int(human_win.sum()), losses=int((~human_win).sum())) < 1e-12
    assert result["effective_players"] < 1.5 and result["too_few_players"]
    assert result["cluster_p"] is None and result["low"] is None and result["verdict"] == "too few players to say"


def test_the_interval_leaves_out_half_exactly_when_the_cluster_test_rejects() -> None:
    rng = np.random.default_rng(5)
    for _ in range(40):
        panorama, player = rng.integers(0, 12, 80), rng.integers(0, 6, 80)
        human_win = rng.random(80) < rng.uniform(0.3, 0.8)
        result = contest_inference(
            human_win=human_win,
            model_win=~human_win,
            clusters=clusters_of(panorama=panorama, player=player, panoramas=12, players=6),
        )[0]
        if result["low"] is None:  # too few effective clusters to say: neither an interval nor a test
            assert result["cluster_p"] is None
            continue
        assert (result["low"] > 0.5 or result["high"] < 0.5) == (result["cluster_p"] < 0.05)


def test_a_rate_of_one_stands_for_its_effective_clusters_not_its_rounds() -> None:
    # Four hits on panoramas (a, a, b, b) by players (x, y, x, y): no spread to measure a design effect on, so its
    # effective size is its effective clusters, 2 (a rate of 0 taken at its full size missed the truth whenever
    # it did not hold), and t on 2 - 1 = 1 degree of freedom. Clustered by panorama alone (the model's side): two
    # players would be too few to say anything about humans.
    (((rate, low, high),),) = rate_intervals(
        hits=np.ones(4, dtype=bool),
        members=np.ones(4, dtype=bool),
        clusters=clusters([0, 0, 1, 1], [0, 1, 0, 1]).panorama_only(),
    )
    expected = wilson_interval(successes=2, n=2, z=t_quantile(probability=0.975, df=1))
    assert rate == 1.0 and high == 1.0 and (low, high) == pytest.approx(expected) and low is not None and low < 0.5


def test_rate_intervals_per_group_use_each_groups_clusters() -> None:
    human_win, _, design = crafted_duels()
    groups = (design.panorama >= 5).astype(np.int64)  # panoramas 0-4 (all wins) and 5-9 (one win, four losses)
    first, second = rate_intervals(
        hits=human_win, members=np.ones(100, dtype=bool), clusters=design, groups=groups, group_count=2
    )[0]
    assert first[0] == 1.0 and second[0] == pytest.approx(0.2)
    # Group 1: hit - 0.2 is 0.8 on panorama 5 and -0.2 on 6-9: panoramas 8² + 4 x 2² = 80 (x 5/4: 5 equal
    # panoramas), players 10 x 0 = 0, cells 10 x 0.64 + 40 x 0.04 = 8: V = max(100 - 8, 100, 0, 8) = 100 over 8,
    # design effect 12.5, 4 effective rounds.
    expected = wilson_interval(successes=0.2 * 4, n=4, z=t_quantile(probability=0.975, df=4))
    assert second[1:] == pytest.approx(expected)


def test_mean_interval_is_a_t_interval_with_the_two_way_variance() -> None:
    values = np.array([1.0, 2.0, 3.0, 4.0])
    result = mean_interval(
        values=values, members=np.ones(4, dtype=bool), clusters=clusters([0, 0, 1, 2], [0, 1, 0, 1]).panorama_only()
    )
    # Residuals (-1.5, -0.5, 0.5, 1.5): panoramas (-2)² + 0.25 + 2.25 = 6.5 (x 1.6, 2.67 effective panoramas),
    # squares 5: V = max(10.4, 5) = 10.4 on (Σn²)² / Σn⁴ - 1 = 1 degree of freedom; half-width t(1) sqrt(10.4) / 4.
    # With its two players the mean would be about too few players to say anything.
    half = t_quantile(probability=0.975, df=1) * math.sqrt(10.4) / 4
    assert result["mean"] == 2.5 and (result["low"], result["high"]) == pytest.approx((2.5 - half, 2.5 + half))
    assert result["design_effect"] == pytest.approx(10.4 / 5)
    two_players = mean_interval(
        values=values, members=np.ones(4, dtype=bool), clusters=clusters([0, 0, 1, 2], [0, 1, 0, 1])
    )
    assert two_players["mean"] == 2.5 and two_players["low"] is None


def test_pooled_groups_stay_within_the_cell_budget() -> None:
    assert pooled_group_counts(panoramas=111, players=3, max_cells=4096) == (111, 3)
    assert pooled_group_counts(panoramas=20_000, players=1000, max_cells=4096) == (64, 64)
    assert pooled_group_counts(panoramas=2000, players=10, max_cells=4096) == (409, 10)
    assert pooled_group_counts(panoramas=5, players=9000, max_cells=4096) == (5, 819)


def test_bootstrap_medians_equal_np_median_of_the_repeated_rows() -> None:
    rng = np.random.default_rng(1)
    for n, panoramas, players in ((1, 1, 1), (7, 3, 2), (300, 40, 7), (2000, 300, 40)):
        panorama, player = rng.integers(0, panoramas, n), rng.integers(0, players, n)
        values = np.round(rng.lognormal(3, 1, n))
        values[rng.random(n) < 0.1] = np.inf  # timeouts
        design = clusters_of(panorama=panorama, player=player, panoramas=panoramas, players=players)
        boot = pigeonhole(clusters=design, seed=3, resamples=200, max_cells=64)
        weights, cell, order = boot.cell_weights(), boot.row_cell(), np.argsort(values, kind="stable")
        medians = median_resamples(weights=weights, ordered=values[order], ordered_cell=cell[order])
        for b in range(200):
            repeated = np.repeat(values, weights[b, cell].astype(np.int64))
            assert math.isnan(medians[b]) if not repeated.size else medians[b] == np.median(repeated)


@pytest.mark.parametrize("high", [7, 10**6, DENSE_KEYS + 10])
def test_distinct_keys_are_numpys_unique_with_its_inverse(high):
    keys = np.random.default_rng(3).integers(0, high, 5000)
    distinct, inverse = distinct_keys(keys)
    expected, expected_inverse = np.unique(keys, return_inverse=True)
    assert np.array_equal(distinct, expected) and np.array_equal(inverse, expected_inverse)
    assert inverse.dtype == np.int64


def test_cells_are_numbered_in_key_order_only_when_a_cell_holds_two_rounds() -> None:
    repeated = clusters([2, 0, 2, 1], [0, 1, 0, 0])
    assert repeated.cell.tolist() == [2, 0, 2, 1] and repeated.cells == 3  # keys 4, 1, 4, 2
    distinct = clusters([2, 0, 1], [0, 1, 0])
    assert distinct.cells == 3 and sorted(distinct.cell.tolist()) == [0, 1, 2]


def test_one_players_term_is_the_groups_own_totals() -> None:
    design = clusters([0, 0, 1, 2, 2, 3], [0, 1, 0, 1, 0, 1]).panorama_only()
    scores, groups = np.array([[0.5, -0.5, 1.5, 0.25, -1.0, 2.0]]), np.array([0, 1, 0, 1, 1, 2])
    terms = two_way(scores=scores, clusters=design, rows=np.arange(6), groups=groups, group_count=3)
    square, held, sizes = _square_sums(
        codes=np.zeros(6, dtype=np.int64), count=1, scores=scores, groups=groups, group_count=3
    )
    assert np.array_equal(terms.player, square) and np.array_equal(terms.players, held)
    assert np.array_equal(terms.players_effective, terms.rows**2 / sizes[0])


def test_cluster_sizes_fourth_powers_are_the_values_pow_gives():
    # Exact integers up to EXACT_FOURTH_POWER; above it (a fourth power past 2^53) pow itself is kept.
    # 9805⁴ is past 2^53: its square squared and numpy's pow round it apart (x86_64, numpy 2).
    for counts in (np.arange(EXACT_FOURTH_POWER + 1), np.array([2, 9805, 9809]), np.arange(0)):
        squared, fourth = _squared_and_fourth(counts)
        sizes = counts.astype(np.float64)
        assert np.array_equal(squared, sizes**2) and np.array_equal(fourth, sizes**4)
    assert float(EXACT_FOURTH_POWER) ** 4 < 2**53 <= float(EXACT_FOURTH_POWER + 1) ** 4
