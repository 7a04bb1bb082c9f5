"""PlaNet's adaptive S2 partition and the cells file that the classifier's classes are defined by.

S2 leaf ids are computed for all photos at once with NumPy (the same algorithm and lookup table as
s2sphere, checked against it in the tests); the partition then only does integer work on those ids.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import SupportsFloat, SupportsInt, TypedDict

import numpy as np
import numpy.typing as npt
import s2sphere
from s2sphere.sphere import INVERT_MASK, LOOKUP_BITS, LOOKUP_POS, SWAP_MASK

MAX_LEVEL = 30
_POS_BITS = 2 * MAX_LEVEL + 1
_MAX_SIZE = 1 << MAX_LEVEL
_LOOKUP_POS = np.array(LOOKUP_POS, dtype=np.int64)


class CellRow(TypedDict):
    """One class as a cells file and a checkpoint store it."""

    class_index: int
    token: str
    level: int
    photo_count: int
    center_latitude: float
    center_longitude: float
    mean_latitude: float  # where the cell's photos are on average: the point guess
    mean_longitude: float


# The cells CSV's header: CellRow's keys, in order.
CELLS_COLUMNS: tuple[str, ...] = tuple(CellRow.__annotations__)


def _unit_vectors(latitudes: np.ndarray, longitudes: np.ndarray) -> npt.NDArray[np.float64]:
    """(N,) degrees -> (N, 3) points on the unit sphere (x towards 0°E on the equator, z towards the north pole)."""
    lat = np.radians(np.asarray(latitudes, dtype=np.float64))
    lng = np.radians(np.asarray(longitudes, dtype=np.float64))
    return np.stack([np.cos(lat) * np.cos(lng), np.cos(lat) * np.sin(lng), np.sin(lat)], axis=-1)


def leaf_cell_ids(latitudes: np.ndarray, longitudes: np.ndarray) -> np.ndarray:
    """(N,) degrees -> (N,) uint64 S2 leaf cell ids, identical to s2sphere.CellId.from_lat_lng."""
    xyz = _unit_vectors(latitudes, longitudes)  # (N, 3)
    axis = np.argmax(np.abs(xyz), axis=1)
    rows = np.arange(len(axis))
    face = np.where(xyz[rows, axis] < 0, axis + 3, axis)
    x, y, z = xyz[:, 0], xyz[:, 1], xyz[:, 2]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # Each face's (u, v) projection, as in S2's ValidFaceXYZtoUV.
        u = np.select(
            [face == 0, face == 1, face == 2, face == 3, face == 4],
            [y / x, -x / y, -x / z, z / x, z / y],
            -y / z,
        )
        v = np.select(
            [face == 0, face == 1, face == 2, face == 3, face == 4],
            [z / x, z / y, -y / z, y / x, -x / y],
            -x / z,
        )
    i = _st_to_ij(_uv_to_st(u))
    j = _st_to_ij(_uv_to_st(v))
    # Indexing the lookup table with an array is untyped in NumPy's stubs: these stay int64 throughout.
    n: npt.NDArray[np.int64] = face.astype(np.int64) << (_POS_BITS - 1)
    bits: npt.NDArray[np.int64] = face.astype(np.int64) & SWAP_MASK
    mask = (1 << LOOKUP_BITS) - 1
    for k in range(7, -1, -1):
        bits = bits + (((i >> (k * LOOKUP_BITS)) & mask) << (LOOKUP_BITS + 2))
        bits = bits + (((j >> (k * LOOKUP_BITS)) & mask) << 2)
        bits = _LOOKUP_POS[bits]
        n = n | ((bits >> 2) << (k * 2 * LOOKUP_BITS))
        bits = bits & (SWAP_MASK | INVERT_MASK)
    return n.astype(np.uint64) * np.uint64(2) + np.uint64(1)


def _uv_to_st(u: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    # S2's quadratic projection, which keeps cell areas within a factor ~2 of each other.
    return np.where(u >= 0, 0.5 * np.sqrt(np.maximum(1 + 3 * u, 0)), 1 - 0.5 * np.sqrt(np.maximum(1 - 3 * u, 0)))


def _st_to_ij(s: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    return np.clip(np.floor(_MAX_SIZE * s), 0, _MAX_SIZE - 1).astype(np.int64)


def parent_ids(ids: np.ndarray, level: int) -> np.ndarray:
    """(N,) uint64 cell ids at a finer level -> their (N,) ancestors at `level`."""
    lsb = np.uint64(1 << (2 * (MAX_LEVEL - level)))
    return (ids & ~(lsb * np.uint64(2) - np.uint64(1))) | lsb


@dataclass(frozen=True)
class Partition:
    """Cells sorted by id; `assignment[k]` is photo k's class index, or -1 when its cell was dropped."""

    cell_ids: np.ndarray  # (C,) uint64
    levels: np.ndarray  # (C,) int
    counts: np.ndarray  # (C,) int, photos per kept cell
    mean_latitudes: np.ndarray  # (C,)
    mean_longitudes: np.ndarray  # (C,)
    assignment: np.ndarray  # (N,) int64
    t1: int
    t2: int
    max_level: int

    @property
    def num_cells(self) -> int:
        return len(self.cell_ids)


def adaptive_partition(
    latitudes: np.ndarray, longitudes: np.ndarray, *, t1: int, t2: int, max_level: int = 20
) -> Partition:
    """PlaNet's partition: from the 6 faces, split every cell holding more than t1 photos (down to
    max_level), then drop cells with fewer than t2 photos. Photos in dropped cells get class -1."""
    if t1 < 1 or t2 < 1:
        raise ValueError("t1 and t2 must be at least 1")
    if t2 > t1:
        raise ValueError(f"t2 ({t2}) above t1 ({t1}) would drop every cell that is not split")
    if not 0 <= max_level <= MAX_LEVEL:
        raise ValueError(f"max_level must be in [0, {MAX_LEVEL}]")
    leaves = leaf_cell_ids(latitudes, longitudes)
    final = np.zeros(len(leaves), dtype=np.uint64)
    final_level = np.zeros(len(leaves), dtype=np.int64)
    active = np.arange(len(leaves))
    for level in range(max_level + 1):
        cells = parent_ids(leaves[active], level)
        unique, inverse, counts = np.unique(cells, return_inverse=True, return_counts=True)
        # A cell stops splitting once it is small enough or at the deepest level allowed.
        done = (counts[inverse] <= t1) | (level == max_level)
        final[active[done]] = cells[done]
        final_level[active[done]] = level
        active = active[~done]
        if active.size == 0:
            break
    unique, inverse, counts = np.unique(final, return_inverse=True, return_counts=True)
    keep = counts >= t2
    class_of_unique = np.full(len(unique), -1, dtype=np.int64)
    class_of_unique[keep] = np.arange(int(keep.sum()))
    assignment = class_of_unique[inverse]
    kept_ids = unique[keep]
    levels = np.array([s2sphere.CellId(int(cell)).level() for cell in kept_ids], dtype=np.int64)
    mean_lat, mean_lon = _mean_coordinates(latitudes, longitudes, assignment, int(keep.sum()))
    return Partition(
        cell_ids=kept_ids,
        levels=levels,
        counts=counts[keep],
        mean_latitudes=mean_lat,
        mean_longitudes=mean_lon,
        assignment=assignment,
        t1=t1,
        t2=t2,
        max_level=max_level,
    )


def _mean_coordinates(
    latitudes: np.ndarray, longitudes: np.ndarray, assignment: np.ndarray, num_cells: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per-class spherical mean of the photos' coordinates (a 3-D mean, so it is right across 180°)."""
    xyz = _unit_vectors(latitudes, longitudes)  # (N, 3)
    kept = assignment >= 0
    sums = np.zeros((num_cells, 3))
    np.add.at(sums, assignment[kept], xyz[kept])
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    unit = sums / np.where(norms == 0, 1, norms)
    mean_lat = np.degrees(np.arcsin(np.clip(unit[:, 2], -1, 1)))
    mean_lon = np.degrees(np.arctan2(unit[:, 1], unit[:, 0]))
    return mean_lat, mean_lon


def _integer(row: Mapping[str, object], name: str) -> int:
    value = row[name]
    if not isinstance(value, (str, SupportsInt)):
        raise TypeError(f"cell column {name} holds {value!r}, not a number")
    return int(value)


def _real(row: Mapping[str, object], name: str) -> float:
    value = row[name]
    if not isinstance(value, (str, SupportsFloat)):
        raise TypeError(f"cell column {name} holds {value!r}, not a number")
    return float(value)


@dataclass(frozen=True)
class CellSet:
    """The classifier's classes: what a cells file holds. Index k is class k."""

    tokens: tuple[str, ...]
    levels: np.ndarray  # (C,)
    counts: np.ndarray  # (C,)
    center_latitudes: np.ndarray  # (C,)
    center_longitudes: np.ndarray  # (C,)
    mean_latitudes: np.ndarray  # (C,) where the photos of the cell are on average: the point guess
    mean_longitudes: np.ndarray  # (C,)

    def __len__(self) -> int:
        return len(self.tokens)

    @classmethod
    def from_partition(cls, partition: Partition) -> CellSet:
        centers = [s2sphere.CellId(int(cell)).to_lat_lng() for cell in partition.cell_ids]
        return cls(
            tokens=tuple(s2sphere.CellId(int(cell)).to_token() for cell in partition.cell_ids),
            levels=partition.levels.copy(),
            counts=partition.counts.copy(),
            center_latitudes=np.array([c.lat().degrees for c in centers]),
            center_longitudes=np.array([c.lng().degrees for c in centers]),
            mean_latitudes=partition.mean_latitudes.copy(),
            mean_longitudes=partition.mean_longitudes.copy(),
        )

    def rows(self) -> list[CellRow]:
        return [
            {
                "class_index": k,
                "token": self.tokens[k],
                "level": int(self.levels[k]),
                "photo_count": int(self.counts[k]),
                "center_latitude": float(self.center_latitudes[k]),
                "center_longitude": float(self.center_longitudes[k]),
                "mean_latitude": float(self.mean_latitudes[k]),
                "mean_longitude": float(self.mean_longitudes[k]),
            }
            for k in range(len(self))
        ]

    @classmethod
    def from_rows(cls, rows: Sequence[Mapping[str, object]]) -> CellSet:
        """Rows as `rows()` makes them, or as a cells CSV reads back (every value a string)."""
        ordered = sorted(rows, key=lambda row: _integer(row, "class_index"))
        if [_integer(row, "class_index") for row in ordered] != list(range(len(ordered))):
            raise ValueError("cells must be numbered 0..C-1 by class_index")

        def integers(name: str) -> np.ndarray:  # (C,) int64
            return np.array([_integer(row, name) for row in ordered])

        def reals(name: str) -> np.ndarray:  # (C,) float64
            return np.array([_real(row, name) for row in ordered])

        return cls(
            tokens=tuple(str(row["token"]) for row in ordered),
            levels=integers("level"),
            counts=integers("photo_count"),
            center_latitudes=reals("center_latitude"),
            center_longitudes=reals("center_longitude"),
            mean_latitudes=reals("mean_latitude"),
            mean_longitudes=reals("mean_longitude"),
        )

    def write_csv(self, path: str | Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=CELLS_COLUMNS)
            writer.writeheader()
            writer.writerows(self.rows())

    @classmethod
    def read_csv(cls, path: str | Path) -> CellSet:
        with Path(path).open(newline="") as handle:
            reader = csv.DictReader(handle)
            missing = set(CELLS_COLUMNS) - set(reader.fieldnames or [])
            if missing:
                raise ValueError(f"{path}: not a cells file, missing {sorted(missing)}")
            return cls.from_rows(list(reader))

    def fingerprint(self) -> str:
        """sha256 of the classes' definition; checkpoints record it so a mismatched cells file is caught."""
        digest = hashlib.sha256()
        for k in range(len(self)):
            digest.update(f"{self.tokens[k]}\t{self.mean_latitudes[k]:.7f}\t{self.mean_longitudes[k]:.7f}\n".encode())
        return digest.hexdigest()

    def assign(self, latitudes: np.ndarray, longitudes: np.ndarray) -> np.ndarray:
        """(N,) points -> (N,) class index of the cell containing each point, -1 where none does."""
        leaves = leaf_cell_ids(latitudes, longitudes)
        ids = np.array([s2sphere.CellId.from_token(token).id() for token in self.tokens], dtype=np.uint64)
        result = np.full(len(leaves), -1, dtype=np.int64)
        for level in np.unique(self.levels):
            at_level = np.flatnonzero(self.levels == level)
            order = np.argsort(ids[at_level])
            sorted_ids = ids[at_level][order]
            parents = parent_ids(leaves, int(level))
            position = np.clip(np.searchsorted(sorted_ids, parents), 0, len(sorted_ids) - 1)
            hit = sorted_ids[position] == parents
            result[hit] = at_level[order[position[hit]]]
        return result

    def polygon(self, index: int, *, points_per_edge: int = 1) -> list[tuple[float, float]]:
        """The cell's boundary as (lat, lon) vertices, edges densified for drawing coarse cells."""
        return token_polygon(self.tokens[index], points_per_edge=points_per_edge)


def token_cell_id(token: str) -> s2sphere.CellId:
    """An S2 cell token (hex, trailing zeros dropped) as its cell id; ValueError unless it names a valid cell."""
    text = token.strip().lower()
    if not 1 <= len(text) <= 16 or any(character not in "0123456789abcdef" for character in text):
        raise ValueError(f"{token!r} is not an S2 cell token")
    cell_id = s2sphere.CellId.from_token(text)
    if not cell_id.is_valid():
        raise ValueError(f"{token!r} is not an S2 cell token")
    return cell_id


def token_center(token: str) -> tuple[float, float]:
    """The (lat, lon) centre of the cell a token names."""
    center = token_cell_id(token).to_lat_lng()
    return center.lat().degrees, center.lng().degrees


def token_polygon(token: str, *, points_per_edge: int = 1) -> list[tuple[float, float]]:
    """The boundary of the cell a token names as (lat, lon) vertices, edges densified for drawing coarse cells."""
    cell = s2sphere.Cell(token_cell_id(token))
    corners = [cell.get_vertex(k) for k in range(4)]
    ring: list[tuple[float, float]] = []
    for k in range(4):
        start, end = corners[k], corners[(k + 1) % 4]
        for step in range(points_per_edge):
            t = step / points_per_edge
            # Interpolating on the chord and normalising follows the cell's great-circle edge.
            point = s2sphere.Point(*(start[a] * (1 - t) + end[a] * t for a in range(3))).normalize()
            latlng = s2sphere.LatLng.from_point(point)
            ring.append((latlng.lat().degrees, latlng.lng().degrees))
    return ring
