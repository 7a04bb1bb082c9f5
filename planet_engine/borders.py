"""The game map's country borders: Natural Earth admin-0 (the same polygons as `countries`) simplified into one
small GeoJSON file, so the browser draws the world with no tile server and no network.

Natural Earth's polygons are already cut at the antimeridian (Russia's and Fiji's far-east parts are separate
pieces), so Leaflet draws no line across the map; simplification keeps each ring's topology, and pieces that
vanish at the tolerance (specks of islands) are dropped.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal, TypedDict

import shapefile  # pyshp
import shapely
from shapely.geometry.base import BaseGeometry

from planet_engine.countries import country_records, natural_earth_file

DEFAULT_TOLERANCE_DEG = 0.05
# 0.01° is about 1 km: finer than a simplified border and than a click on a world map.
_DECIMALS = 2


class CountryProperties(TypedDict):
    country: str | None  # ISO 3166-1 alpha-2, None where no state has a code
    name: str
    continent: str | None


class CountryFeature(TypedDict):
    type: Literal["Feature"]
    properties: CountryProperties
    geometry: dict[str, object]  # a GeoJSON (Multi)Polygon: "type" and nested "coordinates"


class CountryCollection(TypedDict):
    type: Literal["FeatureCollection"]
    features: list[CountryFeature]


def _rounded(geometry: BaseGeometry) -> dict[str, object]:
    mapping = shapely.geometry.mapping(shapely.set_precision(geometry, 10.0**-_DECIMALS))
    # set_precision snaps to the grid; json would still write 0.30000000000000004, so round the text too.
    rounded: dict[str, object] = json.loads(json.dumps(mapping), parse_float=lambda text: round(float(text), _DECIMALS))
    return rounded


def countries_geojson(*, tolerance_deg: float = DEFAULT_TOLERANCE_DEG) -> CountryCollection:
    """A FeatureCollection of every country with properties `country` (ISO alpha-2 or null), `name` and
    `continent`, simplified to `tolerance_deg` degrees."""
    if not tolerance_deg > 0:
        raise ValueError(f"tolerance must be a positive number of degrees, got {tolerance_deg}")
    features: list[CountryFeature] = []
    with shapefile.Reader(str(natural_earth_file()), encoding="utf-8") as reader:
        records = country_records(reader)
        for record, row, shape in zip(records, reader.records(), reader.shapes(), strict=True):
            geometry = shapely.geometry.shape(shape.__geo_interface__)
            if not geometry.is_valid:
                geometry = shapely.make_valid(geometry)
            simple = shapely.simplify(geometry, tolerance_deg, preserve_topology=True)
            if simple.is_empty or simple.area < tolerance_deg**2:
                continue
            features.append(
                {
                    "type": "Feature",
                    "properties": {"country": record.country, "name": str(row["NAME"]), "continent": record.continent},
                    "geometry": _rounded(simple),
                }
            )
    return {"type": "FeatureCollection", "features": features}


def delta_encoded(points: list[list[float]]) -> list[list[int]]:
    """One line or ring as whole steps of 10^-_DECIMALS degrees, each the difference from the vertex before (the
    map's layers, here and in map_layers.py, all travel this way)."""
    scale = 10**_DECIMALS
    encoded, last_x, last_y = [], 0, 0
    for x, y in points:
        ix, iy = round(x * scale), round(y * scale)
        encoded.append([ix - last_x, iy - last_y])
        last_x, last_y = ix, iy
    return encoded


def quantised(collection: CountryCollection) -> dict[str, object]:
    """The collection with every ring as whole steps of 10^-_DECIMALS degrees, each vertex the difference from
    the one before (TopoJSON's delta encoding without its arcs): a third of the bytes, half the gzip size. The
    map's script (frontend/static/arena/worldmap.js) turns it back into GeoJSON."""
    ring = delta_encoded

    features = []
    for feature in collection["features"]:
        geometry = feature["geometry"]
        coordinates: Any = geometry["coordinates"]
        if geometry["type"] == "Polygon":
            coordinates = [ring(r) for r in coordinates]
        else:
            coordinates = [[ring(r) for r in polygon] for polygon in coordinates]
        features.append({**feature, "geometry": {"type": geometry["type"], "coordinates": coordinates}})
    return {
        "type": "FeatureCollection",
        "quantisation": {"scale": 1 / 10**_DECIMALS, "delta": True},
        "features": features,
    }


def dequantised(data: dict[str, Any]) -> CountryCollection:
    """quantised's inverse (as the browser decodes it), for checking the file."""
    step = float(data["quantisation"]["scale"])

    def ring(points: list[list[int]]) -> list[list[float]]:
        decoded, x, y = [], 0, 0
        for dx, dy in points:
            x, y = x + dx, y + dy
            decoded.append([round(x * step, _DECIMALS), round(y * step, _DECIMALS)])
        return decoded

    features: list[CountryFeature] = []
    for feature in data["features"]:
        geometry = feature["geometry"]
        if geometry["type"] == "Polygon":
            coordinates: Any = [ring(r) for r in geometry["coordinates"]]
        else:
            coordinates = [[ring(r) for r in polygon] for polygon in geometry["coordinates"]]
        features.append(
            {
                "type": "Feature",
                "properties": feature["properties"],
                "geometry": {"type": geometry["type"], "coordinates": coordinates},
            }
        )
    return {"type": "FeatureCollection", "features": features}


def write_countries_geojson(out: Path, *, tolerance_deg: float = DEFAULT_TOLERANCE_DEG) -> int:
    """Write the quantised file (compact JSON) atomically; returns the number of countries written."""
    collection = countries_geojson(tolerance_deg=tolerance_deg)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    partial.write_text(json.dumps(quantised(collection), separators=(",", ":")))
    partial.replace(out)
    return len(collection["features"])
