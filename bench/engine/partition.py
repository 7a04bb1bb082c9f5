"""bench/engine's partition throughput: adaptive_partition and leaf_cell_ids against s2sphere, same ids."""

from __future__ import annotations

from typing import Any

import numpy as np
import s2sphere

from bench.engine.workload import Sizes, median, sphere_points, timings
from planet_engine.cells import adaptive_partition, leaf_cell_ids

PARTITION_GOAL_POINTS_PER_S = 100_000


def bench_partition(sizes: Sizes, rng: np.random.Generator) -> dict[str, Any]:
    n = sizes.partition_points
    lat, lon = sphere_points(rng, n)
    partition_s = timings(
        lambda: adaptive_partition(lat, lon, t1=1000, t2=100), warmup=1, repeats=sizes.partition_repeats
    )
    leaf_s = timings(lambda: leaf_cell_ids(lat, lon), warmup=1, repeats=sizes.partition_repeats)
    cells = adaptive_partition(lat, lon, t1=1000, t2=100).num_cells

    m = sizes.s2sphere_points
    pairs = list(zip(lat[:m].tolist(), lon[:m].tolist(), strict=True))

    def pure_python() -> None:
        for a, b in pairs:
            s2sphere.CellId.from_lat_lng(s2sphere.LatLng.from_degrees(a, b))

    s2_s = timings(pure_python, warmup=1, repeats=3)
    # Same answers, so the comparison is between equals.
    expected = np.array(
        [s2sphere.CellId.from_lat_lng(s2sphere.LatLng.from_degrees(a, b)).id() for a, b in pairs[:2000]],
        dtype=np.uint64,
    )
    assert np.array_equal(leaf_cell_ids(lat[:2000], lon[:2000]), expected), "leaf_cell_ids != s2sphere"
    rate = n / median(partition_s)
    return {
        "points": n,
        "t1": 1000,
        "t2": 100,
        "cells": cells,
        "adaptive_partition_s": median(partition_s),
        "adaptive_partition_points_per_s": rate,
        "leaf_cell_ids_s": median(leaf_s),
        "leaf_cell_ids_points_per_s": n / median(leaf_s),
        "s2sphere_points": m,
        "s2sphere_s": median(s2_s),
        "s2sphere_points_per_s": m / median(s2_s),
        "goal_points_per_s": PARTITION_GOAL_POINTS_PER_S,
        "pass": rate >= PARTITION_GOAL_POINTS_PER_S,
    }
