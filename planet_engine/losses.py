"""The cell classifier's training losses: cross-entropy on the true cell, or on PIGEON's haversine-smoothed
soft targets (the cells near the truth share its mass), summed over the hierarchy's partitions."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from planet_engine.cells import CellSet
from planet_engine.geo import pairwise_distances_km


def soft_targets(latitudes: np.ndarray, longitudes: np.ndarray, cells: CellSet, tau_km: float) -> torch.Tensor:
    """PIGEON's haversine smoothing, (B,) truths -> (B, C) targets.

    target_j ∝ exp(-(d(cell_j, truth) - d(true cell, truth)) / tau); the true cell's term is constant per
    photo, so after normalising this is softmax(-d / tau).
    """
    distances = pairwise_distances_km(latitudes, longitudes, cells.mean_latitudes, cells.mean_longitudes)
    return torch.softmax(torch.from_numpy(-distances / tau_km).float(), dim=1)


def cell_loss(logits: torch.Tensor, labels: torch.Tensor, targets: torch.Tensor | None) -> torch.Tensor:
    if targets is None:
        return F.cross_entropy(logits, labels)
    return -(targets * F.log_softmax(logits.float(), dim=1)).sum(dim=1).mean()


def level_losses(
    level_logits: list[torch.Tensor],
    fine_labels: torch.Tensor,
    latitudes: np.ndarray,
    longitudes: np.ndarray,
    levels: list[CellSet],
    ancestors: list[torch.Tensor],
    *,
    loss: str,
    tau_km: float,
) -> torch.Tensor:
    """The sum over partitions (fine first, then the coarser ones) of each head's loss on a batch of (B,) photos;
    a photo's coarse label is its fine cell's ancestor, so the levels never disagree."""
    total = torch.zeros((), device=level_logits[0].device)
    for index, (logits, cells) in enumerate(zip(level_logits, levels, strict=True)):
        labels = fine_labels if index == 0 else ancestors[index - 1].to(fine_labels.device)[fine_labels]
        targets = soft_targets(latitudes, longitudes, cells, tau_km).to(logits.device) if loss == "haversine" else None
        total = total + cell_loss(logits, labels.to(logits.device), targets)
    return total
