"""Retrieval refinement inside the predicted cells (PIGEON's last step, in the GeoScore sense).

The checkpoint carries a gallery: the training photos' embeddings (mean-centred, unit length), locations and
cells. For a query, the cell distribution is spread over the gallery photos of its most probable cells, each
photo's share reweighted by its embedding similarity to the query, exp(cos / temperature); the guess is the
gallery location that maximises the expected GeoScore under that photo-level distribution. Far from the
similar photos the cell probabilities still dominate; a large temperature gives the cell distribution itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from planet_engine.geo import geoscore, pairwise_distances_km

# Cells whose gallery photos are candidates: the best few hold practically all of the mass.
REFINE_CELLS = 5


@dataclass(frozen=True)
class Gallery:
    embeddings: torch.Tensor  # (N, D) float32, mean-centred and unit length
    mean: torch.Tensor  # (D,) the training mean the embeddings were centred on
    latitudes: np.ndarray  # (N,)
    longitudes: np.ndarray  # (N,)
    cells: np.ndarray  # (N,) the class index of each photo; -1 (kNN galleries only) where no cell kept it
    temperature: float

    @classmethod
    def build(
        cls,
        embeddings: torch.Tensor,
        latitudes: np.ndarray,
        longitudes: np.ndarray,
        cells: np.ndarray,
        *,
        temperature: float,
    ) -> Gallery:
        """(N, D) raw training embeddings -> a gallery (every photo in a kept cell, cells[k] >= 0)."""
        mean = embeddings.float().mean(dim=0)
        return cls(
            normalise(embeddings, mean),
            mean,
            np.asarray(latitudes, dtype=np.float64),
            np.asarray(longitudes, dtype=np.float64),
            np.asarray(cells, dtype=np.int64),
            temperature,
        )

    def similarities(self, queries: torch.Tensor) -> np.ndarray:
        """(Q, D) raw embeddings -> (Q, N) cosine similarities to the gallery after centring."""
        return np.asarray((normalise(queries, self.mean) @ self.embeddings.T).numpy(), dtype=np.float64)


def normalise(embeddings: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.normalize(embeddings.float() - mean, dim=1)


def densest_neighbour(latitudes: np.ndarray, longitudes: np.ndarray, weights: np.ndarray) -> int:
    """(K,) neighbours and their (K,) weights -> the index of the one with the most weighted company,
    argmax_j sum_i w_i exp(-d(j, i) / 1492.7): a one-step mean shift, and the neighbour that maximises the
    expected GeoScore when the truth is neighbour i with probability w_i (im2gps's densest cluster)."""
    return int(np.argmax(geoscore(pairwise_distances_km(latitudes, longitudes, latitudes, longitudes)) @ weights))


def refine_points(
    probabilities: np.ndarray, queries: torch.Tensor, gallery: Gallery, *, top_cells: int = REFINE_CELLS
) -> tuple[np.ndarray, np.ndarray]:
    """(B, C) cell probabilities and (B, D) query embeddings -> (B,) latitudes, (B,) longitudes."""
    similarities = gallery.similarities(queries)  # (B, N)
    counts = np.bincount(gallery.cells, minlength=probabilities.shape[1]).astype(np.float64)  # (C,)
    latitudes, longitudes = np.empty(len(probabilities)), np.empty(len(probabilities))
    for b, row in enumerate(probabilities):
        best = np.argsort(-row)[:top_cells]
        candidates = np.flatnonzero(np.isin(gallery.cells, best))  # (K,)
        if candidates.size == 0:  # no gallery photo in the best cells: cannot happen for a gallery of its cells
            raise ValueError("the gallery holds no photo of the predicted cells")
        cells = gallery.cells[candidates]
        logits = np.log(row[cells] / counts[cells]) + similarities[b, candidates] / gallery.temperature
        weights = np.exp(logits - logits.max())
        weights /= weights.sum()  # (K,) the photo-level distribution
        lat, lon = gallery.latitudes[candidates], gallery.longitudes[candidates]
        expected = geoscore(pairwise_distances_km(lat, lon, lat, lon)) @ weights  # (K,)
        choice = int(np.argmax(expected))
        latitudes[b], longitudes[b] = lat[choice], lon[choice]
    return latitudes, longitudes
