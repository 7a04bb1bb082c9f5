"""The loader workers' labeller gives what the training loop computed per batch before: the same cell as
CellSet.assign and the same soft target as losses.soft_targets, point by point."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from planet_engine.cells import CellSet, adaptive_partition
from planet_engine.labels import CellLabeler
from planet_engine.losses import soft_targets


def test_the_workers_labels_and_soft_targets_match_the_batch_ones():
    rng = np.random.default_rng(3)
    latitudes, longitudes = rng.uniform(-70, 80, 3000), rng.uniform(-180, 180, 3000)
    cells = CellSet.from_partition(adaptive_partition(latitudes, longitudes, t1=40, t2=25))
    queries_lat = np.concatenate([latitudes[:200], rng.uniform(-90, 90, 200)])  # kept cells, and anywhere
    queries_lon = np.concatenate([longitudes[:200], rng.uniform(-180, 180, 200)])
    labeler = CellLabeler(cells, tau_km=75.0)
    labels = [labeler.label(lat, lon) for lat, lon in zip(queries_lat, queries_lon, strict=True)]
    assert labels == cells.assign(queries_lat, queries_lon).tolist()
    assert -1 in labels and len(set(labels)) > 10  # some points fall in dropped cells
    targets = torch.stack([labeler.target(lat, lon) for lat, lon in zip(queries_lat, queries_lon, strict=True)])
    assert torch.allclose(targets, soft_targets(queries_lat, queries_lon, cells, 75.0), atol=1e-6)
    assert CellLabeler(cells, tau_km=None).target(0.0, 0.0).shape == (0,)
    assert targets.sum(dim=1) == pytest.approx(torch.ones(len(targets)), abs=1e-5)
