"""The two-way cluster bootstrap for the statistics that are not totals (medians, ratings): Owen's (2007)
pigeonhole bootstrap. Each resample draws a Poisson(1) weight per panorama and per player, and a round weighs
their product, so a panorama (or player) drawn twice brings all its rounds twice; the model's errors use the
panorama weights alone (its guess does not depend on the player). No bootstrap reproduces the variance of a
crossed design exactly (McCullagh 2000). For a mean it counts the round-level variance three times where
Cameron, Gelbach & Miller's two-way formula counts it once, but that does not make a median's percentile interval
conservative: with few, very different players its coverage falls to about 0.88 (bench/stats_calibration.py's
median coverage; docs/statistics.md, Calibration).

Clusters are pooled into groups when panoramas x players would pass MAX_CELLS (panorama k joins group
k mod G): a union of whole clusters is still independent of the other unions, so the bootstrap stays a
cluster bootstrap, with some more Monte Carlo noise (Ibragimov & Müller 2010 pool clusters the same way).
Weighted medians are exact: bin totals by one matrix product, then a scan inside the one bin holding the
middle rank. Pure NumPy, no Django.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gameserver.stats.clusters import Clusters

MAX_CELLS = 4096
# Sorted values are cut into this many equal-count bins for the weighted medians (see median_resamples).
MEDIAN_BINS = 256
# Resamples scanned at a time inside a bin: (chunk, bin size) arrays.
MEDIAN_CHUNK = 256


@dataclass(frozen=True)
class Pigeonhole:
    panorama_weights: np.ndarray  # (B, Gp) float64 Poisson(1) weight of each panorama group (ones if one)
    player_weights: np.ndarray  # (B, Gj) float64
    panorama_group: np.ndarray  # (N,) int64 each row's panorama group
    player_group: np.ndarray  # (N,) int64

    @property
    def resamples(self) -> int:
        return int(self.panorama_weights.shape[0])

    @property
    def player_groups(self) -> int:
        return int(self.player_weights.shape[1])

    @property
    def panorama_groups(self) -> int:
        return int(self.panorama_weights.shape[1])

    def cell_weights(self) -> np.ndarray:
        """(B, Gp * Gj) the weight of each (panorama group, player group) cell in each resample."""
        weights = self.panorama_weights[:, :, None] * self.player_weights[:, None, :]
        return weights.reshape(self.resamples, -1)

    def row_cell(self) -> np.ndarray:
        """(N,) each row's cell, the column of cell_weights that weighs it."""
        return self.panorama_group * self.player_groups + self.player_group


def pigeonhole(*, clusters: Clusters, seed: int, resamples: int, max_cells: int = MAX_CELLS) -> Pigeonhole:
    panorama_groups, player_groups = pooled_group_counts(
        panoramas=clusters.panoramas, players=clusters.players, max_cells=max_cells
    )
    rng = np.random.default_rng(seed)

    def weights(groups: int) -> np.ndarray:
        # One cluster: its weight is a common factor that changes no statistic, only empties some resamples.
        if groups <= 1:
            return np.ones((resamples, 1))
        return rng.poisson(1.0, size=(resamples, groups)).astype(np.float64)

    return Pigeonhole(
        panorama_weights=weights(panorama_groups),
        player_weights=weights(player_groups),
        panorama_group=clusters.panorama % max(panorama_groups, 1),
        player_group=clusters.player % max(player_groups, 1),
    )


def pooled_group_counts(*, panoramas: int, players: int, max_cells: int) -> tuple[int, int]:
    """How many panorama and player groups: all clusters while their product fits in max_cells, else the
    smaller dimension keeps up to sqrt(max_cells) groups and the larger one what is left."""
    panoramas, players = max(panoramas, 1), max(players, 1)
    if panoramas * players <= max_cells:
        return panoramas, players
    small = min(min(panoramas, players), math.isqrt(max_cells))
    large = min(max(panoramas, players), max_cells // small)
    return (small, large) if panoramas <= players else (large, small)


def median_resamples(*, weights: np.ndarray, ordered: np.ndarray, ordered_cell: np.ndarray) -> np.ndarray:
    """(B,) the median of each resample: `ordered` (n,) sorted values, `ordered_cell` (n,) their cells,
    `weights` (B, cells) integer-valued cell weights. The median of a resample of total weight W is the mean
    of its ranks floor((W + 1) / 2) and floor(W / 2) + 1, as np.median of the repeated rows; NaN when W = 0.

    Rows are cut into MEDIAN_BINS equal-count bins; one product gives every resample's weight per bin, so
    the bin holding a rank is known, and only that bin's rows are scanned: O(B cells bins + B n / bins)."""
    n = ordered.size
    resamples, cells = weights.shape
    if n == 0:
        return np.full(resamples, np.nan)
    bins = min(n, MEDIAN_BINS)
    edges = np.arange(bins + 1) * n // bins
    counts = np.bincount(
        ordered_cell * bins + np.repeat(np.arange(bins), np.diff(edges)), minlength=cells * bins
    ).reshape(cells, bins)
    cumulative = np.cumsum(weights @ counts, axis=1)  # (B, bins) weight up to the end of each bin
    total = cumulative[:, -1]
    ranks = np.stack([np.floor((total + 1) / 2), np.floor(total / 2) + 1], axis=1)  # (B, 2)
    values = _weighted_rank_values(
        ranks=ranks, cumulative=cumulative, edges=edges, weights=weights, ordered=ordered, ordered_cell=ordered_cell
    )
    with np.errstate(invalid="ignore"):
        return np.where(total > 0, values.mean(axis=1), np.nan)


def _weighted_rank_values(
    *,
    ranks: np.ndarray,
    cumulative: np.ndarray,
    edges: np.ndarray,
    weights: np.ndarray,
    ordered: np.ndarray,
    ordered_cell: np.ndarray,
) -> np.ndarray:
    """(B, 2) the values at 1-based weighted `ranks` (B, 2) of each resample (any value where it is empty).
    The two middle ranks nearly always share a bin, so its rows' weights are gathered once; resamples whose
    second rank starts the next bin are looked up again on their own."""
    resamples, bins = cumulative.shape
    # The bin holding a rank: the first whose cumulative weight reaches it.
    holding = np.minimum((cumulative[:, :, None] < ranks[:, None, :]).sum(axis=1), bins - 1)  # (B, 2)
    first = holding[:, 0]
    before = np.where(first > 0, cumulative[np.arange(resamples), np.maximum(first - 1, 0)], 0.0)
    start, size = edges[first], edges[first + 1] - edges[first]
    offsets = np.arange(int(np.diff(edges).max()))
    values = np.empty((resamples, 2))
    for chunk_start in range(0, resamples, MEDIAN_CHUNK):
        chunk = slice(chunk_start, chunk_start + MEDIAN_CHUNK)
        rows = np.minimum(start[chunk, None] + offsets, ordered.size - 1)  # (chunk, bin size)
        inside = offsets < size[chunk, None]
        running = before[chunk, None] + np.cumsum(
            np.take_along_axis(weights[chunk], ordered_cell[rows], axis=1) * inside, axis=1
        )
        for j in range(2):
            position = np.minimum((running < ranks[chunk, j, None]).sum(axis=1), size[chunk] - 1)
            values[chunk, j] = ordered[start[chunk] + position]
    apart = np.flatnonzero(holding[:, 1] != first)
    if apart.size:
        values[apart, 1] = _weighted_rank_values(
            ranks=ranks[apart][:, [1, 1]],
            cumulative=cumulative[apart],
            edges=edges,
            weights=weights[apart],
            ordered=ordered,
            ordered_cell=ordered_cell,
        )[:, 0]
    return values
