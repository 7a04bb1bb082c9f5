import numpy as np
import pytest
import s2sphere
from hypothesis import given, settings
from hypothesis import strategies as st

from planet_engine.cells import CellSet, adaptive_partition, leaf_cell_ids, parent_ids


def random_points(count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return np.degrees(np.arcsin(rng.uniform(-1, 1, count))), rng.uniform(-180, 180, count)


def test_leaf_ids_equal_s2sphere_including_poles_and_antimeridian():
    lat, lon = random_points(5000)
    lat = np.concatenate([lat, [90, -90, 0, 0, 45, -45, 0]])
    lon = np.concatenate([lon, [0, 0, 180, -180, 180, -180, 90]])
    expected = [
        s2sphere.CellId.from_lat_lng(s2sphere.LatLng.from_degrees(a, b)).id() for a, b in zip(lat, lon, strict=True)
    ]
    assert leaf_cell_ids(lat, lon).tolist() == expected


def test_parent_ids_equal_s2sphere_parents():
    lat, lon = random_points(500, seed=3)
    leaves = leaf_cell_ids(lat, lon)
    for level in (0, 1, 7, 13, 30):
        expected = [s2sphere.CellId(int(leaf)).parent(level).id() for leaf in leaves]
        assert parent_ids(leaves, level).tolist() == expected


def check_partition_invariants(lat: np.ndarray, lon: np.ndarray, t1: int, t2: int, max_level: int) -> None:
    partition = adaptive_partition(lat, lon, t1=t1, t2=t2, max_level=max_level)
    leaves = leaf_cell_ids(lat, lon)
    kept = partition.assignment >= 0
    # Every kept photo lies in exactly one kept cell: its assigned one.
    containing = np.zeros(len(lat), dtype=int)
    for index, cell in enumerate(partition.cell_ids):
        inside = parent_ids(leaves, int(partition.levels[index])) == cell
        containing += inside
        assert np.all(partition.assignment[inside] == index)
    assert np.all(containing[kept] == 1)
    assert np.all(containing[~kept] == 0)
    # Counts add up, no cell is over t1 unless at max level, none is under t2.
    np.testing.assert_array_equal(
        np.bincount(partition.assignment[kept], minlength=partition.num_cells), partition.counts
    )
    assert np.all((partition.counts <= t1) | (partition.levels == max_level))
    assert np.all(partition.counts >= t2)
    # Cells never overlap: no kept cell contains another.
    for index, cell in enumerate(partition.cell_ids):
        for other, level in zip(partition.cell_ids, partition.levels, strict=True):
            if other != cell and level < partition.levels[index]:
                assert parent_ids(np.array([cell]), int(level))[0] != other


def test_partition_invariants_on_clustered_points():
    rng = np.random.default_rng(7)
    centres = rng.uniform([-60, -180], [70, 180], size=(20, 2))
    lat = np.clip(np.repeat(centres[:, 0], 100) + rng.normal(0, 2, 2000), -90, 90)
    lon = (np.repeat(centres[:, 1], 100) + rng.normal(0, 2, 2000) + 180) % 360 - 180
    check_partition_invariants(lat, lon, t1=60, t2=8, max_level=20)


def test_identical_points_stop_splitting_at_max_level():
    lat, lon = np.full(50, 10.0), np.full(50, 20.0)
    partition = adaptive_partition(lat, lon, t1=5, t2=1, max_level=12)
    assert partition.num_cells == 1
    assert partition.levels.tolist() == [12]
    assert partition.counts.tolist() == [50]


def test_sparse_cells_are_dropped_and_their_photos_left_out():
    lat = np.concatenate([np.full(30, 48.85), [-45.0]])
    lon = np.concatenate([np.full(30, 2.35), [170.0]])
    partition = adaptive_partition(lat, lon, t1=100, t2=5)
    assert partition.assignment[-1] == -1
    assert np.all(partition.assignment[:-1] == 0)


@settings(max_examples=2 * settings().max_examples // 5, deadline=None)  # 40 in ci
@given(
    points=st.lists(st.tuples(st.floats(-90, 90), st.floats(-180, 180)), min_size=1, max_size=120),
    t1=st.integers(1, 30),
    t2=st.integers(1, 30),
    max_level=st.integers(0, 16),
)
def test_partition_invariants_hold_for_any_points(points, t1, t2, max_level):
    t2 = min(t1, t2)
    lat, lon = np.array(points).T
    check_partition_invariants(lat, lon, t1=t1, t2=t2, max_level=max_level)


def test_bad_thresholds_are_rejected():
    lat, lon = random_points(10)
    with pytest.raises(ValueError, match="t2"):
        adaptive_partition(lat, lon, t1=5, t2=6)
    with pytest.raises(ValueError):
        adaptive_partition(lat, lon, t1=0, t2=0)


def test_cells_file_round_trip_and_assignment(tmp_path):
    lat, lon = random_points(3000, seed=5)
    partition = adaptive_partition(lat, lon, t1=100, t2=10)
    cells = CellSet.from_partition(partition)
    cells.write_csv(tmp_path / "cells.csv")
    loaded = CellSet.read_csv(tmp_path / "cells.csv")
    assert loaded.tokens == cells.tokens
    assert loaded.fingerprint() == cells.fingerprint()
    np.testing.assert_allclose(loaded.mean_latitudes, cells.mean_latitudes)
    np.testing.assert_array_equal(loaded.assign(lat, lon), partition.assignment)


def test_mean_location_of_a_cell_spanning_the_antimeridian_stays_near_it():
    lat = np.array([0.0, 0.0, 1.0, -1.0])
    lon = np.array([179.9, -179.9, 179.95, -179.95])
    partition = adaptive_partition(lat, lon, t1=10, t2=1)
    assert partition.num_cells == 1
    assert abs(abs(partition.mean_longitudes[0]) - 180) < 0.1


def test_polygon_vertices_lie_on_the_cell_boundary():
    lat, lon = random_points(200)
    cells = CellSet.from_partition(adaptive_partition(lat, lon, t1=20, t2=1))
    ring = cells.polygon(0, points_per_edge=3)
    assert len(ring) == 12
    cell = s2sphere.Cell(s2sphere.CellId.from_token(cells.tokens[0]))
    corner = s2sphere.LatLng.from_point(cell.get_vertex(0))
    assert ring[0] == pytest.approx((corner.lat().degrees, corner.lng().degrees))
