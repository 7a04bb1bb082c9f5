"""The linear probe: a hierarchical head trained on (N, D) cached frozen features, one shuffled epoch at a time.
train() runs its epochs with resumable state; fit_probe is the cross-validation's trainer."""

from __future__ import annotations

import numpy as np
import torch

from planet_engine.cells import CellSet
from planet_engine.hierarchy import HierarchicalHead
from planet_engine.losses import level_losses


def probe_epoch(
    head: HierarchicalHead,
    optimizer: torch.optim.Optimizer,
    features: torch.Tensor,
    labels: torch.Tensor,
    latitudes: np.ndarray,
    longitudes: np.ndarray,
    levels: list[CellSet],
    *,
    loss: str,
    tau_km: float,
    batch_size: int,
    generator: torch.Generator,
) -> tuple[float, float]:
    """One epoch of the linear probe on (N, D) cached features -> (mean loss, fine-cell train accuracy)."""
    head.train()
    order = torch.randperm(len(features), generator=generator)
    total_loss, correct = 0.0, 0
    for start in range(0, len(order), batch_size):
        batch = order[start : start + batch_size]
        rows = batch.numpy()
        logits = head.level_logits(features[batch])
        value = level_losses(
            logits, labels[batch], latitudes[rows], longitudes[rows], levels, head.ancestors, loss=loss, tau_km=tau_km
        )
        optimizer.zero_grad(set_to_none=True)
        value.backward()  # type: ignore[no-untyped-call]  # torch leaves Tensor.backward unannotated
        optimizer.step()
        total_loss += float(value.detach()) * len(batch)
        correct += int((logits[0].argmax(1).cpu() == labels[batch].cpu()).sum())
    return total_loss / len(order), correct / len(order)


def fit_probe(
    head: HierarchicalHead,
    features: torch.Tensor,
    latitudes: np.ndarray,
    longitudes: np.ndarray,
    levels: list[CellSet],
    *,
    loss: str,
    tau_km: float,
    weight_decay: float,
    epochs: int,
    lr: float,
    batch_size: int,
    seed: int,
) -> None:
    """Train `head` on (N, D) features of photos that all fall in kept fine cells (AdamW, cosine schedule);
    the cross-validation's trainer (train() runs the same epochs with resumable state)."""
    torch.manual_seed(seed)
    labels = torch.from_numpy(levels[0].assign(latitudes, longitudes))
    optimizer = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=weight_decay)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        probe_epoch(
            head,
            optimizer,
            features,
            labels,
            latitudes,
            longitudes,
            levels,
            loss=loss,
            tau_km=tau_km,
            batch_size=batch_size,
            generator=generator,
        )
        schedule.step()
    head.eval()
