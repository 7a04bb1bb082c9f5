"""GeoEstimation's hierarchy: several partitions of one photo set at different granularities, each with its own
head, folded into the finest one. A fine cell scores the product of its ancestors' probabilities over the
levels: log p(fine) = log_softmax(fine)[fine] + sum over coarser levels l of log_softmax(l)[ancestor_l(fine)].
The folding runs inside the network's forward, so the ONNX graph computes it too.
"""

from __future__ import annotations

import numpy as np
import torch

from planet_engine.cells import CellSet
from planet_engine.geo import pairwise_distances_km


def ancestor_map(fine: CellSet, coarse: CellSet) -> np.ndarray:
    """(C_fine,) index of the coarse cell holding each fine cell's mean photo location; a fine cell whose
    coarse cell was dropped (too few photos at that level) takes the coarse cell nearest to it."""
    ancestors = coarse.assign(fine.mean_latitudes, fine.mean_longitudes)
    orphans = np.flatnonzero(ancestors < 0)
    if orphans.size:
        distances = pairwise_distances_km(
            fine.mean_latitudes[orphans], fine.mean_longitudes[orphans], coarse.mean_latitudes, coarse.mean_longitudes
        )  # (O, C_coarse)
        ancestors[orphans] = distances.argmin(axis=1)
    return ancestors.astype(np.int64)


def fold_logits(
    fine_logits: torch.Tensor, level_logits: list[torch.Tensor], ancestors: list[torch.Tensor]
) -> torch.Tensor:
    """(B, C) fine logits, per coarser level (B, C_l) logits and (C,) ancestor indices -> (B, C) log p(fine)."""
    folded = torch.log_softmax(fine_logits, dim=1)
    for logits, index in zip(level_logits, ancestors, strict=True):
        folded = folded + torch.log_softmax(logits, dim=1).index_select(1, index)
    return folded


class HierarchicalHead(torch.nn.Module):
    """Linear heads over the fine cells and over each coarser partition; forward gives (B, C) fine logits
    (with no coarser level, the fine head's own logits, as before hierarchies existed).

    `calibration` divides the output logits (a softmax temperature chosen by
    cross-validation: the probe's raw distribution is overconfident, and the GeoScore point needs calibrated mass).
    """

    def __init__(
        self,
        dim: int,
        num_classes: int,
        *,
        ancestors: list[np.ndarray] | None = None,
        level_sizes: list[int] | None = None,
        calibration: float = 1.0,
    ) -> None:
        super().__init__()
        ancestors, level_sizes = ancestors or [], level_sizes or []
        if len(ancestors) != len(level_sizes):
            raise ValueError("one ancestor map per coarser level")
        self.fine = torch.nn.Linear(dim, num_classes)
        self.levels = torch.nn.ModuleList(torch.nn.Linear(dim, size) for size in level_sizes)
        self.ancestors = [torch.as_tensor(np.asarray(a), dtype=torch.long) for a in ancestors]
        for index, tensor in enumerate(self.ancestors):
            self.register_buffer(f"ancestors_{index}", tensor, persistent=False)
        self.calibration = calibration

    def level_logits(self, embeddings: torch.Tensor) -> list[torch.Tensor]:
        """(B, D) -> [(B, C) fine, (B, C_1), ...] raw logits, one per partition, for training."""
        return [self.fine(embeddings), *(level(embeddings) for level in self.levels)]

    def forward(self, embeddings: torch.Tensor) -> torch.Tensor:
        logits = self.level_logits(embeddings)
        if len(logits) == 1:
            folded = logits[0]
        else:
            ancestors = [getattr(self, f"ancestors_{index}") for index in range(len(self.ancestors))]
            folded = fold_logits(logits[0], logits[1:], ancestors)
        # Calibration is an inference-time temperature: training (fine-tuning through forward) sees it not.
        return folded if self.training or self.calibration == 1.0 else folded / self.calibration

    def load_state(self, state: dict[str, torch.Tensor]) -> None:
        """Load a head state; one written before hierarchies existed (a bare Linear's weight and bias) too."""
        if "weight" in state:
            state = {"fine.weight": state["weight"], "fine.bias": state["bias"]}
        self.load_state_dict(state)
