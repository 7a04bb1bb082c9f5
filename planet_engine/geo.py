"""Great-circle distances and the benchmark's metrics: the one module both the engine and the game score with.

Everything here is vectorised over NumPy arrays; the scalar helpers are thin wrappers so that the game's
per-round scoring and the engine's evaluation cannot drift apart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NotRequired, TypedDict, overload

import numpy as np
from haversine import Unit, haversine, haversine_vector

# PlaNet / Im2GPS radii: street, city, region, country, continent.
THRESHOLDS_KM: tuple[float, ...] = (1.0, 25.0, 200.0, 750.0, 2500.0)
THRESHOLD_NAMES: tuple[str, ...] = ("street", "city", "region", "country", "continent")
GEOSCORE_MAX = 5000.0
# The mean Earth radius the haversine package uses; geometry done without that package (the country index's
# search bounds, the game's simulated guesses) uses it too, so that every distance is on one sphere.
EARTH_RADIUS_KM = 6371.0088
MAX_LATITUDE = 90.0
MAX_LONGITUDE = 180.0
# GeoGuessr's world-map scale: points fall by 1/e every 1492.7 km.
GEOSCORE_SCALE_KM = 1492.7


def validate_coordinates(latitude: float, longitude: float) -> None:
    """Raise ValueError with a clear message when a point is not a finite WGS84 coordinate."""
    if not (math.isfinite(latitude) and math.isfinite(longitude)):
        raise ValueError(f"coordinates must be finite numbers, got ({latitude}, {longitude})")
    if not -MAX_LATITUDE <= latitude <= MAX_LATITUDE:
        raise ValueError(f"latitude {latitude} is outside [-90, 90]")
    if not -MAX_LONGITUDE <= longitude <= MAX_LONGITUDE:
        raise ValueError(f"longitude {longitude} is outside [-180, 180]")


def validate_coordinate_arrays(latitudes: np.ndarray, longitudes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`validate_coordinates` over (N,) arrays: return them as float64, or raise ValueError counting the bad
    values and naming the first."""
    lat = np.asarray(latitudes, dtype=np.float64)
    lon = np.asarray(longitudes, dtype=np.float64)
    if lat.ndim != 1 or lon.shape != lat.shape:
        raise ValueError(f"lats and lons must be 1-D arrays of one length, got shapes {lat.shape} and {lon.shape}")
    for name, values, limit in (("latitude", lat, MAX_LATITUDE), ("longitude", lon, MAX_LONGITUDE)):
        # NaN fails the comparison, so it is caught here along with infinities and out-of-range values.
        bad = np.flatnonzero(~(np.abs(values) <= limit))
        if bad.size:
            raise ValueError(
                f"{name} must be finite and within [-{limit:g}, {limit:g}]: {bad.size} invalid value(s), "
                f"first {values[bad[0]]} at index {bad[0]}"
            )
    return lat, lon


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in km between two points in degrees."""
    return float(haversine((lat1, lon1), (lat2, lon2), unit=Unit.KILOMETERS))


def distances_km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    """Element-wise haversine distances in km; inputs broadcast to one shape (N,)."""
    lat1, lon1, lat2, lon2 = (np.ravel(x) for x in np.broadcast_arrays(lat1, lon1, lat2, lon2))
    a = np.stack([lat1, lon1], axis=-1)
    b = np.stack([lat2, lon2], axis=-1)
    return np.asarray(haversine_vector(a, b, Unit.KILOMETERS), dtype=np.float64)


def pairwise_distances_km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    """All-pairs haversine distances: (N,) x (M,) -> (N, M) km."""
    a = np.stack([lat1, lon1], axis=-1).reshape(-1, 2)
    b = np.stack([lat2, lon2], axis=-1).reshape(-1, 2)
    return np.asarray(haversine_vector(a, b, Unit.KILOMETERS, comb=True), dtype=np.float64).T


@overload
def geoscore(km: float) -> float: ...


@overload
def geoscore(km: np.ndarray) -> np.ndarray: ...


def geoscore(km: np.ndarray | float) -> np.ndarray | float:
    """GeoGuessr points for an error of `km`: 5000 * exp(-km / 1492.7); a float for a scalar, else an array of
    km's shape."""
    points = GEOSCORE_MAX * np.exp(-np.asarray(km, dtype=np.float64) / GEOSCORE_SCALE_KM)
    return points if isinstance(km, np.ndarray) or np.ndim(points) > 0 else float(points)


class ErrorSummaryRecord(TypedDict):
    """`ErrorSummary` as JSON: a row of the evaluation report."""

    count: int
    accuracy: dict[str, float]  # threshold name -> fraction of errors within it
    median_km: float
    mean_km: float
    mean_geoscore: float
    # The share of guesses in the right country, which needs the country polygons: the evaluation adds it
    # when its manifest names the countries.
    country_accuracy: NotRequired[float]


@dataclass(frozen=True)
class ErrorSummary:
    """Metrics over a set of km errors, the table PlaNet and OSV-5M report."""

    count: int
    accuracy: dict[str, float]  # threshold name -> fraction of errors within it
    median_km: float
    mean_km: float
    mean_geoscore: float

    def as_dict(self) -> ErrorSummaryRecord:
        return {
            "count": self.count,
            "accuracy": dict(self.accuracy),
            "median_km": self.median_km,
            "mean_km": self.mean_km,
            "mean_geoscore": self.mean_geoscore,
        }


def within_thresholds(km: np.ndarray) -> np.ndarray:
    """(N,) km errors -> (N, 5) booleans: is each error within each of THRESHOLDS_KM."""
    return np.asarray(km, dtype=np.float64)[:, None] <= np.asarray(THRESHOLDS_KM)[None, :]


def summarize_errors(km: np.ndarray) -> ErrorSummary:
    """Accuracy at the five radii, median and mean error and mean GeoScore of (N,) km errors."""
    km = np.asarray(km, dtype=np.float64)
    if km.size == 0:
        raise ValueError("cannot summarise an empty set of errors")
    hits = within_thresholds(km).mean(axis=0)
    return ErrorSummary(
        count=int(km.size),
        accuracy={name: float(rate) for name, rate in zip(THRESHOLD_NAMES, hits, strict=True)},
        median_km=float(np.median(km)),
        mean_km=float(km.mean()),
        mean_geoscore=float(np.mean(geoscore(km))),
    )


def threshold_outcomes(human_km: float, model_km: float) -> dict[str, str]:
    """Who wins at each radius: 'human' or 'model' when only one is inside it, 'tie' when both are inside
    or both outside (PlaNet's human-vs-model comparison)."""
    outcomes = {}
    for name, radius in zip(THRESHOLD_NAMES, THRESHOLDS_KM, strict=True):
        human_in, model_in = human_km <= radius, model_km <= radius
        outcomes[name] = "tie" if human_in == model_in else ("human" if human_in else "model")
    return outcomes


def head_to_head(human_km: float, model_km: float) -> str:
    """The smaller error wins; equal errors tie."""
    return "tie" if human_km == model_km else ("human" if human_km < model_km else "model")


def geometric_median(latitudes: np.ndarray, longitudes: np.ndarray, *, iterations: int = 200) -> tuple[float, float]:
    """The point on the sphere minimising the summed great-circle distance to the (N,) points (Weiszfeld's
    iteration on unit vectors, started at their normalised mean): the one fixed guess that does best on a set
    of places, the "set prior" a player can make without looking."""
    lat, lon = validate_coordinate_arrays(latitudes, longitudes)
    if not lat.size:
        raise ValueError("the geometric median of no points is undefined")
    phi, lam = np.radians(lat), np.radians(lon)
    points = np.stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)], axis=1)  # (N, 3)
    centre = points.mean(axis=0)
    centre = centre / np.linalg.norm(centre) if np.linalg.norm(centre) > 1e-12 else points[0]
    for _ in range(iterations):
        angles = np.arccos(np.clip(points @ centre, -1.0, 1.0))  # (N,) radians
        weights = 1.0 / np.maximum(angles, 1e-9)
        moved = (weights[:, None] * points).sum(axis=0)
        if np.linalg.norm(moved) < 1e-12:
            break
        moved /= np.linalg.norm(moved)
        if np.linalg.norm(moved - centre) < 1e-10:
            centre = moved
            break
        centre = moved
    return (
        float(np.degrees(np.arcsin(np.clip(centre[2], -1.0, 1.0)))),
        float(np.degrees(np.arctan2(centre[1], centre[0]))),
    )
