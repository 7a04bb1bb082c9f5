"""Two-way cluster-robust inference: rounds share panoramas (the model's error on one is the same every time)
and players (a few may hold most rounds), so they are not independent duels.

Every total gets Cameron, Gelbach & Miller's (2011) two-way variance V_panorama + V_player - V_cell, each term
a sum over clusters of the squared cluster total, never below either one-way variance nor below the variance
of independent rounds (so it is conservative where their formula can fall). Kish's design effect is V over the
independent-rounds variance and the effective sample size the rounds over it. The duel test is the sign test
corrected by the design effect (Rao & Scott 1981), referred to Student's t (few clusters need t, not normal,
critical values: Cameron & Miller 2015) on Satterthwaite's degrees of freedom for the two terms. A dimension with a
single cluster is left out (one player: the claim is
about that player). Every statistic can be computed per
group (a breakdown's countries) in the same vectorised pass. Pure NumPy, no Django.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Below this many effective players (Kish) a result about "the humans" rests on one or two people: no interval
# and no test is given, and the tables say "too few players to say" instead (3 players holding 204 of 215 rounds
# are about 1.1 effective players). A dimension of one player is left out instead: the claim is about that player.
MIN_EFFECTIVE_PLAYERS = 3.0
TOO_FEW_PLAYERS = "too few players to say"
# The humans' median error gets its cluster-bootstrap interval from this many effective players up: with 3 players
# whose typical errors differ by factors of e its 95% interval covered 88% (bench/stats_calibration.py,
# docs/statistics.md), as resampling 3 players cannot show how far a fourth would move the median.
MEDIAN_MIN_PLAYERS = 10.0
# Per-group cluster totals are kept in one bincount while groups x clusters stays under this; beyond it the
# (group, cluster) pairs are factorised first.
DENSE_PAIRS = 1 << 22
# Keys below this many values are factorised by marking them in a table of that size (no sort); above, np.unique.
DENSE_KEYS = 1 << 25
# The largest count whose fourth power is an exact float64 (below 2^53).
EXACT_FOURTH_POWER = 9741


@dataclass(frozen=True)
class Clusters:
    """Each row's panorama, player and (panorama, player) cell as int64 codes (N,), and how many of each."""

    panorama: np.ndarray
    player: np.ndarray
    cell: np.ndarray
    panoramas: int
    players: int
    cells: int

    def panorama_only(self) -> Clusters:
        """The same rounds clustered by panorama alone, for the model's own outcomes: its guess does not depend
        on who plays, so its rounds depend on one another only through repeated panoramas."""
        return Clusters(
            panorama=self.panorama,
            player=np.zeros_like(self.player),
            cell=self.panorama,
            panoramas=self.panoramas,
            players=1,
            cells=self.panoramas,
        )


def clusters_of(*, panorama: np.ndarray, player: np.ndarray, panoramas: int, players: int) -> Clusters:
    panorama, player = np.asarray(panorama, dtype=np.int64), np.asarray(player, dtype=np.int64)
    keys = panorama * max(players, 1) + player
    # Seen-before rounds are excluded, so every round is usually a cell of its own: then the cells are only
    # counted, not numbered in key order (the cell term reads the codes only when some cell holds two rounds).
    cell = np.arange(keys.size) if _distinct_count(keys) == keys.size else distinct_keys(keys)[1]
    cells = int(cell.max()) + 1 if cell.size else 0
    return Clusters(
        panorama=panorama, player=player, cell=cell.astype(np.int64), panoramas=panoramas, players=players, cells=cells
    )


def distinct_keys(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """np.unique(keys, return_inverse=True) for non-negative int64 keys: the sorted distinct keys and each key's
    index among them. Keys below DENSE_KEYS are marked in a table that long instead (linear time, no sort)."""
    size = int(keys.max()) + 1 if keys.size else 0
    if size > DENSE_KEYS or (keys.size and int(keys.min()) < 0):
        return np.unique(keys, return_inverse=True)
    present = np.zeros(size, dtype=bool)
    present[keys] = True
    distinct = np.flatnonzero(present)
    index = np.zeros(size, dtype=np.int32)  # (size,) 4 bytes a key: 128 MB at DENSE_KEYS
    index[distinct] = np.arange(distinct.size, dtype=np.int32)
    return distinct, index[keys].astype(np.int64)


def _distinct_count(keys: np.ndarray) -> int:
    """How many distinct values the non-negative int64 `keys` hold (marks in a table below DENSE_KEYS)."""
    size = int(keys.max()) + 1 if keys.size else 0
    if size > DENSE_KEYS or (keys.size and int(keys.min()) < 0):
        return int(np.unique(keys).size)
    present = np.zeros(size, dtype=bool)
    present[keys] = True
    return int(np.count_nonzero(present))


@dataclass(frozen=True)
class TwoWay:
    """For k scores and G groups: each score's total (k, G), its sum of squares (the variance if rows were
    independent), the sums over panoramas, players and cells of the squared cluster totals, and per group
    (G,) the member rows and the panoramas and players holding one."""

    total: np.ndarray
    squares: np.ndarray
    panorama: np.ndarray
    player: np.ndarray
    cell: np.ndarray
    rows: np.ndarray
    panoramas: np.ndarray
    players: np.ndarray
    # (G,) Kish's effective number of clusters per dimension, (sum of sizes)² / sum of sizes²: 3 players
    # holding 204 of 215 rounds are about 3 clusters, not the 14 that hold a round.
    panoramas_effective: np.ndarray
    players_effective: np.ndarray
    # (G,) the clusters behind each term's degrees of freedom: (sum n²)² / sum n⁴ (fewer than Kish's where sizes
    # are unequal: the variance of 3 large players' totals is estimated from about 3 numbers).
    panoramas_df: np.ndarray
    players_df: np.ndarray

    def variance(self) -> np.ndarray:
        """(k, G) the two-way variance of the total, each one-way term with the small-sample factor G/(G-1)
        (CR1: the sum of squared cluster totals understates the variance over few clusters), G the dimension's
        effective clusters; NaN where neither dimension has two clusters."""
        use_panorama, use_player = self.panoramas >= 2, self.players >= 2
        panorama = self.panorama * _small_sample(self.panoramas_effective, use_panorama)
        player = self.player * _small_sample(self.players_effective, use_player)
        both = np.maximum(np.maximum(panorama + player - self.cell, panorama), player)
        one = np.where(use_panorama, panorama, np.where(use_player, player, np.nan))
        return np.maximum(np.where(use_panorama & use_player, both, one), self.squares)

    def effective_clusters(self) -> np.ndarray:
        """(G,) the fewer effective clusters (Kish) of the dimensions in use: how many independent units a rate
        with no spread to measure (0 or 1) can at most stand for."""
        use_panorama, use_player = self.panoramas >= 2, self.players >= 2
        never = np.inf
        return np.minimum(
            np.where(use_panorama, self.panoramas_effective, never), np.where(use_player, self.players_effective, never)
        )

    def too_few_players(self) -> np.ndarray:
        """(G,) the rows come from two or more players but fewer than MIN_EFFECTIVE_PLAYERS effective ones."""
        return (self.players >= 2) & (self.players_effective < MIN_EFFECTIVE_PLAYERS)

    def degrees_of_freedom(self) -> np.ndarray:
        """(k, G) Satterthwaite's (1946) degrees of freedom for V_panorama + V_player, each term estimated from
        its effective clusters - 1 ((sum n²)² / sum n⁴: clusters of very unequal size carry fewer degrees of
        freedom; Carter, Schnepel & Steigerwald 2017), kept between the fewer and the more: a dimension that adds no
        variance (players, for the model's errors) no longer sets them, as Cameron & Miller's min(clusters) - 1
        would. One dimension: its effective clusters - 1; 0 where neither has two clusters (below 1: too few
        clusters to say, and no interval is given)."""
        use_panorama, use_player = self.panoramas >= 2, self.players >= 2
        panorama_df = np.maximum(self.panoramas_df - 1, 0.5)
        player_df = np.maximum(self.players_df - 1, 0.5)
        a, b = np.where(use_panorama, self.panorama, 0.0), np.where(use_player, self.player, 0.0)
        never = np.inf
        fewest = np.minimum(np.where(use_panorama, panorama_df, never), np.where(use_player, player_df, never))
        most = np.maximum(np.where(use_panorama, panorama_df, 0), np.where(use_player, player_df, 0))
        with np.errstate(divide="ignore", invalid="ignore"):
            combined = (a + b) ** 2 / (a * a / panorama_df + b * b / player_df)
        df = np.clip(np.where(a + b > 0, combined, fewest), fewest, most)
        return np.where(most == 0, 0.0, df)

    def design_effect(self) -> np.ndarray:
        """(k, G) V over the independent-rounds variance (>= 1 by construction); NaN where undefined."""
        defined = self.squares > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(defined, self.variance() / np.where(defined, self.squares, 1), np.nan)


def _small_sample(effective: np.ndarray, used: np.ndarray) -> np.ndarray:
    """G/(G-1) at G effective clusters where the dimension is used (at most 2: below two effective clusters the
    degrees of freedom already say there is too little to go on), else 1."""
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(effective > 2, effective / (effective - 1), 2.0)
    return np.where(used, factor, 1.0)


def two_way(
    *,
    scores: np.ndarray,
    clusters: Clusters,
    members: np.ndarray | None = None,
    rows: np.ndarray | None = None,
    groups: np.ndarray | None = None,
    group_count: int = 1,
) -> TwoWay:
    """The two-way variance terms of the totals of `scores` (k, N), or (N,) as k = 1, over the member rows
    (`members`, (N,) bool), per group (`groups`, (N,)). Only member rows are read: the arrays are cut to them
    first; callers that already did pass `rows` (n,) indices instead, with `scores` (k, n) and `groups` (n,)."""
    every = clusters.panorama.size
    if rows is None:
        if members is None:
            raise ValueError("two_way needs members or rows")
        rows = np.flatnonzero(members)
        if rows.size < every:
            scores = np.atleast_2d(scores)[:, rows]
            groups = None if groups is None else groups[rows]
    keep = rows
    scores = np.asarray(np.atleast_2d(scores), dtype=np.float64)  # (k, n), not copied when already float64
    # Every row a member (the rows are 0..N-1): the cluster codes as they are, not copied.
    kept = {
        name: getattr(clusters, name) if keep.size == every else getattr(clusters, name)[keep]
        for name in ("panorama", "player", "cell")
    }

    def per_group(values: np.ndarray) -> np.ndarray:
        if groups is None:
            return np.array([values.sum()], dtype=np.float64)
        return np.bincount(groups, weights=values, minlength=group_count)

    totals = np.stack([per_group(row) for row in scores])  # (k, G)
    rows_in = per_group(np.ones(keep.size)).reshape(group_count)

    def term(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        count = max(getattr(clusters, f"{name}s"), 1)
        if count == 1:  # one cluster (the players of Clusters.panorama_only): a group's only total is its own
            return totals**2, (rows_in > 0).astype(np.int64), np.stack([rows_in**2, rows_in**4])
        return _square_sums(codes=kept[name], count=count, scores=scores, groups=groups, group_count=group_count)

    terms = {name: term(name) for name in ("panorama", "player")}
    squares = np.stack([per_group(row * row) for row in scores])
    # Seen-before rounds are excluded, so a (panorama, player) cell is usually one row: then the cell term is
    # the sum of squares, with no factorisation.
    # Clustered by panorama alone (Clusters.panorama_only), a cell is a panorama: its term is the panorama's.
    cell = (
        squares
        if clusters.cells == clusters.cell.size
        else terms["panorama"][0]
        if clusters.cell is clusters.panorama
        else _square_sums(
            codes=kept["cell"], count=max(clusters.cells, 1), scores=scores, groups=groups, group_count=group_count
        )[0]
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        # Kish's count, (sum n)² / sum n², and the count behind the variance's own degrees of freedom when the
        # clusters' totals vary as their sizes (between-cluster spread dominating), (sum n²)² / sum n⁴.
        effective = {
            name: np.where(terms[name][2][0] > 0, rows_in**2 / terms[name][2][0], 0.0)
            for name in ("panorama", "player")
        }
        spread = {
            name: np.where(terms[name][2][1] > 0, terms[name][2][0] ** 2 / terms[name][2][1], 0.0)
            for name in ("panorama", "player")
        }
    return TwoWay(
        total=totals,
        squares=squares,
        panorama=terms["panorama"][0],
        player=terms["player"][0],
        cell=cell,
        rows=rows_in,
        panoramas=terms["panorama"][1],
        players=terms["player"][1],
        panoramas_effective=effective["panorama"],
        players_effective=effective["player"],
        panoramas_df=spread["panorama"],
        players_df=spread["player"],
    )


def _square_sums(
    *, codes: np.ndarray, count: int, scores: np.ndarray, groups: np.ndarray | None, group_count: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per score and group (k, G): the sum over clusters of (cluster total)²; per group (G,): how many
    clusters hold a row; (2, G) the sums of their sizes² and sizes⁴."""
    pairs = codes if groups is None else groups * count + codes
    size = group_count * count
    if size <= DENSE_PAIRS:
        counts = np.bincount(pairs, minlength=size).reshape(group_count, count)
        squares = [np.bincount(pairs, weights=row, minlength=size).reshape(group_count, count) ** 2 for row in scores]
        size_powers = _squared_and_fourth(counts)
        return (
            np.stack([square.sum(axis=1) for square in squares]),
            (counts > 0).sum(axis=1),
            np.stack([power.sum(axis=1) for power in size_powers]),
        )
    distinct, pair = distinct_keys(pairs)
    owner = distinct // count
    squares = [
        np.bincount(owner, weights=np.bincount(pair, weights=row, minlength=distinct.size) ** 2, minlength=group_count)
        for row in scores
    ]
    size_powers = _squared_and_fourth(np.bincount(pair, minlength=distinct.size))
    return (
        np.stack(squares),
        np.bincount(owner, minlength=group_count).astype(np.int64),
        np.stack([np.bincount(owner, weights=power, minlength=group_count) for power in size_powers]),
    )


def _squared_and_fourth(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """counts² and counts⁴ as float64, the same values as sizes ** 2 and sizes ** 4: the fourth power as the
    square's square (a product, several times faster than pow) while every count⁴ is exact (below 2^53), where
    both are the exact integer; pow beyond."""
    sizes = counts.astype(np.float64)
    squared = sizes * sizes
    exact = not counts.size or int(counts.max()) <= EXACT_FOURTH_POWER
    return squared, squared * squared if exact else sizes**4


@dataclass(frozen=True)
class RateDesign:
    """Per rate and group: member rows (G,), the rate (k, G), its design effect (k, G; at least 1) and
    degrees of freedom (k, G), and the two-way terms behind them."""

    counts: np.ndarray
    rate: np.ndarray
    effect: np.ndarray
    df: np.ndarray
    terms: TwoWay


def rate_design(
    *, hits: np.ndarray, members: np.ndarray, clusters: Clusters, groups: np.ndarray | None = None, group_count: int = 1
) -> RateDesign:
    """Kish's design effect of each rate (rows of `hits`, (k, N) bool, over `members`): the two-way variance
    of sum(hit - rate) over its independent-rounds value n rate (1 - rate), at least 1. A rate of 0 or 1
    leaves no spread to measure one on: its effective size is its effective clusters (TwoWay.effective_clusters);
    its degrees of freedom come from its clusters too."""
    rows = np.flatnonzero(members)
    hits = np.atleast_2d(np.asarray(hits, dtype=bool))
    if rows.size < hits.shape[1]:
        hits = hits[:, rows]  # (k, n) member rows only
    kept_groups = None if groups is None else groups if rows.size == groups.size else groups[rows]
    counts: np.ndarray
    if kept_groups is None:
        counts = np.array([rows.size], dtype=np.float64)  # (G,)
        hit_counts = hits.sum(axis=1, keepdims=True).astype(np.float64)  # (k, G)
    else:
        counts = np.bincount(kept_groups, minlength=group_count).astype(np.float64)
        hit_counts = np.stack([np.bincount(kept_groups, weights=row, minlength=group_count) for row in hits])
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = hit_counts / counts
    row_rate = rate if kept_groups is None else rate[:, kept_groups]  # (k, n) or (k, 1)
    terms = two_way(
        scores=hits - np.nan_to_num(row_rate), clusters=clusters, rows=rows, groups=kept_groups, group_count=group_count
    )
    spread = terms.squares > 0  # a rate strictly between 0 and 1
    # A rate of 0 or 1 leaves no spread to measure a design effect on: it stands for at most as many
    # independent units as its effective clusters (all 300 rounds of 30 panoramas that the model misses are
    # about 30 misses, not 300), so its effective size is bounded by them.
    with np.errstate(divide="ignore", invalid="ignore"):
        bounded = np.maximum(counts / np.minimum(terms.effective_clusters(), counts), 1.0)
    effect = np.where(
        spread,
        np.maximum(np.where(spread, terms.design_effect(), 1.0), 1.0),
        np.nan_to_num(bounded, nan=1.0, posinf=1.0),
    )
    return RateDesign(counts=counts, rate=rate, effect=effect, df=terms.degrees_of_freedom(), terms=terms)


def effective_players(player: np.ndarray) -> float:
    """Kish's effective number of players, (sum of rounds)² / sum of each player's rounds²: 3 players holding 204
    of 215 rounds are about 1.1; 0.0 for no rounds."""
    sizes = np.bincount(player).astype(np.float64)
    squares = float(np.square(sizes).sum())
    return float(sizes.sum()) ** 2 / squares if squares else 0.0
