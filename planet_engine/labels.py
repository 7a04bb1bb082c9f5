"""A photo's training label, built in the data-loader workers rather than on the training loop's thread: its
cell's index (-1 outside every kept cell) and, under the haversine loss, PIGEON's soft target over all cells.

CellSet.assign rebuilds its lookup from the tokens on every call (tens of ms at thousands of cells); the labeller
builds it once per worker.
"""

from __future__ import annotations

import numpy as np
import s2sphere
import torch

from planet_engine.cells import CellSet, leaf_cell_ids, parent_ids
from planet_engine.geo import EARTH_RADIUS_KM


class CellLabeler:
    """(latitude, longitude) -> (cell index, (C,) soft target or an empty tensor); picklable."""

    def __init__(self, cells: CellSet, *, tau_km: float | None) -> None:
        ids = np.array([s2sphere.CellId.from_token(token).id() for token in cells.tokens], dtype=np.uint64)
        self.levels: list[tuple[int, np.ndarray, np.ndarray]] = []  # (level, sorted ids, their class indices)
        for level in np.unique(cells.levels):
            at_level = np.flatnonzero(cells.levels == level)
            order = np.argsort(ids[at_level])
            self.levels.append((int(level), ids[at_level][order], at_level[order]))
        self.tau_km = tau_km
        self.unit_vectors = _unit_vectors(cells.mean_latitudes, cells.mean_longitudes)  # (C, 3)

    def label(self, latitude: float, longitude: float) -> int:
        leaf = leaf_cell_ids(np.array([latitude]), np.array([longitude]))
        for level, sorted_ids, classes in self.levels:
            parent = parent_ids(leaf, level)
            position = int(np.clip(np.searchsorted(sorted_ids, parent)[0], 0, len(sorted_ids) - 1))
            if sorted_ids[position] == parent[0]:
                return int(classes[position])
        return -1

    def target(self, latitude: float, longitude: float) -> torch.Tensor:
        """(C,) softmax(-d / tau) over the cells' mean points; (0,) without a tau (cross-entropy)."""
        if self.tau_km is None:
            return torch.zeros(0)
        # Great-circle distance from one dot product per cell: a few times faster than haversine's trigonometry
        # per pair, and within a metre of it (float64).
        cosines = np.clip(self.unit_vectors @ _unit_vectors(np.array([latitude]), np.array([longitude]))[0], -1, 1)
        distances = EARTH_RADIUS_KM * np.arccos(cosines)  # (C,)
        return torch.softmax(torch.from_numpy(-distances / self.tau_km).float(), dim=0)


def _unit_vectors(latitudes: np.ndarray, longitudes: np.ndarray) -> np.ndarray:
    """(N,) degrees -> (N, 3) points on the unit sphere."""
    lat, lon = np.radians(latitudes), np.radians(longitudes)
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=1)
